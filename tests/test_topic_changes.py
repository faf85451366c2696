"""Creating topics and partitions: Kafka's per-request limits, the broker's
partition limit, and creations that never stall other clients."""

import threading

import pytest
import trio

from kgw.log import LogManager
from kgw.topic_changes import BATCH_PARTITIONS, TopicChanges
from protocol.error_codes import ErrorCode
from protocol.messages import (
    API_VERSIONS, CREATE_PARTITIONS, CREATE_TOPICS, FETCH, METADATA, PRODUCE,
)

from .server_harness import Client, running_server
from .test_server import fetch, fetched, metadata, produce, records

pytestmark = pytest.mark.trio

TOO_MANY_PARTITIONS = "Excessively large number of partitions per request."
TOO_MANY_RECORDS = "Unable to perform excessively large batch operation."
TOO_MANY_ADDED = "Excessively large number of additional partitions per request."


def create_many(topics, validate_only=False):
    """A CreateTopics of (name, partitions) or (name, partitions, configs)."""
    Topic = CREATE_TOPICS.Request.CreatableTopic
    return CREATE_TOPICS.Request(topics=[Topic(
        name=t[0], num_partitions=t[1], replication_factor=-1,
        configs=[Topic.CreatableTopicConfig(name=k, value=v) for k, v in (t[2] if len(t) > 2 else {}).items()])
        for t in topics], timeout_ms=30_000, validate_only=validate_only)


def grow(topics, validate_only=False):
    Topic = CREATE_PARTITIONS.Request.CreatePartitionsTopic
    return CREATE_PARTITIONS.Request(topics=[Topic(name=n, count=c, assignments=None) for n, c in topics],
                                     timeout_ms=30_000, validate_only=validate_only)


def answers(topics):
    return [(t.name, t.error_code, t.error_message) for t in topics]


def partition_dirs(server) -> list[str]:
    return sorted(p.name for p in server.broker.log.data_dir.iterdir() if "-" in p.name)


# --- Kafka's limits on one request ---------------------------------------------


async def test_a_request_for_more_than_10000_partitions_is_refused_whole(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        body = await client.call(CREATE_TOPICS, 7, create_many(
            [("bad name!", 1), ("a", 9_999), ("b", 1)]))
        assert answers(body.topics) == [(n, ErrorCode.POLICY_VIOLATION, TOO_MANY_PARTITIONS)
                                        for n in ("bad name!", "a", "b")]
        one = await client.call(CREATE_TOPICS, 7, create_many([("big", 10_001)]))
        assert answers(one.topics) == [("big", ErrorCode.POLICY_VIOLATION, TOO_MANY_PARTITIONS)]
        assert server.broker.log.topics() == [] and partition_dirs(server) == []


@pytest.mark.parametrize("validate_only", [False, True])
async def test_a_request_for_more_than_10000_metadata_records_is_refused_whole(tmp_path,
                                                                               validate_only):
    """One record per topic, partition and config, as Kafka's controller counts them."""
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        many = await client.call(CREATE_TOPICS, 7, create_many(
            [(f"t{i}", 1) for i in range(5_001)], validate_only))
        assert {(t.error_code, t.error_message) for t in many.topics} == {
            (ErrorCode.POLICY_VIOLATION, TOO_MANY_RECORDS)}
        assert len(many.topics) == 5_001
        configs = {"retention.ms": "1000", "segment.ms": "100000"}
        mixed = await client.call(CREATE_TOPICS, 7, create_many(
            [("bad name!", 1), ("c", 9_998, configs)], validate_only))
        assert answers(mixed.topics) == [(n, ErrorCode.POLICY_VIOLATION, TOO_MANY_RECORDS)
                                         for n in ("bad name!", "c")]
        assert server.broker.log.topics() == [] and partition_dirs(server) == []


async def test_the_largest_requests_kafka_takes_pass(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        for topics in ([(f"t{i}", 1) for i in range(5_000)], [("a", 9_999)]):
            body = await client.call(CREATE_TOPICS, 7, create_many(topics, validate_only=True))
            assert {t.error_code for t in body.topics} == {ErrorCode.NONE}


async def test_adding_more_than_10000_partitions_in_one_request_is_refused_whole(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create_many([("a", 1), ("b", 1)]))
        body = await client.call(CREATE_PARTITIONS, 3, grow([("a", 1), ("b", 10_002), ("zz", 5)]))
        assert answers(body.results) == [
            ("a", ErrorCode.POLICY_VIOLATION, TOO_MANY_ADDED),
            ("b", ErrorCode.POLICY_VIOLATION, TOO_MANY_ADDED),
            ("zz", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None)]
        assert partition_dirs(server) == ["a-0", "b-0"]


# --- the broker's partition limit ----------------------------------------------


async def test_creations_beyond_max_partitions_are_refused_topic_by_topic(tmp_path):
    async with running_server(tmp_path, max_partitions=5) as server:
        client = await Client.connect(server)
        body = await client.call(CREATE_TOPICS, 7, create_many([("a", 3), ("b", 3), ("c", 2)]))
        assert [(t.name, t.error_code) for t in body.topics] == [
            ("a", ErrorCode.NONE), ("b", ErrorCode.POLICY_VIOLATION), ("c", ErrorCode.NONE)]
        assert "above its limit of 5" in body.topics[1].error_message
        checked = await client.call(CREATE_TOPICS, 7, create_many([("d", 1)], validate_only=True))
        assert checked.topics[0].error_code == ErrorCode.POLICY_VIOLATION
        added = await client.call(CREATE_PARTITIONS, 3, grow([("a", 4)]))
        assert added.results[0].error_code == ErrorCode.POLICY_VIOLATION
        auto = await client.call(METADATA, 12, metadata(["auto"]))
        assert auto.topics[0].error_code == ErrorCode.POLICY_VIOLATION
        assert partition_dirs(server) == ["a-0", "a-1", "a-2", "c-0", "c-1"]
        assert len((await client.call(METADATA, 12, metadata(["a"]))).topics[0].partitions) == 3


# --- creations off the event loop ------------------------------------------------


async def waiting_for(server, tasks: int) -> None:
    """Until `tasks` requests wait for the topic changes' lock (a minute at
    most: never, if the lock were not held)."""
    with trio.fail_after(60):
        while server.broker.topics.lock.statistics().tasks_waiting < tasks:
            await trio.sleep(0.01)


class HeldCreations:
    """Holds the file work of creating the topics whose names start with
    `prefix` on its worker thread, one batch at a time, until let go."""

    def __init__(self, monkeypatch, prefix: str):
        self.prefix = prefix
        self.started = threading.Semaphore(0)
        self.permits = threading.Semaphore(0)
        self.batches = 0
        real = LogManager.build

        def held_build(manager, plans):
            if any(p.name.startswith(prefix) for p in plans):
                self.batches += 1
                self.started.release()
                assert self.permits.acquire(timeout=60), "the test never let the batch go"
            real(manager, plans)
        monkeypatch.setattr(LogManager, "build", held_build)

    async def wait_started(self) -> None:
        assert await trio.to_thread.run_sync(self.started.acquire, True, 60)

    def let_go(self, batches: int = 1) -> None:
        self.permits.release(batches)


async def test_other_clients_are_answered_while_a_large_create_topics_runs(tmp_path, monkeypatch):
    held = HeldCreations(monkeypatch, "bulk-")
    async with running_server(tmp_path) as server:
        admin, producer, other = [await Client.connect(server) for _ in range(3)]
        await producer.call(CREATE_TOPICS, 7, create_many([("busy", 1)]))
        count = 3 * BATCH_PARTITIONS
        await admin.send(CREATE_TOPICS, 7, create_many([(f"bulk-{i}", 1) for i in range(count)]))
        await held.wait_started()
        # The creation's first batch is held on its thread: the loop serves.
        assert (await other.call(API_VERSIONS, 0, API_VERSIONS.Request())).error_code == 0
        written = await producer.call(PRODUCE, 9, produce("busy", 0, records([b"v"])))
        assert written.responses[0].partition_responses[0].error_code == 0
        _, values = fetched(await producer.call(FETCH, 12, fetch("busy", 0, 0)))
        assert values == [b"v"]
        # A client auto-creating a topic waits for the batch, not the request.
        async with trio.open_nursery() as nursery:
            auto_created = []

            async def auto_create():
                body = await other.call(METADATA, 12, metadata(["auto"]))
                auto_created.append(body.topics[0].error_code)
            nursery.start_soon(auto_create)
            await waiting_for(server, 1)
            held.let_go()
            await held.wait_started()
        assert auto_created == [ErrorCode.NONE]
        assert server.broker.log.topic("auto") is not None
        assert len([t for t in server.broker.log.topics() if t.name.startswith("bulk-")]) == \
            BATCH_PARTITIONS
        held.let_go(2)
        response = await admin.receive()
        assert {t.error_code for t in response.body.topics} == {ErrorCode.NONE}
        assert held.batches == 3
        assert len(partition_dirs(server)) == count + 2


async def test_a_cancelled_creation_registers_what_its_thread_made(tmp_path, monkeypatch):
    held = HeldCreations(monkeypatch, "t")
    manager = LogManager(tmp_path / "data")
    manager.open()
    changes = TopicChanges(manager)
    wanted = [(f"t{i}", 1, {}) for i in range(2 * BATCH_PARTITIONS)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(changes.create_topics, wanted)
        await held.wait_started()
        nursery.cancel_scope.cancel()
        held.let_go(2)
    assert held.batches == 1 and len(manager.topics()) == BATCH_PARTITIONS
    on_disk = sorted(p.name for p in manager.data_dir.iterdir() if "-" in p.name)
    assert on_disk == sorted(f"t{i}-0" for i in range(BATCH_PARTITIONS))
    manager.close()
    again = LogManager(tmp_path / "data")
    again.open()
    assert len(again.topics()) == BATCH_PARTITIONS
    again.close()


async def test_concurrent_creations_of_one_name_make_one_topic(tmp_path, monkeypatch):
    held = HeldCreations(monkeypatch, "same")
    async with running_server(tmp_path) as server:
        first, second, third = [await Client.connect(server) for _ in range(3)]
        await first.send(CREATE_TOPICS, 7, create_many([("same", 2)]))
        await held.wait_started()
        await second.send(CREATE_TOPICS, 7, create_many([("same", 3)]))
        await third.send(METADATA, 12, metadata(["same"]))
        await waiting_for(server, 2)
        held.let_go()
        assert (await first.receive()).body.topics[0].error_code == ErrorCode.NONE
        assert (await second.receive()).body.topics[0].error_code == ErrorCode.TOPIC_ALREADY_EXISTS
        seen = (await third.receive()).body.topics[0]
        assert seen.error_code == ErrorCode.NONE and len(seen.partitions) == 2
        assert partition_dirs(server) == ["same-0", "same-1"]
