"""The server and its handlers, in process, through protocol/'s client."""

import socket
import time
import uuid

import pytest
import trio

from kgw.handlers import HANDLERS
from kgw.log import AppendOrigin
from protocol.connection import CLOSED
from protocol.error_codes import ErrorCode
from protocol.messages import (
    ALTER_CONFIGS, API_VERSIONS, CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS,
    DESCRIBE_CLUSTER, DESCRIBE_CONFIGS, FETCH, INCREMENTAL_ALTER_CONFIGS, INIT_PRODUCER_ID,
    LIST_OFFSETS, METADATA, PRODUCE,
)
from protocol.records import Record, iter_batches, build_batch


from .server_harness import Client, running_server

pytestmark = pytest.mark.trio


# Kafka refuses ApiVersions v3+ without a client software name and version (KIP-511).
NAMED_API_VERSIONS = API_VERSIONS.Request(client_software_name="kgw-tests", client_software_version="1")


def records(values, base_timestamp=1_000, **kwargs) -> bytes:
    return build_batch([Record(offset=i, timestamp=base_timestamp + i, key=b"k%d" % i, value=v)
                        for i, v in enumerate(values)], **kwargs)


def create(name, partitions=1, configs=None):
    Topic = CREATE_TOPICS.Request.CreatableTopic
    return CREATE_TOPICS.Request(topics=[Topic(
        name=name, num_partitions=partitions, replication_factor=1,
        configs=[Topic.CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()])],
        timeout_ms=1000)


def produce(topic, partition, data, acks=-1):
    Topic = PRODUCE.Request.TopicProduceData
    return PRODUCE.Request(transactional_id=None, acks=acks, timeout_ms=1000, topic_data=[
        Topic(name=topic, partition_data=[Topic.PartitionProduceData(index=partition, records=data)])])


def fetch(topic, partition, offset, max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, isolation=0,
          topic_id=None):
    """A Fetch of one partition; v13+ name the topic by `topic_id`."""
    Topic = FETCH.Request.FetchTopic
    return FETCH.Request(replica_id=-1, max_wait_ms=max_wait_ms, min_bytes=min_bytes,
                         max_bytes=max_bytes, isolation_level=isolation, topics=[Topic(
                             topic=topic, topic_id=topic_id, partitions=[Topic.FetchPartition(
                                 partition=partition, fetch_offset=offset, partition_max_bytes=max_bytes)])])


def metadata(topics, allow_create=True):
    Topic = METADATA.Request.MetadataRequestTopic
    return METADATA.Request(topics=None if topics is None else [Topic(name=t) for t in topics],
                            allow_auto_topic_creation=allow_create)


def list_offsets(topic, partition, timestamp, isolation=0):
    Topic = LIST_OFFSETS.Request.ListOffsetsTopic
    return LIST_OFFSETS.Request(replica_id=-1, isolation_level=isolation, topics=[Topic(
        name=topic, partitions=[
        Topic.ListOffsetsPartition(partition_index=partition, timestamp=timestamp)])])


def fetched(response):
    part = response.responses[0].partitions[0]
    data = bytes(part.records.read_bytes()) if hasattr(part.records, "read_bytes") else bytes(part.records or b"")
    return part, [r.value for b in iter_batches(data, allow_partial_tail=True) for r in b.records()]


async def test_api_versions_lists_exactly_the_registered_handlers(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        for version in (0, 3, 4):
            body = await client.call(API_VERSIONS, version, NAMED_API_VERSIONS)
            assert body.error_code == ErrorCode.NONE
            assert {k.api_key: (k.min_version, k.max_version) for k in body.api_keys} == {
                key: (h.min_version, h.max_version) for key, h in HANDLERS.items()}
        advertised = {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}
        assert advertised[PRODUCE.key] == (0, 10)
        assert advertised[FETCH.key] == (4, 16)
        assert 71 not in advertised and 69 not in advertised


@pytest.mark.parametrize("name, version", [("", ""), ("bad name", "1.0"), ("kgw", "1.0-"), ("-kgw", "1")])
async def test_api_versions_v3_refuses_an_invalid_software_name_or_version(tmp_path, name, version):
    # Kafka's ApiVersionsRequest.isValid (KIP-511): INVALID_REQUEST, no APIs listed.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        body = await client.call(API_VERSIONS, 3, API_VERSIONS.Request(
            client_software_name=name, client_software_version=version))
        assert (body.error_code, body.api_keys) == (ErrorCode.INVALID_REQUEST, [])
        body = await client.call(API_VERSIONS, 4, API_VERSIONS.Request(
            client_software_name="apache-kafka-java", client_software_version="4.4.0"))
        assert body.error_code == ErrorCode.NONE and body.api_keys


async def test_produce_then_fetch_round_trip_with_offsets(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        created = (await client.call(CREATE_TOPICS, 7, create("t"))).topics[0]
        assert created.error_code == 0
        for version in (3, 7, 9, 10):
            result = (await client.call(PRODUCE, version, produce("t", 0, records([b"a", b"b"]))))
            assert result.responses[0].partition_responses[0].error_code == 0
        result = await client.call(PRODUCE, 9, produce("t", 0, records([b"c"])))
        assert result.responses[0].partition_responses[0].base_offset == 8
        for version in (4, 11, 12, 13, 16):
            part, values = fetched(await client.call(FETCH, version, fetch("t", 0, 0, topic_id=created.topic_id)))
            assert part.error_code == 0 and part.high_watermark == 9 and part.last_stable_offset == 9
            assert values == [b"a", b"b"] * 4 + [b"c"]
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 3)))
        # Whole batches: the one containing offset 3 starts at 2.
        assert values[:2] == [b"a", b"b"]


async def test_fetch_long_poll_is_woken_by_a_produce(tmp_path):
    async with running_server(tmp_path) as server:
        producer, consumer = await Client.connect(server), await Client.connect(server)
        await producer.call(CREATE_TOPICS, 7, create("t"))
        got = []

        async def consume():
            got.append(fetched(await consumer.call(FETCH, 12, fetch("t", 0, 0, max_wait_ms=30_000))))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.sleep(0.2)
            assert not got
            with trio.fail_after(5):
                await producer.call(PRODUCE, 9, produce("t", 0, records([b"x"])))
        assert got[0][1] == [b"x"]


async def test_fetch_waits_max_wait_then_answers_empty(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        start = trio.current_time()
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 0, max_wait_ms=300)))
        assert trio.current_time() - start >= 0.29
        assert values == [] and part.error_code == 0 and part.high_watermark == 0


@pytest.mark.parametrize("isolation", [0, 1])
async def test_fetch_errors_report_what_kafka_reports(tmp_path, isolation):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))
        # A read that fails: no offsets, no aborted transactions (Kafka's
        # createLogReadResult); the consumer resets with ListOffsets.
        part, _ = fetched(await client.call(FETCH, 12, fetch("t", 0, 5, isolation=isolation)))
        assert part.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        assert (part.log_start_offset, part.high_watermark, part.last_stable_offset) == (-1, -1, -1)
        assert part.aborted_transactions is None
        # A partition refused before the read: an empty list of aborted
        # transactions, whatever the isolation level.
        part, _ = fetched(await client.call(FETCH, 12, fetch("t", 3, 0, isolation=isolation)))
        assert part.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert part.aborted_transactions == [] and part.high_watermark == -1


def _fetch_epochs(offset, current_leader_epoch=-1, last_fetched_epoch=-1, session_id=0, session_epoch=-1):
    request = fetch("t", 0, offset)
    request.session_id, request.session_epoch = session_id, session_epoch
    partition = request.topics[0].partitions[0]
    partition.current_leader_epoch, partition.last_fetched_epoch = current_leader_epoch, last_fetched_epoch
    return request


async def test_fetch_checks_leader_epochs_and_sessions_as_kafka_does(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))

        async def part(**fields):
            return (await client.call(FETCH, 12, _fetch_epochs(**fields))).responses[0].partitions[0]

        # KIP-320: a leader epoch the client knows, newer than the
        # partition's (0), is unknown; a negative one means none.
        newer = await part(offset=0, current_leader_epoch=5)
        assert (newer.error_code, newer.high_watermark, newer.aborted_transactions) == (
            ErrorCode.UNKNOWN_LEADER_EPOCH, -1, None)
        assert (await part(offset=0, current_leader_epoch=-5)).error_code == 0
        # KIP-595: the epoch of the last batch fetched must be one the
        # partition had; fetching past that epoch's end diverges.
        assert (await part(offset=1, last_fetched_epoch=3)).error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        diverging = await part(offset=4, last_fetched_epoch=0)
        assert diverging.error_code == 0 and not bytes(diverging.records)
        assert (diverging.diverging_epoch.epoch, diverging.diverging_epoch.end_offset) == (0, 1)
        assert (await part(offset=0, last_fetched_epoch=0)).records
        # kgw opens no fetch session: any incremental fetch names an unknown
        # one, and a full fetch is answered sessionless whatever it names.
        incremental = await client.call(FETCH, 12, _fetch_epochs(offset=0, session_id=7, session_epoch=3))
        assert incremental.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        full = await client.call(FETCH, 12, _fetch_epochs(offset=0, session_id=7, session_epoch=-1))
        assert (full.error_code, full.session_id) == (0, 0) and full.responses[0].partitions[0].records


async def test_invalid_isolation_levels_and_sizes_fail_as_in_kafka(tmp_path):
    # Kafka cannot read an isolation level other than 0 or 1, nor read a
    # negative size: UNKNOWN_SERVER_ERROR, its answer to such input.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))
        body = await client.call(FETCH, 12, fetch("t", 0, 0, isolation=2))
        part = body.responses[0].partitions[0]
        assert (body.error_code, part.error_code, part.aborted_transactions) == (
            ErrorCode.UNKNOWN_SERVER_ERROR, ErrorCode.UNKNOWN_SERVER_ERROR, [])
        body = await client.call(FETCH, 12, fetch("t", 0, 0, max_bytes=-1))
        part = body.responses[0].partitions[0]
        assert (body.error_code, part.error_code, part.high_watermark) == (0, ErrorCode.UNKNOWN_SERVER_ERROR, -1)
        offsets = await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, -1, isolation=2))
        assert offsets.topics[0].partitions[0].error_code == ErrorCode.UNKNOWN_SERVER_ERROR


async def test_read_committed_gets_lso_and_empty_aborted_list(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))
        part, values = fetched(await client.call(FETCH, 11, fetch("t", 0, 0, isolation=1)))
        assert part.last_stable_offset == 1 and part.aborted_transactions == [] and values == [b"a"]


def txn_records(values, producer_id, base_timestamp=1_000):
    return records(values, base_timestamp, producer_id=producer_id, producer_epoch=0,
                   base_sequence=0, is_transactional=True)


def aborted_of(part):
    return [(a.producer_id, a.first_offset) for a in part.aborted_transactions]


# Transactional batches go into the partition log directly: producing them
# takes the transaction coordinator's whole flow, which is not under test here.

async def test_read_committed_fetch_stops_at_the_lso_and_lists_aborted(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        created = (await client.call(CREATE_TOPICS, 7, create("t"))).topics[0]
        partition_log = server.broker.log.partition("t", 0)
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))     # 0
        partition_log.append(txn_records([b"t1", b"t2"], 7), AppendOrigin.REPLICATION)  # 1-2
        await client.call(PRODUCE, 9, produce("t", 0, records([b"b"])))     # 3
        part, values = fetched(await client.call(FETCH, 11, fetch("t", 0, 0, isolation=1)))
        assert (part.high_watermark, part.last_stable_offset, values) == (4, 1, [b"a"])
        assert part.aborted_transactions == []
        part, values = fetched(await client.call(FETCH, 11, fetch("t", 0, 0)))
        assert part.last_stable_offset == 1 and part.aborted_transactions is None
        assert values == [b"a", b"t1", b"t2", b"b"]
        part, values = fetched(await client.call(FETCH, 11, fetch("t", 0, 1, isolation=1)))
        assert (part.error_code, values, part.aborted_transactions) == (0, [], [])

        partition_log.append_marker(7, 0, commit=False)                      # 4
        for version in (4, 11, 16):
            part, values = fetched(await client.call(FETCH, version, fetch(
                "t", 0, 0, isolation=1, topic_id=created.topic_id)))
            assert part.last_stable_offset == part.high_watermark == 5
            assert values[:4] == [b"a", b"t1", b"t2", b"b"] and aborted_of(part) == [(7, 1)]
        part, _ = fetched(await client.call(FETCH, 11, fetch("t", 0, 3, isolation=1)))
        assert aborted_of(part) == [(7, 1)]
        part, values = fetched(await client.call(FETCH, 11, fetch("t", 0, 5, isolation=1)))
        assert values == [] and part.aborted_transactions == []


async def test_read_committed_long_poll_returns_when_the_marker_lands(tmp_path):
    async with running_server(tmp_path) as server:
        producer, consumer = await Client.connect(server), await Client.connect(server)
        await producer.call(CREATE_TOPICS, 7, create("t"))
        partition_log = server.broker.log.partition("t", 0)
        partition_log.append(txn_records([b"t1"], 7), AppendOrigin.REPLICATION)
        got = []

        async def consume():
            got.append(fetched(await consumer.call(FETCH, 12, fetch(
                "t", 0, 0, max_wait_ms=30_000, isolation=1))))

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(consume)
                await trio.sleep(0.2)
                # Records after the open transaction wake the fetch, which finds
                # nothing below the LSO and waits on.
                await producer.call(PRODUCE, 9, produce("t", 0, records([b"x"])))
                await trio.sleep(0.2)
                assert not got
                partition_log.append_marker(7, 0, commit=True)
                server.broker.notifier.appended("t", 0)
        part, values = got[0]
        assert part.last_stable_offset == 3 and values[:2] == [b"t1", b"x"]


async def test_metadata_null_empty_and_auto_create(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("one", 3))
        everything = await client.call(METADATA, 12, metadata(None))
        assert [t.name for t in everything.topics] == ["one"]
        assert len(everything.topics[0].partitions) == 3
        assert everything.brokers[0].port == server.address[1]
        assert everything.brokers[0].host == "127.0.0.1"
        assert everything.controller_id == 0 and everything.cluster_id
        assert everything.topics[0].topic_authorized_operations == -(1 << 31)
        assert (await client.call(METADATA, 12, metadata([]))).topics == []
        created = await client.call(METADATA, 12, metadata(["auto"]))
        assert created.topics[0].error_code == 0 and len(created.topics[0].partitions) == 1
        refused = await client.call(METADATA, 12, metadata(["nope"], allow_create=False))
        assert refused.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        invalid = await client.call(METADATA, 12, metadata(["bad name!"]))
        assert invalid.topics[0].error_code == ErrorCode.INVALID_TOPIC_EXCEPTION


@pytest.mark.parametrize("version", [10, 11])
async def test_metadata_v10_and_v11_refuse_topic_ids(tmp_path, version):
    # Kafka serves lookups by topic id from v12 only and refuses v10-11
    # requests that carry one, or no name: every topic INVALID_REQUEST.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        Topic = METADATA.Request.MetadataRequestTopic
        topic_id = (await client.call(METADATA, 12, metadata(["t"]))).topics[0].topic_id
        for wanted in ([Topic(name=None, topic_id=topic_id)], [Topic(name="t", topic_id=topic_id)]):
            body = await client.call(METADATA, version, METADATA.Request(topics=wanted))
            assert (body.brokers, body.cluster_id, body.controller_id) == ([], None, -1)
            assert [(t.name, t.error_code, t.partitions) for t in body.topics] == \
                [(wanted[0].name or "", ErrorCode.INVALID_REQUEST, [])]
        by_id = await client.call(METADATA, 12, METADATA.Request(topics=[Topic(name=None, topic_id=topic_id)]))
        assert [(t.name, t.error_code) for t in by_id.topics] == [("t", 0)]


async def test_auto_create_can_be_turned_off(tmp_path):
    async with running_server(tmp_path, auto_create_topics=False) as server:
        client = await Client.connect(server)
        refused = await client.call(METADATA, 12, metadata(["nope"]))
        assert refused.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        part = (await client.call(PRODUCE, 9, produce("nope", 0, records([b"a"])))).responses[0]
        assert part.partition_responses[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_authorized_operations_are_a_real_bitfield_when_asked(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        request = metadata(["t"])
        request.include_topic_authorized_operations = True
        ops = (await client.call(METADATA, 12, request)).topics[0].topic_authorized_operations
        assert ops > 0 and not ops & ~((1 << 15) - 1)
        cluster = await client.call(DESCRIBE_CLUSTER, 1, DESCRIBE_CLUSTER.Request(
            include_cluster_authorized_operations=True))
        assert cluster.cluster_authorized_operations > 0 and cluster.brokers[0].broker_id == 0


async def test_describe_cluster_v2_and_endpoint_types(tmp_path):
    """As a Kafka 4.4 broker answers: v2 marks each broker unfenced; a
    broker asked for controllers or an unknown endpoint type refuses."""
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        cluster = await client.call(DESCRIBE_CLUSTER, 2, DESCRIBE_CLUSTER.Request(
            include_cluster_authorized_operations=False, include_fenced_brokers=True))
        assert cluster.error_code == 0 and cluster.endpoint_type == 1
        assert [(b.broker_id, b.is_fenced) for b in cluster.brokers] == [(0, False)]
        assert cluster.cluster_authorized_operations == -(1 << 31)
        for endpoint_type, error, message in [
                (2, ErrorCode.MISMATCHED_ENDPOINT_TYPE, "The request was sent to an endpoint of type "
                 "BROKER, but we wanted an endpoint of type CONTROLLER"),
                (3, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, "Unsupported endpoint type 3")]:
            refused = await client.call(DESCRIBE_CLUSTER, 2, DESCRIBE_CLUSTER.Request(
                include_cluster_authorized_operations=True, endpoint_type=endpoint_type))
            assert (refused.error_code, refused.error_message) == (error, message)
            assert (refused.brokers, refused.cluster_id, refused.controller_id) == ([], "", -1)


async def test_a_compacted_topic_answers_keyless_records_record_by_record(tmp_path):
    """The Produce answer Kafka 4.4 gives: INVALID_RECORD, no offsets, the
    log start offset, and each keyless record's index and reason."""
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("c", 1, {"cleanup.policy": "compact"}))
        batch = build_batch([Record(0, 1_000, b"k", b"a"), Record(1, 1_000, None, b"b")])
        answer = (await client.call(PRODUCE, 9, produce("c", 0, batch))).responses[0].partition_responses[0]
        why = "Compacted topic cannot accept message without key in topic partition c-0"
        assert (answer.error_code, answer.base_offset, answer.log_start_offset) == (
            ErrorCode.INVALID_RECORD, -1, 0)
        assert [(e.batch_index, e.batch_index_error_message) for e in answer.record_errors] == [(1, why)]
        assert answer.error_message == (
            "One or more records have been rejected due to 1 record errors in total, and only showing "
            f"the first three errors at most: [RecordError(batchIndex=1, message='{why}')]")


async def test_create_topics_errors(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        assert (await client.call(CREATE_TOPICS, 7, create("t"))).topics[0].error_code == 0
        again = (await client.call(CREATE_TOPICS, 7, create("t"))).topics[0]
        assert again.error_code == ErrorCode.TOPIC_ALREADY_EXISTS
        for name in ("", ".", "..", "x" * 250, "sp ace"):
            bad = (await client.call(CREATE_TOPICS, 7, create(name))).topics[0]
            assert bad.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION, name
        zero = (await client.call(CREATE_TOPICS, 7, create("z", 0))).topics[0]
        assert zero.error_code == ErrorCode.INVALID_PARTITIONS
        config = (await client.call(CREATE_TOPICS, 7, create("c", 1, {"no.such": "1"}))).topics[0]
        assert config.error_code == ErrorCode.INVALID_CONFIG
        value = (await client.call(CREATE_TOPICS, 7, create("c", 1, {"retention.ms": "soon"}))).topics[0]
        assert value.error_code == ErrorCode.INVALID_CONFIG
        request = create("v")
        request.validate_only = True
        assert (await client.call(CREATE_TOPICS, 7, request)).topics[0].error_code == 0
        refused = await client.call(METADATA, 12, metadata(["v"], allow_create=False))
        assert refused.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_a_topic_named_twice_in_one_request_is_refused_once(tmp_path):
    # Kafka's controller: one INVALID_REQUEST result for the name, and
    # neither request acted on.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        twice = create("d")
        twice.topics += create("d", 3).topics + create("e").topics
        body = await client.call(CREATE_TOPICS, 7, twice)
        assert sorted((t.name, t.error_code) for t in body.topics) == [
            ("d", ErrorCode.INVALID_REQUEST), ("e", ErrorCode.NONE)]
        refused = await client.call(METADATA, 12, metadata(["d"], allow_create=False))
        assert refused.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        Topic = CREATE_PARTITIONS.Request.CreatePartitionsTopic
        body = await client.call(CREATE_PARTITIONS, 3, CREATE_PARTITIONS.Request(topics=[
            Topic(name="e", count=2), Topic(name="e", count=3)], timeout_ms=1000, validate_only=False))
        assert [(r.name, r.error_code) for r in body.results] == [("e", ErrorCode.INVALID_REQUEST)]
        grown = await client.call(METADATA, 12, metadata(["e"], allow_create=False))
        assert len(grown.topics[0].partitions) == 1


async def test_a_negative_timeout_has_run_out_before_anything_is_done(tmp_path):
    # Kafka's controller answers REQUEST_TIMED_OUT and acts on nothing.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        late = create("t")
        late.timeout_ms = -1
        body = await client.call(CREATE_TOPICS, 7, late)
        assert [(t.name, t.error_code) for t in body.topics] == [("t", ErrorCode.REQUEST_TIMED_OUT)]
        assert (await client.call(METADATA, 12, metadata(["t"], allow_create=False))).topics[0].error_code == \
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        await client.call(CREATE_TOPICS, 7, create("t"))
        Topic = CREATE_PARTITIONS.Request.CreatePartitionsTopic
        body = await client.call(CREATE_PARTITIONS, 3, CREATE_PARTITIONS.Request(
            topics=[Topic(name="t", count=2)], timeout_ms=-1, validate_only=False))
        assert [r.error_code for r in body.results] == [ErrorCode.REQUEST_TIMED_OUT]
        body = await client.call(DELETE_TOPICS, 4, DELETE_TOPICS.Request(topic_names=["t"], timeout_ms=-5))
        assert [r.error_code for r in body.responses] == [ErrorCode.REQUEST_TIMED_OUT]
        left = await client.call(METADATA, 12, metadata(["t"], allow_create=False))
        assert left.topics[0].error_code == 0 and len(left.topics[0].partitions) == 1


async def test_bad_partitions_and_batches_get_errors_and_leave_data_intact(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t", 1, {"max.message.bytes": "2000"}))
        good = records([b"ok"])
        assert (await client.call(PRODUCE, 9, produce("t", 0, good))).responses[0] \
            .partition_responses[0].error_code == 0

        async def error_of(data, partition=0):
            body = await client.call(PRODUCE, 9, produce("t", partition, data))
            return body.responses[0].partition_responses[0].error_code

        flipped = bytearray(records([b"corrupt me"]))
        flipped[-3] ^= 0xFF
        assert await error_of(bytes(flipped)) == ErrorCode.CORRUPT_MESSAGE
        assert await error_of(records([b"x" * 5000])) == ErrorCode.MESSAGE_TOO_LARGE
        assert await error_of(good, partition=1) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert await error_of(good, partition=-1) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        # A partition whose records are not one whole RecordBatch v2 is
        # refused as Kafka's ProduceRequest.validateRecords refuses it.
        truncated = good[:-4]
        assert await error_of(truncated) == ErrorCode.INVALID_RECORD
        magic1 = bytearray(good)
        magic1[16] = 1
        assert await error_of(bytes(magic1)) == ErrorCode.INVALID_RECORD
        assert await error_of(good + good) == ErrorCode.INVALID_RECORD
        body = await client.call(PRODUCE, 9, produce("t", 0, good, acks=2))
        assert body.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_REQUIRED_ACKS
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 0)))
        assert values == [b"ok"] and part.high_watermark == 1


def _answers(body):
    return {(t.name, p.index): p for t in body.responses for p in t.partition_responses}


async def test_failed_partitions_report_what_kafka_reports(tmp_path):
    # Kafka's ReplicaManager: the log start offset once an append reached
    # the log, an error message and the records at fault only for records
    # refused one by one.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t", 2, {"message.timestamp.before.max.ms": "60000"}))
        now = time.time_ns() // 1_000_000
        assert (await client.call(PRODUCE, 9, produce("t", 0, records([b"a"], base_timestamp=now)))) \
            .responses[0].partition_responses[0].error_code == 0
        stale = build_batch([Record(0, now, None, b"new"), Record(1, 1_000, None, b"old"),
                             Record(2, 2_000, None, b"older")])
        part = _answers(await client.call(PRODUCE, 9, produce("t", 0, stale)))["t", 0]
        assert part.error_code == ErrorCode.INVALID_TIMESTAMP
        assert part.log_start_offset == 0 and part.error_message
        assert [e.batch_index for e in part.record_errors] == [1, 2]
        assert all("out of range" in e.batch_index_error_message for e in part.record_errors)

        pid = (await client.call(INIT_PRODUCER_ID, 4, INIT_PRODUCER_ID.Request(
            transactional_id=None, transaction_timeout_ms=60000))).producer_id
        first = records([b"f"], base_timestamp=now, producer_id=pid, producer_epoch=0, base_sequence=0)
        assert _answers(await client.call(PRODUCE, 9, produce("t", 1, first)))["t", 1].error_code == 0
        gap = records([b"g"], base_timestamp=now, producer_id=pid, producer_epoch=0, base_sequence=3)
        part = _answers(await client.call(PRODUCE, 9, produce("t", 1, gap)))["t", 1]
        assert (part.error_code, part.log_start_offset, part.error_message, part.record_errors) == \
            (ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 0, None, [])

        for data, partition, acks, code in [
                (records([b"x"], base_timestamp=now), 5, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                (b"", 0, -1, ErrorCode.INVALID_RECORD),
                (records([b"x"], base_timestamp=now), 1, 2, ErrorCode.INVALID_REQUIRED_ACKS)]:
            part = _answers(await client.call(PRODUCE, 9, produce("t", partition, data, acks=acks)))["t", partition]
            assert (part.error_code, part.log_start_offset, part.error_message) == (code, -1, None)


async def test_produce_checks_run_in_kafkas_order(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        Topic = PRODUCE.Request.TopicProduceData
        good = records([b"ok"])
        both = PRODUCE.Request(transactional_id=None, acks=5, timeout_ms=1000, topic_data=[Topic(
            name="t", partition_data=[Topic.PartitionProduceData(index=i, records=good) for i in (0, 3)])])
        answers = _answers(await client.call(PRODUCE, 9, both))
        # The partition that does not exist is told so before acks are looked at.
        assert answers["t", 3].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert answers["t", 0].error_code == ErrorCode.INVALID_REQUIRED_ACKS
        zstd = records([b"z"], codec=4)
        assert _answers(await client.call(PRODUCE, 6, produce("t", 0, zstd)))["t", 0].error_code == \
            ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        assert _answers(await client.call(PRODUCE, 7, produce("t", 0, zstd)))["t", 0].error_code == 0
        # Transactional records without a transactional id fail the whole
        # request, every partition, as Kafka's authorization does.
        txn = records([b"t"], producer_id=1, producer_epoch=0, base_sequence=0, is_transactional=True)
        mixed = PRODUCE.Request(transactional_id=None, acks=-1, timeout_ms=1000, topic_data=[Topic(
            name="t", partition_data=[Topic.PartitionProduceData(index=0, records=good),
                                      Topic.PartitionProduceData(index=1, records=txn)])])
        answers = _answers(await client.call(PRODUCE, 9, mixed))
        assert {p.error_code for p in answers.values()} == {ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_produce_v0_to_v2_close_the_connection_as_kafka_4_does(tmp_path, version):
    # Advertised (librdkafka < 2.11.1 needs Produce v0 in range) but not
    # parsed by Kafka 4, which closes the connection on them.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.send(PRODUCE, version, produce("t", 0, records([b"old"])))
        assert await client.receive() is CLOSED
        again = await Client.connect(server)
        part, values = fetched(await again.call(FETCH, 12, fetch("t", 0, 0)))
        assert values == [] and part.high_watermark == 0


async def test_acks_zero_gets_no_response_and_does_not_stall(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        for _ in range(3):
            await client.send(PRODUCE, 9, produce("t", 0, records([b"z"]), acks=0))
        offsets = await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, -1))
        assert offsets.topics[0].partitions[0].offset == 3


async def test_a_failed_produce_with_acks_zero_closes_the_connection(tmp_path):
    # Kafka's only way to tell a client that wants no answer: it reconnects
    # and refreshes its metadata.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.send(PRODUCE, 9, produce("t", 3, records([b"lost"]), acks=0))
        await client.send(PRODUCE, 9, produce("t", 0, records([b"never read"]), acks=1))
        assert await client.receive() is CLOSED
        again = await Client.connect(server)
        offsets = await again.call(LIST_OFFSETS, 7, list_offsets("t", 0, -1))
        assert offsets.topics[0].partitions[0].offset == 0


async def test_pipelined_requests_are_answered_in_order(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        sent = [await client.send(PRODUCE, 9, produce("t", 0, records([b"%d" % i]))) for i in range(20)]
        answers = [await client.receive() for _ in sent]
        assert [a.correlation_id for a in answers] == sent
        assert [a.body.responses[0].partition_responses[0].base_offset for a in answers] == list(range(20))


async def test_list_offsets_earliest_latest_timestamp_max(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a", b"b"], base_timestamp=1000)))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"c"], base_timestamp=5000)))

        async def lookup(ts, version=7):
            part = (await client.call(LIST_OFFSETS, version, list_offsets("t", 0, ts))).topics[0].partitions[0]
            return part.offset, part.timestamp

        assert (await lookup(-2))[0] == 0
        assert (await lookup(-1))[0] == 3
        assert await lookup(1001) == (1, 1001)
        assert await lookup(2000) == (2, 5000)
        assert await lookup(9999) == (-1, -1)
        assert await lookup(-3) == (2, 5000)
        for version in (1, 2, 3, 9):
            assert (await lookup(-1, version))[0] == 3


async def test_list_offsets_refuses_what_kafka_refuses(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"])))
        Topic = LIST_OFFSETS.Request.ListOffsetsTopic
        Partition = Topic.ListOffsetsPartition

        async def errors(version, *partitions):
            body = await client.call(LIST_OFFSETS, version, LIST_OFFSETS.Request(
                replica_id=-1, topics=[Topic(name="t", partitions=list(partitions))]))
            return [(p.partition_index, p.error_code) for t in body.topics for p in t.partitions]

        # Named twice: refused, and answered once.
        assert await errors(7, Partition(partition_index=0, timestamp=-1), Partition(partition_index=0,
                                                                                     timestamp=-2)) == [
            (0, ErrorCode.INVALID_REQUEST)]
        # A special timestamp the version does not know, even of a partition
        # that does not exist.
        assert await errors(6, Partition(partition_index=0, timestamp=-3)) == [(0, ErrorCode.UNSUPPORTED_VERSION)]
        assert await errors(9, Partition(partition_index=5, timestamp=-7)) == [(5, ErrorCode.UNSUPPORTED_VERSION)]
        assert await errors(7, Partition(partition_index=0, timestamp=-3)) == [(0, 0)]
        # The leader epoch the client knows; only -1 names none.
        for epoch, code in [(-1, 0), (0, 0), (3, ErrorCode.UNKNOWN_LEADER_EPOCH), (-3, ErrorCode.FENCED_LEADER_EPOCH)]:
            assert await errors(7, Partition(partition_index=0, timestamp=-1, current_leader_epoch=epoch)) == [
                (0, code)]


async def test_list_offsets_read_committed_stops_at_the_lso(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        partition_log = server.broker.log.partition("t", 0)
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a", b"b"], base_timestamp=1000)))
        partition_log.append(txn_records([b"t"], 7, base_timestamp=5000), AppendOrigin.REPLICATION)
        await client.call(PRODUCE, 9, produce("t", 0, records([b"c"], base_timestamp=6000)))

        async def lookup(ts, isolation, version=7):
            body = await client.call(LIST_OFFSETS, version, list_offsets("t", 0, ts, isolation))
            part = body.topics[0].partitions[0]
            return part.offset, part.timestamp

        assert [await lookup(ts, 0) for ts in (-1, -2, 5000, 6000, -3)] == [
            (4, -1), (0, -1), (2, 5000), (3, 6000), (3, 6000)]
        assert [await lookup(ts, 1) for ts in (-1, -2, 1001, 5000, 6000, -3)] == [
            (2, -1), (0, -1), (1, 1001), (-1, -1), (-1, -1), (-1, -1)]
        # ListOffsets v1 has no isolation level: read_uncommitted.
        assert await lookup(-1, 0, version=1) == (4, -1)
        partition_log.append_marker(7, 0, commit=True)
        assert [await lookup(ts, 1) for ts in (-1, 5000)] == [(5, -1), (2, 5000)]


async def test_delete_records_moves_the_log_start(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        for i in range(4):
            await client.call(PRODUCE, 9, produce("t", 0, records([b"%d" % i])))
        Topic = DELETE_RECORDS.Request.DeleteRecordsTopic
        body = await client.call(DELETE_RECORDS, 2, DELETE_RECORDS.Request(topics=[Topic(
            name="t", partitions=[Topic.DeleteRecordsPartition(partition_index=0, offset=2)])], timeout_ms=1000))
        assert body.topics[0].partitions[0].low_watermark == 2
        part, _ = fetched(await client.call(FETCH, 12, fetch("t", 0, 0)))
        assert part.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        earliest = await client.call(LIST_OFFSETS, 7, list_offsets("t", 0, -2))
        assert earliest.topics[0].partitions[0].offset == 2
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 2)))
        assert values == [b"2", b"3"] and part.log_start_offset == 2


async def test_describe_configs_topic_and_broker(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t", 1, {"retention.ms": "1234"}))
        Resource = DESCRIBE_CONFIGS.Request.DescribeConfigsResource
        body = await client.call(DESCRIBE_CONFIGS, 4, DESCRIBE_CONFIGS.Request(resources=[
            Resource(resource_type=2, resource_name="t", configuration_keys=None),
            Resource(resource_type=4, resource_name="0", configuration_keys=None),
            Resource(resource_type=2, resource_name="missing", configuration_keys=None)]))
        topic, broker, missing = body.results
        configs = {c.name: c for c in topic.configs}
        assert configs["retention.ms"].value == "1234"
        assert configs["cleanup.policy"].value == "delete"
        assert broker.error_code == 0 and broker.configs
        assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_config_apis_judge_a_topic_name_before_the_topic(tmp_path):
    # Kafka 4.4.0's answers: INVALID_TOPIC_EXCEPTION for a name no topic can
    # have, before configs or existence are looked at; "" is the cluster's
    # default topic resource, which cannot be altered; an unknown topic is
    # described with the message left at its default, "".
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        Resource = DESCRIBE_CONFIGS.Request.DescribeConfigsResource
        names = ["bad$name", "", ".", "x" * 250, "missing"]
        body = await client.call(DESCRIBE_CONFIGS, 4, DESCRIBE_CONFIGS.Request(resources=[
            Resource(resource_type=2, resource_name=n, configuration_keys=None) for n in names]))
        assert [(r.error_code, r.error_message) for r in body.results] == [
            (17, "Topic name is invalid: 'bad$name' contains one or more characters other than ASCII "
                 "alphanumerics, '.', '_' and '-'"),
            (17, "Topic name is invalid: the empty string is not allowed"),
            (17, "Topic name is invalid: '.' is not allowed"),
            (17, f"Topic name is invalid: the length of '{'x' * 250}' is longer than the max allowed length 249"),
            (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "")]
        for name, code in [("bad$name", 17), ("", ErrorCode.INVALID_REQUEST), ("..", 17)]:
            legacy = await client.call(ALTER_CONFIGS, 2, alter(name, {"retention.ms": "soon"}))
            changed = await client.call(INCREMENTAL_ALTER_CONFIGS, 1, incremental([(2, name, [("no.such", 0, "1")])]))
            assert outcome(legacy) == outcome(changed) == [(2, name, code)]
        assert legacy.responses[0].error_message == "Topic name is invalid: '..' is not allowed"
        assert changed.responses[0].error_message == "Topic name is invalid: '..' is not allowed"
        body = await client.call(ALTER_CONFIGS, 2, alter("", {}))
        assert body.responses[0].error_message == "Default topic resources are not allowed."


def alter(topic, configs, validate_only=False):
    Resource = ALTER_CONFIGS.Request.AlterConfigsResource
    return ALTER_CONFIGS.Request(validate_only=validate_only, resources=[Resource(
        resource_type=2, resource_name=topic,
        configs=[Resource.AlterableConfig(name=k, value=v) for k, v in configs.items()])])


def incremental(resources, validate_only=False):
    """IncrementalAlterConfigs of (resource type, name, [(config, operation, value)])."""
    Resource = INCREMENTAL_ALTER_CONFIGS.Request.AlterConfigsResource
    return INCREMENTAL_ALTER_CONFIGS.Request(validate_only=validate_only, resources=[Resource(
        resource_type=kind, resource_name=name,
        configs=[Resource.AlterableConfig(name=k, config_operation=op, value=v) for k, op, v in changes])
        for kind, name, changes in resources])


async def overrides(client, topic):
    Resource = DESCRIBE_CONFIGS.Request.DescribeConfigsResource
    body = await client.call(DESCRIBE_CONFIGS, 4, DESCRIBE_CONFIGS.Request(resources=[
        Resource(resource_type=2, resource_name=topic, configuration_keys=None)]))
    return {c.name: c.value for c in body.results[0].configs if c.config_source == 1}


def outcome(body):
    return [(r.resource_type, r.resource_name, r.error_code) for r in body.responses]


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_alter_configs_replaces_the_overrides(tmp_path, version):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t", 1, {"retention.ms": "1234", "segment.ms": "5000"}))
        body = await client.call(ALTER_CONFIGS, version, alter("t", {"max.message.bytes": "300"}))
        assert outcome(body) == [(2, "t", 0)] and body.responses[0].error_message is None
        assert await overrides(client, "t") == {"max.message.bytes": "300"}
        refused = await client.call(PRODUCE, 9, produce("t", 0, records([b"x" * 400])))
        assert refused.responses[0].partition_responses[0].error_code == ErrorCode.MESSAGE_TOO_LARGE

        dry = await client.call(ALTER_CONFIGS, version, alter("t", {}, validate_only=True))
        assert outcome(dry) == [(2, "t", 0)] and await overrides(client, "t") == {"max.message.bytes": "300"}
        bad = await client.call(ALTER_CONFIGS, version, alter("t", {"max.message.bytes": "lots"}))
        assert outcome(bad) == [(2, "t", ErrorCode.INVALID_CONFIG)]
        assert bad.responses[0].error_message == \
            "Invalid value lots for configuration max.message.bytes: Not a number of type INT"
        null = await client.call(ALTER_CONFIGS, version, alter("t", {"retention.ms": None}))
        assert outcome(null) == [(2, "t", ErrorCode.INVALID_REQUEST)]
        missing = await client.call(ALTER_CONFIGS, version, alter("nope", {"retention.ms": "1"}))
        assert outcome(missing) == [(2, "nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
        # Kafka's controller judges the configs before the topic's existence.
        missing = await client.call(ALTER_CONFIGS, version, alter("nope", {"retention.ms": "x"}))
        assert outcome(missing) == [(2, "nope", ErrorCode.INVALID_CONFIG)]
        # A resource named twice: both refused, neither applied, as
        # IncrementalAlterConfigs answers (Kafka 4.4.0 drops this request;
        # README: Differences).
        twice = alter("t", {"retention.ms": "5"})
        twice.resources += alter("t", {"segment.ms": "5000"}).resources
        body = await client.call(ALTER_CONFIGS, version, twice)
        assert outcome(body) == [(2, "t", ErrorCode.INVALID_REQUEST)] * 2
        assert {r.error_message for r in body.responses} == {"Each resource must appear at most once."}
        assert await overrides(client, "t") == {"max.message.bytes": "300"}


@pytest.mark.parametrize("version", [0, 1])
async def test_incremental_alter_configs(tmp_path, version):
    SET, DELETE, APPEND, SUBTRACT = range(4)
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t", 1, {"retention.ms": "1234"}))
        await client.call(CREATE_TOPICS, 7, create("u"))
        body = await client.call(INCREMENTAL_ALTER_CONFIGS, version, incremental([
            (2, "t", [("retention.ms", DELETE, None), ("cleanup.policy", APPEND, "compact")]),
            (2, "u", [("segment.ms", SET, "9000")]),
            (2, "nope", [("segment.ms", SET, "9000")]),
            (2, "x", [("segment.ms", SET, "1"), ("segment.ms", DELETE, None)]),
            (2, "v", [("retention.ms", APPEND, "1")]),
            (2, "v", [("retention.ms", SET, None)]),
            (2, "w", [("retention.ms", SET, None)]),
            (4, "0", [("num.partitions", SET, "1")]),
            (4, "7", []),
            (8, "kgw", [])]))
        assert outcome(body) == [
            (2, "t", 0), (2, "u", 0), (2, "nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            (2, "x", ErrorCode.INVALID_REQUEST), (2, "v", ErrorCode.INVALID_REQUEST),
            (2, "v", ErrorCode.INVALID_REQUEST), (2, "w", ErrorCode.INVALID_REQUEST),
            (4, "0", ErrorCode.INVALID_REQUEST), (4, "7", ErrorCode.INVALID_REQUEST),
            (8, "kgw", ErrorCode.INVALID_REQUEST)]
        messages = [r.error_message for r in body.responses]
        assert messages[3:7] == ["Error due to duplicate config keys", "Each resource must appear at most once.",
                                 "Each resource must appear at most once.",
                                 "Null value not supported for : retention.ms"]
        assert await overrides(client, "t") == {"cleanup.policy": "delete,compact"}
        assert await overrides(client, "u") == {"segment.ms": "9000"}
        appended = await client.call(INCREMENTAL_ALTER_CONFIGS, version, incremental([
            (2, "u", [("retention.ms", APPEND, "1")])]))
        assert outcome(appended) == [(2, "u", ErrorCode.INVALID_CONFIG)]

        subtract = [(2, "t", [("cleanup.policy", SUBTRACT, "delete")])]
        dry = await client.call(INCREMENTAL_ALTER_CONFIGS, version, incremental(subtract, validate_only=True))
        assert outcome(dry) == [(2, "t", 0)]
        assert await overrides(client, "t") == {"cleanup.policy": "delete,compact"}
        done = await client.call(INCREMENTAL_ALTER_CONFIGS, version, incremental(subtract))
        assert outcome(done) == [(2, "t", 0)]
        assert await overrides(client, "t") == {"cleanup.policy": "compact"}


async def test_delete_topics_and_create_partitions(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        Topic = CREATE_PARTITIONS.Request.CreatePartitionsTopic
        grow = await client.call(CREATE_PARTITIONS, 3, CREATE_PARTITIONS.Request(
            topics=[Topic(name="t", count=3, assignments=None)], timeout_ms=1000, validate_only=False))
        assert grow.results[0].error_code == 0
        shrink = await client.call(CREATE_PARTITIONS, 3, CREATE_PARTITIONS.Request(
            topics=[Topic(name="t", count=2, assignments=None)], timeout_ms=1000, validate_only=False))
        assert shrink.results[0].error_code == ErrorCode.INVALID_PARTITIONS
        assert len((await client.call(METADATA, 12, metadata(["t"]))).topics[0].partitions) == 3
        gone = await client.call(DELETE_TOPICS, 4, DELETE_TOPICS.Request(topic_names=["t", "u"], timeout_ms=1000))
        assert {r.name: r.error_code for r in gone.responses} == {"t": 0, "u": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        refused = await client.call(METADATA, 12, metadata(["t"], allow_create=False))
        assert refused.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_delete_topics_refuses_what_kafkas_controller_refuses(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        for name in ("a", "b", "c"):
            await client.call(CREATE_TOPICS, 7, create(name))
        ids = {t.name: t.topic_id for t in (await client.call(METADATA, 12, metadata(["a", "b", "c"]))).topics}
        State = DELETE_TOPICS.Request.DeleteTopicState
        body = await client.call(DELETE_TOPICS, 6, DELETE_TOPICS.Request(topics=[
            State(name="a"), State(name="a"), State(name="b", topic_id=ids["b"]), State(name=None),
            State(name=None, topic_id=ids["c"]), State(name="c"), State(name="missing"),
            State(name=None, topic_id=uuid.UUID(int=7))], timeout_ms=1000))
        # Each error with Kafka's message; nothing refused is deleted.
        answers = sorted((r.name or "", r.error_code, bool(r.error_message)) for r in body.responses)
        assert answers == [("", ErrorCode.INVALID_REQUEST, True), ("", ErrorCode.UNKNOWN_TOPIC_ID, True),
                           ("a", ErrorCode.INVALID_REQUEST, True), ("b", ErrorCode.INVALID_REQUEST, True),
                           ("c", ErrorCode.INVALID_REQUEST, True),
                           ("missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, True)]
        left = await client.call(METADATA, 12, metadata(["a", "b", "c"], allow_create=False))
        assert [t.error_code for t in left.topics] == [0, 0, 0]
        body = await client.call(DELETE_TOPICS, 5, DELETE_TOPICS.Request(topic_names=["a", "zz"], timeout_ms=1000))
        assert {(r.name, r.error_code, r.error_message is None) for r in body.responses} == {
            ("a", 0, True), ("zz", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, False)}


async def test_an_idempotent_producer_gets_a_new_id_even_when_it_names_its_old_one(tmp_path):
    # Kafka's TransactionCoordinator blindly hands a producer without a
    # transactional id a new id, epoch 0, whatever id and epoch it names.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        first = await client.call(INIT_PRODUCER_ID, 4, INIT_PRODUCER_ID.Request(
            transactional_id=None, transaction_timeout_ms=60000))
        again = await client.call(INIT_PRODUCER_ID, 4, INIT_PRODUCER_ID.Request(
            transactional_id=None, transaction_timeout_ms=60000, producer_id=first.producer_id,
            producer_epoch=first.producer_epoch))
        assert again.error_code == 0 and again.producer_epoch == 0
        assert again.producer_id not in (first.producer_id, -1)


async def test_idempotent_retry_is_written_once(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        ids = await client.call(INIT_PRODUCER_ID, 4, INIT_PRODUCER_ID.Request(
            transactional_id=None, transaction_timeout_ms=60000))
        pid, epoch = ids.producer_id, ids.producer_epoch
        assert ids.error_code == 0 and pid >= 0 and epoch == 0

        async def send(seq, value):
            data = records([value], producer_id=pid, producer_epoch=epoch, base_sequence=seq)
            part = (await client.call(PRODUCE, 9, produce("t", 0, data))).responses[0].partition_responses[0]
            return part.error_code, part.base_offset

        assert await send(0, b"a") == (0, 0)
        assert await send(1, b"b") == (0, 1)
        assert await send(1, b"b") == (0, 1)
        assert (await send(5, b"c"))[0] == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        _, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 0)))
        assert values == [b"a", b"b"]


async def test_unsupported_api_or_version_closes_the_connection(tmp_path):
    async with running_server(tmp_path) as server:
        for key, version in ((9999, 0), (1, 3), (0, 11)):
            with trio.socket.socket() as sock:
                await sock.connect(server.address)
                frame = (8 + 2).to_bytes(4, "big") + key.to_bytes(2, "big", signed=True) \
                    + version.to_bytes(2, "big") + (7).to_bytes(4, "big") + b"\xff\xff"
                await sock.send(frame)
                with trio.fail_after(5):
                    assert await sock.recv(100) == b""
        client = await Client.connect(server)
        assert (await client.call(API_VERSIONS, 3, NAMED_API_VERSIONS)).error_code == 0


async def test_unknown_api_versions_version_gets_a_v0_answer(tmp_path):
    async with running_server(tmp_path) as server:
        with trio.socket.socket() as sock:
            await sock.connect(server.address)
            header = (18).to_bytes(2, "big") + (9).to_bytes(2, "big") + (5).to_bytes(4, "big") + b"\x00\x01x\x00"
            await sock.send(len(header).to_bytes(4, "big") + header)
            answer = await sock.recv(100)
        # size, correlation id, error 35, one api key entry 18/0-4.
        assert answer == bytes.fromhex("00000010" "00000005" "0023" "00000001" "0012" "0000" "0004")


async def test_oversized_frame_closes_the_connection_without_allocating(tmp_path):
    async with running_server(tmp_path, max_request_size=1 << 20) as server:
        with trio.socket.socket() as sock:
            await sock.connect(server.address)
            await sock.send((1 << 30).to_bytes(4, "big"))
            with trio.fail_after(5):
                assert await sock.recv(100) == b""
        client = await Client.connect(server)
        assert (await client.call(API_VERSIONS, 3, NAMED_API_VERSIONS)).error_code == 0


async def test_client_vanishing_mid_frame_and_mid_response(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        produced = await client.call(PRODUCE, 9, produce("t", 0, records([b"v" * 40_000] * 20)))
        assert produced.responses[0].partition_responses[0].error_code == 0
        with trio.socket.socket() as sock:
            await sock.connect(server.address)
            await sock.send((500).to_bytes(4, "big") + b"\x00\x01")
        _, data = client.protocol.send_request(FETCH.key, 12, fetch("t", 0, 0))
        with trio.socket.socket() as sock:
            await sock.connect(server.address)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await sock.send(data)
            await sock.recv(10)
        await trio.sleep(0.2)
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 0)))
        assert len(values) == 20


async def test_thousands_of_idle_connections(tmp_path):
    async with running_server(tmp_path) as server:
        socks = []
        try:
            for _ in range(2000):
                sock = trio.socket.socket()
                await sock.connect(server.address)
                socks.append(sock)
            client = await Client.connect(server)
            assert (await client.call(API_VERSIONS, 3, NAMED_API_VERSIONS)).error_code == 0
        finally:
            for sock in socks:
                sock.close()


async def test_data_survives_a_restart(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"kept"])))
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        part, values = fetched(await client.call(FETCH, 12, fetch("t", 0, 0)))
        assert values == [b"kept"] and part.high_watermark == 1


async def test_deleting_a_topic_drops_its_committed_offsets(tmp_path):
    from protocol.messages import OFFSET_COMMIT, OFFSET_FETCH

    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        Topic = OFFSET_COMMIT.Request.OffsetCommitRequestTopic
        commit = OFFSET_COMMIT.Request(group_id="g", generation_id_or_member_epoch=-1, member_id="",
                                       topics=[Topic(name="t", partitions=[
                                           Topic.OffsetCommitRequestPartition(partition_index=0,
                                                                              committed_offset=5)])])
        assert (await client.call(OFFSET_COMMIT, 7, commit)).topics[0].partitions[0].error_code == 0
        fetch_all = OFFSET_FETCH.Request(group_id="g", topics=None)
        assert [t.name for t in (await client.call(OFFSET_FETCH, 7, fetch_all)).topics] == ["t"]
        await client.call(DELETE_TOPICS, 4, DELETE_TOPICS.Request(topic_names=["t"], timeout_ms=1000))
        assert (await client.call(OFFSET_FETCH, 7, fetch_all)).topics == []


async def test_a_stop_on_a_disk_that_refuses_to_flush_is_still_graceful(tmp_path, monkeypatch):
    async with running_server(tmp_path, flush="never") as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        await client.call(PRODUCE, 9, produce("t", 0, records([b"a"]), acks=1))

        def full(fd):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr("os.fsync", full)
    # run() returned (the harness waited for it) and says what it could not do.
    assert server.flushed is False
    monkeypatch.undo()
    async with running_server(tmp_path) as again:
        # Recovered: the record, written before the stop, is there.
        assert again.broker.log.partition("t", 0).log_end_offset == 1
