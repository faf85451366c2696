"""kafka-python's KafkaAdminClient (and the metadata views of producer and
consumer) against a live kgw."""

import pytest


def test_create_topic_and_describe_it(kgw_bootstrap, admin, topic_name):
    result = admin.create_topics(
        {topic_name: {"num_partitions": 3, "replication_factor": 1,
                      "configs": {"retention.ms": "3600000", "cleanup.policy": "delete"}}})
    [created] = result["topics"]
    assert created["name"] == topic_name
    assert created["error_code"] == 0
    assert created["num_partitions"] == 3
    assert created["replication_factor"] == 1
    assert created["configs"]["retention.ms"]["value"] == "3600000"
    assert created["configs"]["cleanup.policy"]["value"] == "delete"

    assert topic_name in admin.list_topics()

    [described] = admin.describe_topics([topic_name])
    assert described["name"] == topic_name
    assert described["error_code"] == 0
    assert described["is_internal"] is False
    assert described["topic_id"] == created["topic_id"]
    assert [(p["partition_index"], p["error_code"], p["leader_id"], p["replica_nodes"], p["isr_nodes"])
            for p in sorted(described["partitions"], key=lambda p: p["partition_index"])] == [
        (0, 0, 0, [0], [0]), (1, 0, 0, [0], [0]), (2, 0, 0, [0], [0])]


def test_create_topics_errors_and_validate_only(admin, topic_name):
    from kafka.errors import TopicAlreadyExistsError

    admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1}})
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1}})

    checks = {
        topic_name: 36,                                   # TOPIC_ALREADY_EXISTS
        "bad/name": 17,                                   # INVALID_TOPIC_EXCEPTION
        "x" * 250: 17,                                    # name longer than 249
        topic_name + "-zero": 37,                         # INVALID_PARTITIONS
        topic_name + "-badcfg": 40,                       # INVALID_CONFIG
    }
    result = admin.create_topics(
        {topic_name: {"num_partitions": 1, "replication_factor": 1},
         "bad/name": {"num_partitions": 1, "replication_factor": 1},
         "x" * 250: {"num_partitions": 1, "replication_factor": 1},
         topic_name + "-zero": {"num_partitions": 0, "replication_factor": 1},
         topic_name + "-badcfg": {"num_partitions": 1, "replication_factor": 1,
                                  "configs": {"retention.ms": "not-a-number"}}},
        raise_errors=False)
    assert {t["name"]: t["error_code"] for t in result["topics"]} == checks

    dry = admin.create_topics({topic_name + "-dry": {"num_partitions": 2, "replication_factor": 1}},
                              validate_only=True)
    assert [(t["name"], t["error_code"], t["num_partitions"]) for t in dry["topics"]] == [
        (topic_name + "-dry", 0, 2)]
    listed = admin.list_topics()
    assert topic_name in listed
    for name in (topic_name + "-dry", topic_name + "-zero", topic_name + "-badcfg", "bad/name"):
        assert name not in listed


@pytest.mark.kgw_topic(configs={"retention.ms": "7200000", "max.message.bytes": "2000000"})
def test_describe_configs_topic_and_broker(admin, kgw_topic):
    from kafka.admin import ConfigResource, ConfigResourceType

    modified = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, kgw_topic)])
    topic_configs = modified["topic"][kgw_topic]
    assert {k: v["value"] for k, v in topic_configs.items()} == {
        "retention.ms": "7200000", "max.message.bytes": "2000000"}
    assert topic_configs["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert topic_configs["retention.ms"]["read_only"] is False

    everything = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, kgw_topic)],
                                        config_filter="all")["topic"][kgw_topic]
    assert everything["retention.ms"]["value"] == "7200000"
    assert everything["cleanup.policy"]["value"] == "delete"
    assert everything["cleanup.policy"]["config_source"] == "DEFAULT_CONFIG"

    # Only the named keys come back when the resource names them.
    named = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, kgw_topic, configs={"retention.ms": None})],
        config_filter="all")["topic"][kgw_topic]
    assert list(named) == ["retention.ms"]

    broker = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")],
                                    config_filter="all")["broker"]["0"]
    assert broker["num.partitions"]["value"] == "1"
    assert broker["message.max.bytes"]["value"] == "1048588"
    assert broker["log.retention.ms"]["value"] == "604800000"


def _topic_configs(admin, topic, config_filter="modified"):
    """The topic's configs as the same client describes them: {name: (value, source)}."""
    from kafka.admin import ConfigResource, ConfigResourceType

    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                       config_filter=config_filter)["topic"][topic]
    return {name: (c["value"], c["config_source"]) for name, c in described.items()}


def _outcome(result):
    """kafka-python's alter_configs result, 'OK' or '[Error <code>] <ErrorClass>' without the message."""
    return result.split(":")[0]


@pytest.mark.kgw_topic(configs={"retention.ms": "7200000"})
def test_incremental_alter_configs_takes_effect_at_once(kgw_bootstrap, clients, admin, kgw_topic):
    """alter_configs sends IncrementalAlterConfigs v1 (kgw offers it): SET,
    DELETE, APPEND and SUBTRACT touch only the keys named, and the next
    Produce is judged by the new max.message.bytes."""
    import os

    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType
    from kafka.errors import MessageSizeTooLargeError

    from ._kp import read_all

    def alter(configs):
        return admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, kgw_topic, configs=configs)])

    assert alter({"max.message.bytes": "2000",
                  "cleanup.policy": (AlterConfigOp.APPEND, "compact")}) == {"topic": {kgw_topic: "OK"}}
    # APPEND starts from the default list ("delete"), as Kafka's does.
    assert _topic_configs(admin, kgw_topic) == {
        "retention.ms": ("7200000", "DYNAMIC_TOPIC_CONFIG"),
        "max.message.bytes": ("2000", "DYNAMIC_TOPIC_CONFIG"),
        "cleanup.policy": ("delete,compact", "DYNAMIC_TOPIC_CONFIG")}

    producer = clients.producer(kgw_bootstrap, acks=1, retries=0)
    large = os.urandom(5000)
    # Keyed: the topic is compacted now, which refuses records without a key.
    with pytest.raises(MessageSizeTooLargeError):
        producer.send(kgw_topic, large, key=b"k", partition=0).get(timeout=10)
    assert producer.send(kgw_topic, b"small", key=b"k", partition=0).get(timeout=10).offset == 0

    assert alter({"max.message.bytes": (AlterConfigOp.DELETE, None),
                  "cleanup.policy": (AlterConfigOp.SUBTRACT, "compact")}) == {"topic": {kgw_topic: "OK"}}
    everything = _topic_configs(admin, kgw_topic, config_filter="all")
    assert {k: everything[k] for k in ("retention.ms", "max.message.bytes", "cleanup.policy")} == {
        "retention.ms": ("7200000", "DYNAMIC_TOPIC_CONFIG"),
        "max.message.bytes": ("1048588", "DEFAULT_CONFIG"),
        "cleanup.policy": ("delete", "DYNAMIC_TOPIC_CONFIG")}
    # Back at the broker's limit, the same record is taken.
    assert producer.send(kgw_topic, large, partition=0).get(timeout=10).offset == 1
    [records] = read_all(clients.consumer(kgw_bootstrap), kgw_topic, [0], 2).values()
    assert [(r.offset, r.value) for r in records] == [(0, b"small"), (1, large)]


@pytest.mark.kgw_topic(configs={"retention.ms": "7200000", "max.message.bytes": "2000"})
def test_alter_configs_replaces_the_overrides(admin, kgw_topic):
    """incremental=False sends AlterConfigs v2, which replaces the topic's
    overrides. kafka-python re-sends the other modified keys itself, so
    reset_configs (the list without the key) is what drops one."""
    from kafka.admin import ConfigResource, ConfigResourceType

    def resource(configs):
        return ConfigResource(ConfigResourceType.TOPIC, kgw_topic, configs=configs)

    created = {"retention.ms": ("7200000", "DYNAMIC_TOPIC_CONFIG"),
               "max.message.bytes": ("2000", "DYNAMIC_TOPIC_CONFIG")}
    ok = {"topic": {kgw_topic: "OK"}}
    assert admin.alter_configs([resource({"retention.ms": "60000"})], validate_only=True,
                               incremental=False) == ok
    assert _topic_configs(admin, kgw_topic) == created

    assert admin.alter_configs([resource({"retention.ms": "60000"})], incremental=False) == ok
    assert _topic_configs(admin, kgw_topic) == {**created, "retention.ms": ("60000", "DYNAMIC_TOPIC_CONFIG")}

    assert admin.reset_configs([resource(["max.message.bytes"])], incremental=False) == ok
    assert _topic_configs(admin, kgw_topic) == {"retention.ms": ("60000", "DYNAMIC_TOPIC_CONFIG")}
    assert _topic_configs(admin, kgw_topic, config_filter="all")["max.message.bytes"] == (
        "1048588", "DEFAULT_CONFIG")


@pytest.mark.kgw_topic(configs={"retention.ms": "7200000"})
def test_alter_configs_errors_change_nothing(admin, kgw_topic):
    """Each refused resource keeps its configs, in both request types
    (raise_on_unknown=False lets the broker, not the client, judge names)."""
    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

    unknown_topic, invalid_config = "[Error 3] UnknownTopicOrPartitionError", "[Error 40] InvalidConfigurationError"
    invalid_request = "[Error 42] InvalidRequestError"
    cases = [
        [(kgw_topic + "-missing", {"retention.ms": "60000"}, unknown_topic)],
        [(kgw_topic, {"max.message.bytes": "2000", "retention.msec": "60000"}, invalid_config)],
        [(kgw_topic, {"max.message.bytes": "2000", "retention.ms": "soon"}, invalid_config)],
        [(kgw_topic, {"max.message.bytes": "2000", "retention.ms": None}, invalid_request)],
        # The same resource twice: Kafka refuses both and applies neither.
        [(kgw_topic, {"retention.ms": "5000"}, invalid_request),
         (kgw_topic, {"max.message.bytes": "3000"}, invalid_request)],
    ]
    for incremental in (True, False):
        for case in cases:
            result = admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict(configs)) for topic, configs, _ in case],
                raise_on_unknown=False, incremental=incremental)
            assert {t: _outcome(r) for t, r in result["topic"].items()} == {
                topic: expected for topic, _, expected in case}, (incremental, case)
    # APPEND only applies to list configs.
    appended = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, kgw_topic,
                                                   configs={"retention.ms": (AlterConfigOp.APPEND, "1")})])
    assert _outcome(appended["topic"][kgw_topic]) == invalid_config
    # kgw's broker configs are static.
    broker = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "0",
                                                 configs={"log.retention.ms": "60000"})], raise_on_unknown=False)
    assert {t: {n: _outcome(r) for n, r in results.items()} for t, results in broker.items()} == {
        "broker": {"0": invalid_config}}

    assert _topic_configs(admin, kgw_topic) == {"retention.ms": ("7200000", "DYNAMIC_TOPIC_CONFIG")}
    assert kgw_topic + "-missing" not in admin.list_topics()


def test_describe_cluster(kgw_broker, admin):
    cluster = admin.describe_cluster()
    assert isinstance(cluster["cluster_id"], str) and cluster["cluster_id"]
    assert cluster["controller_id"] == 0
    assert cluster["brokers"] == [{"broker_id": 0, "host": "127.0.0.1", "port": kgw_broker.port, "rack": None}]
    # A second call (a new request) reports the same cluster.
    assert admin.describe_cluster()["cluster_id"] == cluster["cluster_id"]


def test_metadata_views_and_auto_create(kgw_bootstrap, clients, admin, topic_name):
    admin.create_topics({topic_name: {"num_partitions": 4, "replication_factor": 1}})
    consumer = clients.consumer(kgw_bootstrap)
    assert topic_name in consumer.topics()
    assert consumer.partitions_for_topic(topic_name) == {0, 1, 2, 3}

    # A producer sending to an unknown topic has it auto-created with the
    # broker's default partition count (1).
    auto = topic_name + "-auto"
    assert auto not in admin.list_topics()
    producer = clients.producer(kgw_bootstrap)
    assert producer.partitions_for(auto) == {0}
    metadata = producer.send(auto, b"first").get(timeout=10)
    assert (metadata.topic, metadata.partition, metadata.offset) == (auto, 0, 0)
    assert auto in admin.list_topics()
    [described] = admin.describe_topics([auto])
    assert [p["partition_index"] for p in described["partitions"]] == [0]


@pytest.mark.kgw_topic(partitions=2)
def test_delete_records_moves_log_start(kgw_bootstrap, clients, admin, kgw_topic):
    from kafka import TopicPartition
    from kafka.errors import OffsetOutOfRangeError

    producer = clients.producer(kgw_bootstrap)
    for i in range(10):
        producer.send(kgw_topic, f"p0-{i}".encode(), partition=0)
        producer.send(kgw_topic, f"p1-{i}".encode(), partition=1)
    producer.flush()
    tp0, tp1 = TopicPartition(kgw_topic, 0), TopicPartition(kgw_topic, 1)

    result = admin.delete_records({tp0: 4, tp1: 0})
    assert {tp: (r["low_watermark"], r["error_code"]) for tp, r in result.items()} == {
        tp0: (4, 0), tp1: (0, 0)}

    consumer = clients.consumer(kgw_bootstrap)
    assert consumer.beginning_offsets([tp0, tp1]) == {tp0: 4, tp1: 0}
    assert consumer.end_offsets([tp0, tp1]) == {tp0: 10, tp1: 10}

    # Reading from offset 0 is out of range now: the consumer resets to
    # the new log start (auto_offset_reset=earliest).
    consumer.assign([tp0])
    consumer.seek(tp0, 0)
    from ._kp import read_range
    got = read_range(consumer, {tp0: 10})
    assert [(r.offset, r.value) for r in got[tp0]] == [(i, f"p0-{i}".encode()) for i in range(4, 10)]

    # -1 deletes up to the high watermark.
    result = admin.delete_records({tp1: -1})
    assert (result[tp1]["low_watermark"], result[tp1]["error_code"]) == (10, 0)
    assert consumer.beginning_offsets([tp1]) == {tp1: 10}
    assert consumer.end_offsets([tp1]) == {tp1: 10}

    # Beyond the high watermark: OFFSET_OUT_OF_RANGE, and nothing moves.
    with pytest.raises(OffsetOutOfRangeError):
        admin.delete_records({tp0: 11})
    assert consumer.beginning_offsets([tp0]) == {tp0: 4}


@pytest.mark.kgw_topic(partitions=2)
def test_delete_topic_and_recreate(kgw_bootstrap, clients, admin, kgw_topic):
    from kafka import TopicPartition
    from kafka.errors import UnknownTopicOrPartitionError

    producer = clients.producer(kgw_bootstrap)
    producer.send(kgw_topic, b"old", partition=1).get(timeout=10)
    producer.close(timeout=10)

    result = admin.delete_topics([kgw_topic])
    assert [(t["name"], t["error_code"]) for t in result["topics"]] == [(kgw_topic, 0)]
    assert kgw_topic not in admin.list_topics()

    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([kgw_topic])
    missing = admin.delete_topics([kgw_topic], raise_errors=False)
    assert [(t["name"], t["error_code"]) for t in missing["topics"]] == [(kgw_topic, 3)]

    # Recreated with the same name, the topic starts empty.
    admin.create_topics({kgw_topic: {"num_partitions": 1, "replication_factor": 1}})
    consumer = clients.consumer(kgw_bootstrap)
    tp = TopicPartition(kgw_topic, 0)
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    assert consumer.end_offsets([tp]) == {tp: 0}
    assert consumer.partitions_for_topic(kgw_topic) == {0}
