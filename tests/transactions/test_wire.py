"""A transaction end to end through the server, request by request, as a
transactional producer and a read_committed consumer send them."""

import time

import pytest

from protocol.error_codes import ErrorCode
from protocol.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, CREATE_TOPICS, DESCRIBE_PRODUCERS,
    DESCRIBE_TRANSACTIONS, END_TXN, FETCH, INIT_PRODUCER_ID, LIST_OFFSETS, LIST_TRANSACTIONS,
    OFFSET_FETCH, PRODUCE, TXN_OFFSET_COMMIT, WRITE_TXN_MARKERS,
)
from protocol.records import ControlType, Record, build_batch, iter_batches

from ..server_harness import Client, running_server
from ..test_server import create, fetch, list_offsets

pytestmark = pytest.mark.trio

NONE = ErrorCode.NONE
READ_COMMITTED = 1
LATEST = -1


class Producer:
    """What a transactional producer keeps: its id, epoch and sequences."""

    def __init__(self, client: Client, transactional_id: str = "app"):
        self.client = client
        self.transactional_id = transactional_id
        self.producer_id = self.epoch = -1
        self.sequences = {}

    async def init(self, version=4, timeout_ms=60_000):
        response = await self.client.call(INIT_PRODUCER_ID, version, INIT_PRODUCER_ID.Request(
            transactional_id=self.transactional_id, transaction_timeout_ms=timeout_ms))
        if response.error_code == NONE:
            self.producer_id, self.epoch = response.producer_id, response.producer_epoch
            self.sequences = {}
        return response.error_code

    async def add_partitions(self, *partitions, version=3):
        Topic = ADD_PARTITIONS_TO_TXN.Request.AddPartitionsToTxnTopic
        topics = {}
        for topic, partition in partitions:
            topics.setdefault(topic, []).append(partition)
        response = await self.client.call(ADD_PARTITIONS_TO_TXN, version, ADD_PARTITIONS_TO_TXN.Request(
            v3_and_below_transactional_id=self.transactional_id,
            v3_and_below_producer_id=self.producer_id, v3_and_below_producer_epoch=self.epoch,
            v3_and_below_topics=[Topic(name=t, partitions=p) for t, p in topics.items()]))
        return {(t.name, p.partition_index): p.partition_error_code
                for t in response.results_by_topic_v3_and_below for p in t.results_by_partition}

    async def produce(self, topic, partition, *values, transactional_id="own", transactional=True):
        sequence = self.sequences.get((topic, partition), 0)
        # Stamped now: an old timestamp would roll the segment at the marker
        # (segment.ms), and a Fetch stops at the end of a segment.
        now = int(time.time() * 1000)
        data = build_batch([Record(offset=i, timestamp=now, key=None, value=v)
                            for i, v in enumerate(values)], producer_id=self.producer_id,
                           producer_epoch=self.epoch, base_sequence=sequence,
                           is_transactional=transactional)
        Topic = PRODUCE.Request.TopicProduceData
        response = await self.client.call(PRODUCE, 9, PRODUCE.Request(
            transactional_id=self.transactional_id if transactional_id == "own" else transactional_id,
            acks=-1, timeout_ms=1000, topic_data=[Topic(name=topic, partition_data=[
                Topic.PartitionProduceData(index=partition, records=data)])]))
        result = response.responses[0].partition_responses[0]
        if result.error_code == NONE:
            self.sequences[topic, partition] = sequence + len(values)
        return result.error_code, result.base_offset

    async def add_offsets(self, group_id):
        response = await self.client.call(ADD_OFFSETS_TO_TXN, 3, ADD_OFFSETS_TO_TXN.Request(
            transactional_id=self.transactional_id, producer_id=self.producer_id,
            producer_epoch=self.epoch, group_id=group_id))
        return response.error_code

    async def commit_offsets(self, group_id, offsets):
        Topic = TXN_OFFSET_COMMIT.Request.TxnOffsetCommitRequestTopic
        response = await self.client.call(TXN_OFFSET_COMMIT, 3, TXN_OFFSET_COMMIT.Request(
            transactional_id=self.transactional_id, group_id=group_id, producer_id=self.producer_id,
            producer_epoch=self.epoch, topics=[Topic(name=topic, partitions=[
                Topic.TxnOffsetCommitRequestPartition(partition_index=partition, committed_offset=offset,
                                                      committed_metadata="")])
                for (topic, partition), offset in offsets.items()]))
        return {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions}

    async def end(self, commit, version=3, epoch=None):
        response = await self.client.call(END_TXN, version, END_TXN.Request(
            transactional_id=self.transactional_id, producer_id=self.producer_id,
            producer_epoch=self.epoch if epoch is None else epoch, committed=commit))
        return response.error_code


async def read_committed(client, topic, partition, offset):
    """(values, control types, LSO, HWM, aborted (pid, first offset)) of one
    read_committed Fetch."""
    response = await client.call(FETCH, 12, fetch(topic, partition, offset, isolation=READ_COMMITTED))
    part = response.responses[0].partitions[0]
    assert part.error_code == NONE
    data = bytes(part.records.read_bytes()) if hasattr(part.records, "read_bytes") else bytes(part.records or b"")
    values, controls = [], []
    for batch in iter_batches(data):
        if batch.is_control:
            controls.append(batch.control_record().type)
        else:
            values.extend(r.value for r in batch.records())
    aborted = [(a.producer_id, a.first_offset) for a in part.aborted_transactions]
    return values, controls, part.last_stable_offset, part.high_watermark, aborted


async def committed_offset(client, group_id, topic, partition):
    Topic = OFFSET_FETCH.Request.OffsetFetchRequestTopic
    response = await client.call(OFFSET_FETCH, 7, OFFSET_FETCH.Request(
        group_id=group_id, require_stable=True, topics=[Topic(name=topic, partition_indexes=[partition])]))
    part = response.topics[0].partitions[0]
    return part.committed_offset, part.error_code


async def latest(client, topic, partition, isolation):
    body = list_offsets(topic, partition, LATEST)
    body.isolation_level = isolation
    response = await client.call(LIST_OFFSETS, 5, body)
    return response.topics[0].partitions[0].offset


async def test_commit_then_abort(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 4, create("t", 2))
        producer = Producer(client)
        assert await producer.init() == NONE
        assert (producer.producer_id, producer.epoch) == (0, 0)

        assert await producer.add_partitions(("t", 0), ("t", 9)) == {
            ("t", 0): ErrorCode.OPERATION_NOT_ATTEMPTED, ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert await producer.produce("t", 0, b"a") == (ErrorCode.INVALID_TXN_STATE, -1)
        assert await producer.add_partitions(("t", 0)) == {("t", 0): NONE}
        assert await producer.produce("t", 0, b"a", b"b") == (NONE, 0)
        assert await producer.produce("t", 1, b"x") == (ErrorCode.INVALID_TXN_STATE, -1)
        assert (await producer.produce("t", 0, b"c", transactional_id=None))[0] == \
            ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        # The rest of an open transaction must be transactional.
        assert (await producer.produce("t", 0, b"c", transactional=False))[0] == ErrorCode.INVALID_TXN_STATE

        # Open: read_committed sees nothing and the LSO stays at the first
        # open offset; read_uncommitted's latest offset is the end.
        assert await read_committed(client, "t", 0, 0) == ([], [], 0, 2, [])
        assert await latest(client, "t", 0, READ_COMMITTED) == 0
        assert await latest(client, "t", 0, 0) == 2

        assert await producer.add_offsets("readers") == NONE
        assert await producer.commit_offsets("readers", {("t", 0): 2}) == {("t", 0): NONE}
        assert await committed_offset(client, "readers", "t", 0) == (-1, ErrorCode.UNSTABLE_OFFSET_COMMIT)

        assert await producer.end(commit=True) == NONE
        assert await read_committed(client, "t", 0, 0) == ([b"a", b"b"], [ControlType.COMMIT], 3, 3, [])
        assert await committed_offset(client, "readers", "t", 0) == (2, NONE)
        assert await latest(client, "t", 0, READ_COMMITTED) == 3

        # An aborted transaction: its records are there, with the range a
        # read_committed consumer must drop.
        assert await producer.add_partitions(("t", 0)) == {("t", 0): NONE}
        assert await producer.produce("t", 0, b"dropped") == (NONE, 3)
        assert await producer.add_offsets("readers") == NONE
        assert await producer.commit_offsets("readers", {("t", 0): 99}) == {("t", 0): NONE}
        assert await producer.end(commit=False) == NONE
        assert await read_committed(client, "t", 0, 3) == (
            [b"dropped"], [ControlType.ABORT], 5, 5, [(producer.producer_id, 3)])
        assert await committed_offset(client, "readers", "t", 0) == (2, NONE)
        await client.aclose()


async def test_a_new_incarnation_fences_the_old_one(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 4, create("t", 1))
        old, new = Producer(client), Producer(client)
        await old.init()
        await old.add_partitions(("t", 0))
        assert await old.produce("t", 0, b"zombie") == (NONE, 0)
        assert await new.init() == NONE
        assert (new.producer_id, new.epoch) == (old.producer_id, 2)
        # The open transaction was aborted; the old producer is fenced, told
        # so in the words its request version knows.
        assert await read_committed(client, "t", 0, 0) == (
            [b"zombie"], [ControlType.ABORT], 2, 2, [(old.producer_id, 0)])
        assert await old.end(commit=True, version=3) == ErrorCode.PRODUCER_FENCED
        assert await old.end(commit=True, version=1) == ErrorCode.INVALID_PRODUCER_EPOCH
        assert (await old.produce("t", 0, b"late"))[0] == ErrorCode.INVALID_PRODUCER_EPOCH
        assert await old.init(version=2, timeout_ms=900_001) == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        await client.aclose()


async def test_transactions_survive_a_restart(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 4, create("t", 1))
        producer = Producer(client)
        await producer.init()
        for values, commit in (([b"kept"], True), ([b"dropped"], False), ([b"open"], None)):
            await producer.add_partitions(("t", 0))
            await producer.produce("t", 0, *values)
            if commit is not None:
                assert await producer.end(commit) == NONE
        await client.aclose()
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        assert await read_committed(client, "t", 0, 0) == (
            [b"kept", b"dropped"], [ControlType.COMMIT, ControlType.ABORT], 4, 5,
            [(producer.producer_id, 2)])
        # The transaction left open is still the producer's to end.
        producer.client = client
        assert await producer.end(commit=True) == NONE
        assert (await read_committed(client, "t", 0, 4))[:4] == ([b"open"], [ControlType.COMMIT], 6, 6)
        await client.aclose()


async def test_the_admin_apis_show_transactions_and_producers(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 4, create("t", 2))
        done, open_, idle = Producer(client, "done"), Producer(client, "open"), Producer(client, "idle")
        await done.init()
        await open_.init(timeout_ms=30_000)
        await idle.init()
        await done.add_partitions(("t", 1))
        await done.produce("t", 1, b"x", b"y")
        assert await done.end(commit=True) == NONE
        await open_.add_partitions(("t", 0), ("t", 1))
        assert await open_.produce("t", 1, b"z") == (NONE, 3)

        async def listed(states=(), producer_ids=(), duration=-1, pattern=None, version=2):
            response = await client.call(LIST_TRANSACTIONS, version, LIST_TRANSACTIONS.Request(
                state_filters=list(states), producer_id_filters=list(producer_ids),
                duration_filter=duration, transactional_id_pattern=pattern))
            return (response.error_code, response.unknown_state_filters,
                    sorted((s.transactional_id, s.producer_id, s.transaction_state)
                           for s in response.transaction_states))

        everything = (NONE, [], [("done", 0, "CompleteCommit"), ("idle", 2, "Empty"),
                                 ("open", 1, "Ongoing")])
        assert await listed() == everything
        assert await listed(version=0) == everything
        assert await listed(states=["Ongoing", "Nonsense", "Dead"]) == (
            NONE, ["Nonsense"], [("open", 1, "Ongoing")])
        assert await listed(producer_ids=[0, 7]) == (NONE, [], [("done", 0, "CompleteCommit")])
        # Started more than an hour ago: only the one that never began a
        # transaction (its start time is -1, as in Kafka); a finished one
        # keeps its start time.
        assert await listed(duration=3_600_000) == (NONE, [], [("idle", 2, "Empty")])
        assert await listed(pattern="op.*") == (NONE, [], [("open", 1, "Ongoing")])
        assert await listed(pattern="op") == (NONE, [], [])
        assert (await listed(pattern="("))[0] == ErrorCode.INVALID_REGULAR_EXPRESSION

        described = await client.call(DESCRIBE_TRANSACTIONS, 0, DESCRIBE_TRANSACTIONS.Request(
            transactional_ids=["open", "done", "missing", ""]))
        by_id = {s.transactional_id: s for s in described.transaction_states}
        assert (by_id["open"].error_code, by_id["open"].transaction_state,
                by_id["open"].transaction_timeout_ms, by_id["open"].producer_id,
                [(t.topic, t.partitions) for t in by_id["open"].topics]) == (
            NONE, "Ongoing", 30_000, 1, [("t", [0, 1])])
        assert by_id["open"].transaction_start_time_ms > 0
        # Kafka keeps the start of the transaction that ended.
        assert (by_id["done"].transaction_state, by_id["done"].topics) == ("CompleteCommit", [])
        assert 0 < by_id["done"].transaction_start_time_ms <= by_id["open"].transaction_start_time_ms
        assert by_id["missing"].error_code == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
        # An empty id is refused outright, as by Kafka's coordinator.
        assert (by_id[""].error_code, by_id[""].producer_id) == (ErrorCode.INVALID_REQUEST, 0)
        # Kafka leaves the defaults of its message in an error's entry: 0
        # for the producer id and epoch and the start time.
        for refused in (by_id["missing"], by_id[""]):
            assert (refused.producer_id, refused.producer_epoch, refused.transaction_start_time_ms) == (0, 0, 0)

        Topic = DESCRIBE_PRODUCERS.Request.TopicRequest
        response = await client.call(DESCRIBE_PRODUCERS, 0, DESCRIBE_PRODUCERS.Request(
            topics=[Topic(name="t", partition_indexes=[0, 1, 5]), Topic(name="missing", partition_indexes=[0]),
                    Topic(name="bad name", partition_indexes=[0])]))
        parts = {p.partition_index: p for p in response.topics[0].partitions}
        # A topic Kafka does not know is refused with a message, unlike a
        # partition it does not lead.
        assert [(p.error_code, bool(p.error_message)) for t in response.topics[1:] for p in t.partitions] == [
            (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, True), (ErrorCode.INVALID_TOPIC_EXCEPTION, True)]
        assert [(p.error_code, p.error_message, p.active_producers) for p in (parts[0], parts[5])] == [
            (NONE, None, []), (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None, [])]
        assert [(s.producer_id, s.producer_epoch, s.last_sequence, s.coordinator_epoch,
                 s.current_txn_start_offset) for s in parts[1].active_producers] == [
            (0, 0, 1, 0, -1), (1, 0, 0, -1, 3)]
        assert all(s.last_timestamp > 0 for s in parts[1].active_producers)
        await client.aclose()


async def test_write_txn_markers_aborts_what_an_admin_names(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 4, create("t", 2))
        producer = Producer(client)
        await producer.init()
        await producer.add_partitions(("t", 0), ("t", 1))
        await producer.produce("t", 0, b"hanging")
        await producer.produce("t", 1, b"also")
        Marker = WRITE_TXN_MARKERS.Request.WritableTxnMarker

        async def abort(epoch, coordinator_epoch, partitions, version=1):
            response = await client.call(WRITE_TXN_MARKERS, version, WRITE_TXN_MARKERS.Request(
                markers=[Marker(producer_id=producer.producer_id, producer_epoch=epoch,
                                transaction_result=False, coordinator_epoch=coordinator_epoch,
                                topics=[Marker.WritableTxnMarkerTopic(name="t",
                                                                      partition_indexes=partitions)])]))
            return {p.partition_index: p.error_code for p in response.markers[0].topics[0].partitions}

        assert await abort(0, -1, [0, 7]) == {0: NONE, 7: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert await read_committed(client, "t", 0, 0) == (
            [b"hanging"], [ControlType.ABORT], 2, 2, [(producer.producer_id, 0)])
        # The coordinator's own markers (epoch 0) fence an admin's -1 after
        # them, and a marker may not go back to an older producer epoch.
        assert await producer.end(commit=False) == NONE
        assert await abort(0, -1, [1], version=2) == {1: ErrorCode.TRANSACTION_COORDINATOR_FENCED}
        assert await producer.init() == NONE
        await producer.add_partitions(("t", 1))
        assert await producer.produce("t", 1, b"epoch 1") == (NONE, 2)
        assert await abort(0, 0, [1]) == {1: ErrorCode.INVALID_PRODUCER_EPOCH}
        await client.aclose()
