"""Produce walks a large batch's records in a worker thread: the event loop
keeps serving other clients meanwhile, and a connection's produces are
still appended in the order it sent them."""

import logging
import threading

import pytest
import trio

import kgw.log.partition
from protocol.compression import Codec
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_TOPICS, METADATA, PRODUCE
from protocol.records import Record, build_batch

from .server_harness import Client, running_server
from .test_record_walk import record
from .test_records import raw_batch
from .test_server import create, metadata, produce

pytestmark = pytest.mark.trio


def large_batch(count=3000) -> bytes:
    # Inflates to ~3 MiB: past the inline budget, so walked in a thread.
    return build_batch([Record(i, 1_000 + i, None, b"v" * 1000) for i in range(count)],
                       codec=Codec.GZIP)


def partition_result(body):
    part = body.responses[0].partition_responses[0]
    return part.error_code, part.base_offset


async def test_the_loop_serves_others_while_a_large_batch_is_walked(tmp_path, monkeypatch):
    inside, release = threading.Event(), threading.Event()
    run = kgw.log.partition.CheckedRecords.run

    def held_run(self, budget):
        if budget is None:  # the worker thread's part
            inside.set()
            release.wait(30)
        return run(self, budget)
    monkeypatch.setattr(kgw.log.partition.CheckedRecords, "run", held_run)
    async with running_server(tmp_path) as server:
        client, other = await Client.connect(server), await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        answers = []

        async def send_large():
            answers.append(await client.call(PRODUCE, 9, produce("t", 0, large_batch())))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_large)
            assert await trio.to_thread.run_sync(inside.wait, 30)
            # The walk is held in its thread; others are answered meanwhile,
            # and small produces to the same partition go ahead of it.
            with trio.fail_after(30):
                assert (await other.call(METADATA, 12, metadata(["t"]))).topics[0].error_code == 0
                small = await other.call(PRODUCE, 9, produce("t", 0, build_batch([Record(0, 5, None, b"s")])))
            assert partition_result(small) == (0, 0)
            assert answers == []
            release.set()
        assert partition_result(answers[0]) == (0, 1)
        assert server.broker.log.partition("t", 0).log_end_offset == 3001


async def test_a_connections_produces_are_appended_in_its_order(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        # Pipelined: the large batch's walk goes to a thread, the small one
        # behind it would be quicker, and must still come after.
        first = await client.send(PRODUCE, 9, produce("t", 0, large_batch()))
        bad = await client.send(PRODUCE, 9, produce("t", 0, raw_batch(record(), 2)))
        second = await client.send(PRODUCE, 9, produce("t", 0, build_batch([Record(0, 5, None, b"s")])))
        answers = {}
        with trio.fail_after(60):
            for _ in range(3):
                response = await client.receive()
                answers[response.correlation_id] = partition_result(response.body)
        assert answers[first] == (0, 0)
        assert answers[bad] == (ErrorCode.INVALID_RECORD, -1)
        assert answers[second] == (0, 3000)


async def test_a_malformed_batch_is_answered_invalid_record_and_its_reason_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO, "kgw.produce")
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        body = await client.call(PRODUCE, 9, produce("t", 0, raw_batch(record(), 2**31 - 1)))
        part = body.responses[0].partition_responses[0]
        # As Kafka answers it: no message, the log start offset.
        assert (part.error_code, part.base_offset, part.record_errors, part.error_message,
                part.log_start_offset) == (ErrorCode.INVALID_RECORD, -1, [], None, 0)
        assert "the records end inside record 1 of the 2147483647" in caplog.text
        assert server.broker.log.partition("t", 0).log_end_offset == 0
