"""AIOKafkaAdminClient against kgw: CreateTopics v3, Metadata v5 (list and
describe topics, describe cluster), DescribeConfigs v2, AlterConfigs v1,
CreatePartitions, DeleteRecords v2 and DeleteTopics v3."""

import pytest

from .helpers import (ConfigResource, ConfigResourceType, NewPartitions, NewTopic, RecordsToDelete,
                      TopicPartition, admin, consume, consume_partition, consumer, errors, producer, run)

# Kafka error codes the admin responses carry.
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_REQUEST = 42
# DescribeConfigs config_source values.
DYNAMIC_TOPIC_CONFIG = 1
DEFAULT_CONFIG = 5


def _codes(response) -> dict:
    return {t[0]: t[1] for t in response.topic_errors}


def test_create_topics_and_describe(kgw_broker, topic_name):
    async def body():
        client = admin(kgw_broker.bootstrap)
        await client.start()
        try:
            created = await client.create_topics([
                NewTopic(topic_name, 3, 1, topic_configs={"retention.ms": "3600000",
                                                          "cleanup.policy": "delete"}),
            ])
            assert _codes(created) == {topic_name: NONE}

            assert topic_name in await client.list_topics()

            described = await client.describe_topics([topic_name])
            assert described == [{
                "error_code": NONE, "topic": topic_name, "is_internal": False,
                "partitions": [{"error_code": NONE, "partition": p, "leader": 0, "replicas": [0],
                                "isr": [0], "offline_replicas": []} for p in range(3)],
            }]

            cluster = await client.describe_cluster()
            assert cluster["brokers"] == [
                {"node_id": 0, "host": kgw_broker.host, "port": kgw_broker.port, "rack": None}]
            assert cluster["controller_id"] == 0
            assert isinstance(cluster["cluster_id"], str) and cluster["cluster_id"]
            assert (await client.describe_cluster())["cluster_id"] == cluster["cluster_id"]

            [configs] = await client.describe_configs([ConfigResource(
                ConfigResourceType.TOPIC, topic_name,
                configs={"retention.ms": None, "segment.bytes": None, "cleanup.policy": None})])
            [(error, _message, rtype, rname, entries)] = configs.resources
            assert (error, rtype, rname) == (NONE, ConfigResourceType.TOPIC, topic_name)
            by_name = {e[0]: (e[1], e[2], e[3], e[4]) for e in entries}
            # (value, read_only, source, sensitive)
            assert by_name == {
                "retention.ms": ("3600000", False, DYNAMIC_TOPIC_CONFIG, False),
                "cleanup.policy": ("delete", False, DYNAMIC_TOPIC_CONFIG, False),
                "segment.bytes": ("1073741824", False, DEFAULT_CONFIG, False),
            }

            [missing] = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{topic_name}-no")])
            [(error, _message, rtype, rname, entries)] = missing.resources
            assert (error, rtype, rname, entries) == (
                UNKNOWN_TOPIC_OR_PARTITION, ConfigResourceType.TOPIC, f"{topic_name}-no", [])

            [broker] = await client.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
            [(error, _message, rtype, rname, entries)] = broker.resources
            assert (error, rtype, rname) == (NONE, ConfigResourceType.BROKER, "0")
            assert entries, "the broker describes at least one config"
        finally:
            await client.close()
    run(body())


def test_create_topics_errors(kgw_bootstrap, topic_name):
    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            await client.create_topics([NewTopic(topic_name, 1, 1)])
            again = await client.create_topics([NewTopic(topic_name, 1, 1)])
            assert _codes(again) == {topic_name: TOPIC_ALREADY_EXISTS}

            bad = {
                "bad name!": NewTopic("bad name!", 1, 1),
                f"{topic_name}-zero": NewTopic(f"{topic_name}-zero", 0, 1),
                f"{topic_name}-rf3": NewTopic(f"{topic_name}-rf3", 1, 3),
                f"{topic_name}-cfg": NewTopic(f"{topic_name}-cfg", 1, 1,
                                              topic_configs={"cleanup.policy": "nonsense"}),
                f"{topic_name}-codec": NewTopic(f"{topic_name}-codec", 1, 1,
                                                topic_configs={"compression.type": "gzip"}),
            }
            response = await client.create_topics(list(bad.values()))
            assert _codes(response) == {
                "bad name!": INVALID_TOPIC_EXCEPTION,
                f"{topic_name}-zero": INVALID_PARTITIONS,
                f"{topic_name}-rf3": INVALID_REPLICATION_FACTOR,
                f"{topic_name}-cfg": INVALID_CONFIG,
                # kgw's documented limit: only compression.type=producer.
                f"{topic_name}-codec": INVALID_CONFIG,
            }

            validate = await client.create_topics([NewTopic(f"{topic_name}-dry", 2, 1)], validate_only=True)
            assert _codes(validate) == {f"{topic_name}-dry": NONE}

            topics = set(await client.list_topics())
            assert topic_name in topics
            assert not topics & {*bad, f"{topic_name}-dry"}
        finally:
            await client.close()
    run(body())


def test_create_partitions(kgw_bootstrap, kgw_topic):
    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            response = await client.create_partitions({kgw_topic: NewPartitions(3)})
            assert [(t[0], t[1]) for t in response.topic_errors] == [(kgw_topic, NONE)]
            [described] = await client.describe_topics([kgw_topic])
            assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
            with pytest.raises(errors.InvalidPartitionsError):
                await client.create_partitions({kgw_topic: NewPartitions(2)})
        finally:
            await client.close()

        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            meta = await prod.send_and_wait(kgw_topic, b"new partition", partition=2)
        finally:
            await prod.stop()
        assert (meta.partition, meta.offset) == (2, 0)
    run(body())


@pytest.mark.kgw_topic(partitions=2)
def test_delete_records(kgw_bootstrap, kgw_topic):
    async def body():
        tp0, tp1 = TopicPartition(kgw_topic, 0), TopicPartition(kgw_topic, 1)
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            for i in range(10):
                await prod.send(kgw_topic, f"p0-{i}".encode(), partition=0)
                await prod.send(kgw_topic, f"p1-{i}".encode(), partition=1)
            await prod.flush()
        finally:
            await prod.stop()

        client = admin(kgw_bootstrap)
        await client.start()
        try:
            # Inside a batch (offset 4) and "up to the high watermark" (-1).
            low = await client.delete_records({tp0: RecordsToDelete(4), tp1: RecordsToDelete(-1)})
            assert low == {tp0: 4, tp1: 10}
            # Deleting below the log start is a no-op that reports it.
            assert await client.delete_records({tp0: RecordsToDelete(2)}) == {tp0: 4}
            with pytest.raises(errors.OffsetOutOfRangeError):
                await client.delete_records({tp0: RecordsToDelete(11)})
        finally:
            await client.close()

        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([tp0, tp1])
            assert await cons.beginning_offsets([tp0, tp1]) == {tp0: 4, tp1: 10}
            assert await cons.end_offsets([tp0, tp1]) == {tp0: 10, tp1: 10}
            # Time lookups only see what is left.
            found = await cons.offsets_for_times({tp0: 0, tp1: 0})
            assert found[tp1] is None
            assert found[tp0].offset == 4
            # Offset 0 is gone: auto_offset_reset=earliest lands on the log start.
            cons.seek(tp0, 0)
            cons.seek(tp1, 0)
            records = await consume(cons, 6)
            assert [(r.partition, r.offset, r.value) for r in records] == [
                (0, i, f"p0-{i}".encode()) for i in range(4, 10)]
            assert await cons.position(tp1) == 10
        finally:
            await cons.stop()
    run(body())


def test_fetch_below_log_start_without_reset_raises(kgw_bootstrap, kgw_topic):
    async def body():
        tp = TopicPartition(kgw_topic, 0)
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            for i in range(5):
                await prod.send(kgw_topic, b"x%d" % i, partition=0)
            await prod.flush()
        finally:
            await prod.stop()
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            assert await client.delete_records({tp: RecordsToDelete(3)}) == {tp: 3}
        finally:
            await client.close()

        cons = consumer(kgw_bootstrap, auto_offset_reset="none")
        await cons.start()
        try:
            cons.assign([tp])
            cons.seek(tp, 1)
            with pytest.raises(errors.OffsetOutOfRangeError) as caught:
                for _ in range(50):
                    await cons.getmany(timeout_ms=200)
            assert caught.value.args[0] == {tp: 1}
            cons.seek(tp, 3)
            records = await consume(cons, 2)
            assert [(r.offset, r.value) for r in records] == [(3, b"x3"), (4, b"x4")]
        finally:
            await cons.stop()
    run(body())


@pytest.mark.kgw_topic(partitions=2)
def test_delete_topic(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            await prod.send_and_wait(kgw_topic, b"doomed", partition=1)
        finally:
            await prod.stop()

        client = admin(kgw_bootstrap)
        await client.start()
        try:
            deleted = await client.delete_topics([kgw_topic])
            assert [tuple(t) for t in deleted.topic_error_codes] == [(kgw_topic, NONE)]
            assert kgw_topic not in await client.list_topics()
            again = await client.delete_topics([kgw_topic])
            assert [tuple(t) for t in again.topic_error_codes] == [(kgw_topic, UNKNOWN_TOPIC_OR_PARTITION)]

            # The name is free again: a new topic starts empty.
            created = await client.create_topics([NewTopic(kgw_topic, 1, 1)])
            assert _codes(created) == {kgw_topic: NONE}
        finally:
            await client.close()

        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            tp = TopicPartition(kgw_topic, 0)
            cons.assign([tp])
            assert await cons.beginning_offsets([tp]) == {tp: 0}
            assert await cons.end_offsets([tp]) == {tp: 0}
        finally:
            await cons.stop()
    run(body())


def test_create_topics_manual_assignments_follow_kafka_rules(kgw_bootstrap, topic_name):
    """Kafka's ReplicationControlManager.createTopic: with a manual assignment,
    replication_factor must be -1 (else INVALID_REQUEST) and the partition
    indexes must be 0..n-1 (else INVALID_REPLICA_ASSIGNMENT)."""
    INVALID_REPLICA_ASSIGNMENT = 39

    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            names = {suffix: f"{topic_name}-{suffix}" for suffix in ("ok", "rf1", "gap", "from1", "broker1")}
            response = await client.create_topics([
                NewTopic(names["ok"], -1, -1, replica_assignments={0: [0], 1: [0]}),
                NewTopic(names["rf1"], -1, 1, replica_assignments={0: [0]}),
                NewTopic(names["gap"], -1, -1, replica_assignments={0: [0], 2: [0]}),
                NewTopic(names["from1"], -1, -1, replica_assignments={1: [0]}),
                NewTopic(names["broker1"], -1, -1, replica_assignments={0: [1]}),
            ])
            assert _codes(response) == {
                names["ok"]: NONE,
                names["rf1"]: INVALID_REQUEST,
                names["gap"]: INVALID_REPLICA_ASSIGNMENT,
                names["from1"]: INVALID_REPLICA_ASSIGNMENT,
                names["broker1"]: INVALID_REPLICA_ASSIGNMENT,
            }
            [ok] = await client.describe_topics([names["ok"]])
            assert [p["partition"] for p in ok["partitions"]] == [0, 1]
            assert not set(await client.list_topics()) & {names["rf1"], names["gap"], names["from1"],
                                                           names["broker1"]}
        finally:
            await client.close()
    run(body())


def test_create_partitions_needs_one_assignment_per_new_partition(kgw_bootstrap, kgw_topic):
    """Kafka's createPartitions: 'Attempted to add 2 additional partition(s),
    but only 1 assignment(s) were specified.' (INVALID_REPLICA_ASSIGNMENT)."""
    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            with pytest.raises(errors.InvalidReplicationAssignmentError):
                await client.create_partitions({kgw_topic: NewPartitions(3, [[0]])})
            [described] = await client.describe_topics([kgw_topic])
            assert [p["partition"] for p in described["partitions"]] == [0]
            # One assignment per added partition is fine.
            await client.create_partitions({kgw_topic: NewPartitions(3, [[0], [0]])})
            [described] = await client.describe_topics([kgw_topic])
            assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
        finally:
            await client.close()
    run(body())


@pytest.mark.kgw_topic(configs={"retention.ms": "1000000"})
def test_describe_configs_include_synonyms_lists_the_topic_override(kgw_bootstrap, kgw_topic):
    """DescribeConfigs v2 with include_synonyms=true: Kafka's ConfigHelper
    puts a topic override first in its own synonym list, as (name, value,
    source DYNAMIC_TOPIC_CONFIG)."""
    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            [configs] = await client.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, kgw_topic, configs={"retention.ms": None})],
                include_synonyms=True)
        finally:
            await client.close()
        [(error, _message, _rtype, _rname, [entry])] = configs.resources
        assert (error, entry[0], entry[1], entry[3]) == (NONE, "retention.ms", "1000000", DYNAMIC_TOPIC_CONFIG)
        synonyms = [tuple(s) for s in entry[5]]
        assert synonyms[:1] == [("retention.ms", "1000000", DYNAMIC_TOPIC_CONFIG)], synonyms
    run(body())


async def _alter(client, resources) -> list:
    """alter_configs' outcome: (error, resource type, name) per resource, over
    every response (aiokafka sends broker resources in a request of their own)."""
    responses = await client.alter_configs(resources)
    return [(error, rtype, rname) for response in responses for error, _message, rtype, rname in response.resources]


async def _topic_configs(client, topic, *names) -> dict:
    """The named configs as DescribeConfigs shows them: {name: (value, source)}."""
    [response] = await client.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict.fromkeys(names))])
    [(error, _message, _rtype, _rname, entries)] = response.resources
    assert error == NONE
    return {e[0]: (e[1], e[3]) for e in entries}


@pytest.mark.kgw_topic(configs={"retention.ms": "3600000", "cleanup.policy": "delete"})
def test_alter_configs_replaces_the_overrides_and_takes_effect(kgw_bootstrap, kgw_topic):
    """aiokafka's alter_configs is AlterConfigs v1: the configs given become
    the topic's whole set of overrides, and the next Produce obeys them."""
    defaults = {
        "max.message.bytes": ("1048588", DEFAULT_CONFIG),
        "retention.ms": ("604800000", DEFAULT_CONFIG),
        "cleanup.policy": ("delete", DEFAULT_CONFIG),
    }
    large = bytes(range(256)) * 20

    async def body():
        client = admin(kgw_bootstrap)
        prod = producer(kgw_bootstrap, acks="all")
        await client.start()
        await prod.start()
        try:
            topic = ConfigResource(ConfigResourceType.TOPIC, kgw_topic, configs={"max.message.bytes": "2000"})
            assert await _alter(client, [topic]) == [(NONE, ConfigResourceType.TOPIC, kgw_topic)]
            assert await _topic_configs(client, kgw_topic, *defaults) == {
                **defaults, "max.message.bytes": ("2000", DYNAMIC_TOPIC_CONFIG)}
            with pytest.raises(errors.MessageSizeTooLargeError):
                await prod.send_and_wait(kgw_topic, large, partition=0)
            assert (await prod.send_and_wait(kgw_topic, b"small", partition=0)).offset == 0

            # No configs at all: every override goes.
            topic.configs = {}
            assert await _alter(client, [topic]) == [(NONE, ConfigResourceType.TOPIC, kgw_topic)]
            assert await _topic_configs(client, kgw_topic, *defaults) == defaults
            assert (await prod.send_and_wait(kgw_topic, large, partition=0)).offset == 1
        finally:
            await prod.stop()
            await client.close()

        records = await consume_partition(kgw_bootstrap, TopicPartition(kgw_topic, 0), 2)
        assert [(r.offset, r.value) for r in records] == [(0, b"small"), (1, large)]
    run(body())


@pytest.mark.kgw_topic(configs={"retention.ms": "3600000"})
def test_alter_configs_errors_change_nothing(kgw_bootstrap, kgw_topic):
    """A refused resource keeps its configs. kgw's broker configs are static:
    altering broker 0 is INVALID_CONFIG."""
    TOPIC, BROKER = ConfigResourceType.TOPIC, ConfigResourceType.BROKER

    async def body():
        client = admin(kgw_bootstrap)
        await client.start()
        try:
            missing = f"{kgw_topic}-missing"
            assert await _alter(client, [
                ConfigResource(TOPIC, missing, configs={"retention.ms": "60000"}),
                ConfigResource(TOPIC, kgw_topic, configs={"retention.ms": "60000", "retention.msec": "1"}),
                ConfigResource(BROKER, "0", configs={"log.retention.ms": "60000"}),
            ]) == [(UNKNOWN_TOPIC_OR_PARTITION, TOPIC, missing), (INVALID_CONFIG, TOPIC, kgw_topic),
                   (INVALID_CONFIG, BROKER, "0")]
            assert await _alter(client, [ConfigResource(TOPIC, kgw_topic, configs={"retention.ms": "soon"})]) == [
                (INVALID_CONFIG, TOPIC, kgw_topic)]
            assert await _alter(client, [ConfigResource(TOPIC, kgw_topic, configs={"retention.ms": None})]) == [
                (INVALID_REQUEST, TOPIC, kgw_topic)]
            # The same resource twice: Kafka refuses both and applies neither.
            assert await _alter(client, [
                ConfigResource(TOPIC, kgw_topic, configs={"retention.ms": "5000"}),
                ConfigResource(TOPIC, kgw_topic, configs={"max.message.bytes": "3000"}),
            ]) == [(INVALID_REQUEST, TOPIC, kgw_topic)] * 2
            assert await _topic_configs(client, kgw_topic, "retention.ms") == {
                "retention.ms": ("3600000", DYNAMIC_TOPIC_CONFIG)}
            assert missing not in await client.list_topics()
        finally:
            await client.close()
    run(body())
