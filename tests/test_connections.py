"""The connection loop: a closed peer frees a parked request at once,
requests are read ahead and pipelined produces share fsyncs, idle
connections close, and what a client can make kgw hold is bounded."""

import socket
import struct
import threading

import pytest
import trio

from kgw.connections import SASL_MAX_RECEIVE_SIZE
from kgw.log.flushing import FlushJob
from protocol.connection import CLOSED
from protocol.messages import CREATE_TOPICS, FETCH, METADATA, PRODUCE

from .server_harness import Client, running_server
from .test_server import create, fetch, metadata, produce, records

pytestmark = pytest.mark.trio

FOREVER_MS = 2**31 - 1


async def until(predicate, what: str) -> None:
    """Liveness, not speed: fails only if it never happens."""
    with trio.fail_after(30):
        while not predicate():
            await trio.sleep(0.01)


async def test_a_peer_that_leaves_during_a_long_poll_is_let_go_at_once(tmp_path):
    async with running_server(tmp_path) as server:
        admin = await Client.connect(server)
        await admin.call(CREATE_TOPICS, 7, create("t"))
        for _ in range(50):
            client = await Client.connect(server)
            await client.send(FETCH, 12, fetch("t", 0, 0, max_wait_ms=FOREVER_MS))
            await until(lambda: any(c.busy for c in server._connections), "the fetch to park")
            await client.aclose()
        # Only the admin's connection is left: every long poll was cancelled.
        await until(lambda: len(server._connections) == 1, "the fetches' connections to close")
        assert server.request_memory.used == 0


async def test_pipelined_acks_all_produces_share_their_fsyncs(tmp_path, monkeypatch):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        partition = server.broker.log.partition("t", 0)
        first_round, appended = threading.Event(), threading.Event()
        run = FlushJob.run

        def held_first_round(job):
            # The first round waits until every produce is appended: what
            # came after it must then share one round, not take one each.
            if not first_round.is_set():
                first_round.set()
                appended.wait(10)
            run(job)
        monkeypatch.setattr(FlushJob, "run", held_first_round)
        rounds = server.broker.flusher.rounds
        sent = [await client.send(PRODUCE, 9, produce("t", 0, records([b"%d" % i])))
                for i in range(5)]
        await until(lambda: partition.log_end_offset == 5, "the five appends")
        appended.set()
        answers = [await client.receive() for _ in sent]
        assert [a.correlation_id for a in answers] == sent
        assert [a.body.responses[0].partition_responses[0].base_offset for a in answers] == [0, 1, 2, 3, 4]
        assert server.broker.flusher.rounds - rounds == 2


async def test_a_connection_idle_past_the_limit_is_closed(tmp_path):
    async with running_server(tmp_path, connections_max_idle_ms=200) as server:
        idle, busy = await Client.connect(server), await Client.connect(server)
        await busy.call(CREATE_TOPICS, 7, create("t"))
        # A long poll is not idleness: its connection stays.
        await busy.send(FETCH, 12, fetch("t", 0, 0, max_wait_ms=1500))
        assert await idle.receive() is CLOSED
        answer = await busy.receive()
        assert answer is not CLOSED and answer.body.responses[0].partitions[0].error_code == 0


def _partial_frame(sock_address, announced: int, sent: int) -> socket.socket:
    """A connection that announces a frame of `announced` bytes and sends `sent` of them."""
    sock = socket.create_connection(sock_address)
    sock.setblocking(False)
    data = struct.pack(">i", announced) + b"\0" * sent
    try:
        sock.sendall(data)
    except BlockingIOError:
        pass  # the broker stopped reading: what it holds is bounded
    return sock


async def test_request_memory_is_bounded_across_connections(tmp_path):
    limit = 4 * 1024 * 1024
    async with running_server(tmp_path, queued_max_request_bytes=limit,
                              max_request_size=3 * 1024 * 1024) as server:
        socks = [_partial_frame(server.address, 3 * 1024 * 1024, 1024 * 1024) for _ in range(4)]
        await until(lambda: server.request_memory.used > 0, "a frame to be reserved")
        await trio.sleep(0.3)
        # One 3 MiB frame fits in the 4 MiB budget; the others wait unread.
        assert server.request_memory.used == 3 * 1024 * 1024
        for sock in socks:
            sock.close()
        await until(lambda: server.request_memory.used == 0 and not server._connections,
                    "the reservations to be released")
        # The broker still answers.
        client = await Client.connect(server)
        assert (await client.call(METADATA, 12, metadata(None))).brokers


async def test_a_frame_larger_than_sasl_allows_before_authentication_closes(tmp_path):
    async with running_server(tmp_path, sasl_users={"alice": "s3cret"}) as server:
        sock = _partial_frame(server.address, SASL_MAX_RECEIVE_SIZE + 1, 16)
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        with trio.fail_after(30):
            assert await stream.receive_some(10) == b""
        assert server.request_memory.used == 0
