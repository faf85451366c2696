"""ListOffsets by time decodes records: off the event loop, and bounded."""

import threading

import pytest
import trio

import kgw.handlers.list_offsets
from kgw.log import AppendOrigin
from kgw.log.timestamps import LOOKUP_MAX_INFLATED
from protocol.compression import Codec
from protocol.messages import CREATE_TOPICS, LIST_OFFSETS, METADATA
from protocol.records import Record, build_batch

from .server_harness import Client, running_server
from .test_server import create, list_offsets, metadata, records

pytestmark = pytest.mark.trio


def offset_and_timestamp(body):
    part = body.topics[0].partitions[0]
    return part.error_code, part.offset, part.timestamp


async def test_a_lookup_by_time_does_not_stall_other_clients(tmp_path, monkeypatch):
    async with running_server(tmp_path) as server:
        client, other = await Client.connect(server), await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        server.broker.log.partition("t", 0).append(records([b"a", b"b"], base_timestamp=5_000))
        inside, release = threading.Event(), threading.Event()
        resolve = kgw.handlers.list_offsets.resolve

        def slow_resolve(probe):
            inside.set()
            release.wait(10)
            return resolve(probe)
        monkeypatch.setattr(kgw.handlers.list_offsets, "resolve", slow_resolve)
        answers = []

        async def look_up():
            answers.append(await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, 5_001)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(look_up)
            await trio.to_thread.run_sync(inside.wait, 10)
            # The lookup is inside its batch; the event loop answers others meanwhile.
            with trio.fail_after(30):
                assert (await other.call(METADATA, 12, metadata(["t"]))).topics[0].error_code == 0
            release.set()
        assert offset_and_timestamp(answers[0]) == (0, 1, 5_001)


async def test_a_batch_that_inflates_past_the_bound_is_answered_from_its_header(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        bomb = build_batch([Record(0, 7_000, None, bytes(LOOKUP_MAX_INFLATED + 1)),
                            Record(1, 7_001, None, b"x")], codec=Codec.GZIP)
        assert len(bomb) < LOOKUP_MAX_INFLATED // 100
        server.broker.log.partition("t", 0).append(bomb, AppendOrigin.REPLICATION)
        # Kafka would name record 1; kgw names the batch's first offset and
        # its max timestamp rather than inflate it.
        body = await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, 7_001))
        assert offset_and_timestamp(body) == (0, 0, 7_001)
        body = await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, -3))
        assert offset_and_timestamp(body) == (0, 1, 7_001)
