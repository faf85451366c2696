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
