"""AdminClient against kgw: topics, configs, cluster, records."""

import pytest

from .util import DEADLINE_S, admin, ck, consume_to_eof, consumer, create_topic, producer, read_all


def _error_of(future):
    with pytest.raises(ck().KafkaException) as info:
        future.result(timeout=DEADLINE_S)
    return info.value.args[0]


def test_create_topic_then_list_and_describe(kgw_bootstrap, topic_name):
    host, port = kgw_bootstrap.split(":")
    with admin(kgw_bootstrap) as adm:
        create_topic(adm, topic_name, partitions=3, config={"retention.ms": "123456"})

        md = adm.list_topics(timeout=10)
        assert md.controller_id == 0
        assert {b.id: (b.host, b.port) for b in md.brokers.values()} == {0: (host, int(port))}
        topic = md.topics[topic_name]
        assert topic.error is None
        assert {p: (pm.leader, pm.replicas, pm.isrs, pm.error) for p, pm in topic.partitions.items()} == {
            0: (0, [0], [0], None), 1: (0, [0], [0], None), 2: (0, [0], [0], None)}

        cluster = adm.describe_cluster(request_timeout=10).result(timeout=DEADLINE_S)
        assert cluster.cluster_id == md.cluster_id and cluster.cluster_id
        assert cluster.controller.id == 0
        assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(0, host, int(port))]

        ConfigResource, ConfigSource = ck().admin.ConfigResource, ck().admin.ConfigSource
        resource = ConfigResource("topic", topic_name)
        configs = adm.describe_configs([resource])[resource].result(timeout=DEADLINE_S)
        assert configs["retention.ms"].value == "123456"
        assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        assert not configs["retention.ms"].is_default
        assert configs["cleanup.policy"].value == "delete"
        assert configs["cleanup.policy"].is_default
        assert configs["max.message.bytes"].value == "1048588"

        broker = ConfigResource("broker", "0")
        broker_configs = adm.describe_configs([broker])[broker].result(timeout=DEADLINE_S)
        assert broker_configs["log.retention.ms"].value is None or broker_configs["log.retention.ms"].value
        assert "log.cleanup.policy" in broker_configs


def test_create_topics_errors(kgw_bootstrap, topic_name):
    with admin(kgw_bootstrap) as adm:
        create_topic(adm, topic_name)
        NewTopic = ck().admin.NewTopic
        KafkaError = ck().KafkaError
        futures = adm.create_topics([
            NewTopic(topic_name, 1, 1),
            NewTopic(topic_name + "-zero", 0, 1),
            NewTopic("bad name!", 1, 1),
            NewTopic(topic_name + "-badconfig", 1, 1, config={"no.such.config": "1"}),
        ], request_timeout=10)
        assert _error_of(futures[topic_name]).code() == KafkaError.TOPIC_ALREADY_EXISTS
        assert _error_of(futures[topic_name + "-zero"]).code() == KafkaError.INVALID_PARTITIONS
        assert _error_of(futures["bad name!"]).code() == KafkaError.TOPIC_EXCEPTION
        assert _error_of(futures[topic_name + "-badconfig"]).code() == KafkaError.INVALID_CONFIG

        # validate_only: accepted, and nothing is created.
        future = adm.create_topics([NewTopic(topic_name + "-dry", 2, 1)], validate_only=True,
                                   request_timeout=10)[topic_name + "-dry"]
        assert future.result(timeout=DEADLINE_S) is None
        topics = adm.list_topics(timeout=10).topics
        assert topic_name in topics
        assert not {topic_name + s for s in ("-zero", "-badconfig", "-dry")} & set(topics)


def test_create_partitions(kgw_bootstrap, kgw_topic):
    with admin(kgw_bootstrap) as adm:
        NewPartitions = ck().admin.NewPartitions
        futures = adm.create_partitions([NewPartitions(kgw_topic, 3)], request_timeout=10)
        assert futures[kgw_topic].result(timeout=DEADLINE_S) is None
        md = adm.list_topics(kgw_topic, timeout=10)
        assert sorted(md.topics[kgw_topic].partitions) == [0, 1, 2]
        # Fewer partitions than now is refused.
        futures = adm.create_partitions([NewPartitions(kgw_topic, 2)], request_timeout=10)
        assert _error_of(futures[kgw_topic]).code() == ck().KafkaError.INVALID_PARTITIONS


def test_delete_records_moves_the_log_start(kgw_bootstrap, kgw_topic):
    TopicPartition, KafkaError = ck().TopicPartition, ck().KafkaError
    with admin(kgw_bootstrap) as adm:
        with producer(kgw_bootstrap) as p:
            for i in range(10):
                p.produce(kgw_topic, value=b"v%d" % i, partition=0)
            assert p.flush(10) == 0

        futures = adm.delete_records([TopicPartition(kgw_topic, 0, 4)], request_timeout=10)
        (deleted,) = [f.result(timeout=DEADLINE_S) for f in futures.values()]
        assert deleted.low_watermark == 4

        with consumer(kgw_bootstrap, auto_offset_reset="earliest") as c:
            assert c.get_watermark_offsets(TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (4, 10)
            # An offset below the log start is out of range: reset to the earliest.
            c.assign([TopicPartition(kgw_topic, 0, 1)])
            rows = consume_to_eof(c)
        assert [(r[1], r[3]) for r in rows] == [(i, b"v%d" % i) for i in range(4, 10)]
        assert [(r[1], r[3]) for r in read_all(kgw_bootstrap, kgw_topic)] == [
            (i, b"v%d" % i) for i in range(4, 10)]

        # Beyond the high watermark: OFFSET_OUT_OF_RANGE, and nothing changes.
        futures = adm.delete_records([TopicPartition(kgw_topic, 0, 11)], request_timeout=10)
        (future,) = futures.values()
        assert _error_of(future).code() == KafkaError.OFFSET_OUT_OF_RANGE
        # -1 means "up to the high watermark".
        futures = adm.delete_records([TopicPartition(kgw_topic, 0, -1)], request_timeout=10)
        (deleted,) = [f.result(timeout=DEADLINE_S) for f in futures.values()]
        assert deleted.low_watermark == 10
        with consumer(kgw_bootstrap) as c:
            assert c.get_watermark_offsets(TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (10, 10)


def test_delete_topic(kgw_bootstrap, topic_name):
    with admin(kgw_bootstrap) as adm:
        create_topic(adm, topic_name)
        futures = adm.delete_topics([topic_name, topic_name + "-missing"], operation_timeout=5,
                                    request_timeout=10)
        assert futures[topic_name].result(timeout=DEADLINE_S) is None
        assert _error_of(futures[topic_name + "-missing"]).code() == ck().KafkaError.UNKNOWN_TOPIC_OR_PART
        assert topic_name not in adm.list_topics(timeout=10).topics
        # The name is free again, with a fresh, empty log.
        create_topic(adm, topic_name, partitions=2)
        assert sorted(adm.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == [0, 1]
    with consumer(kgw_bootstrap) as c:
        assert c.get_watermark_offsets(ck().TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, 0)
