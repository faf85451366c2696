"""AdminClient against kgw: topics, configs, cluster, records."""

import pytest

from ..harness import eventually
from .util import DEADLINE_S, Deliveries, admin, ck, consume_to_eof, consumer, create_topic, producer, read_all


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
        # Kafka's answer: log.retention.ms has no value while only the
        # hours' default applies.
        assert broker_configs["log.retention.ms"].value is None
        assert broker_configs["log.retention.hours"].value == "168"
        assert (broker_configs["log.cleanup.policy"].value, broker_configs["log.cleanup.policy"].is_read_only) == (
            "delete", False)
        assert broker_configs["num.partitions"].is_read_only


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
        assert eventually(lambda: sorted(adm.list_topics(kgw_topic, timeout=10).topics[kgw_topic].partitions),
                          [0, 1, 2]) == [0, 1, 2]
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
        assert eventually(lambda: topic_name in adm.list_topics(timeout=10).topics, False) is False
        # The name is free again, with a fresh, empty log. (Kafka may answer
        # CreateTopics a moment before its Metadata lists the partitions.)
        create_topic(adm, topic_name, partitions=2)
        assert eventually(lambda: sorted(adm.list_topics(topic_name, timeout=10).topics[topic_name].partitions),
                           [0, 1]) == [0, 1]
    with consumer(kgw_bootstrap) as c:
        def watermarks():
            # Kafka's broker may not lead the new partition yet (NOT_LEADER), a moment.
            try:
                return c.get_watermark_offsets(ck().TopicPartition(topic_name, 0), timeout=10, cached=False)
            except ck().KafkaException as exc:
                return exc.args[0].code()
        assert eventually(watermarks, (0, 0)) == (0, 0)


# --- AlterConfigs and IncrementalAlterConfigs --------------------------------

def _configs(adm, topic, names):
    """name -> (value, source name) as DescribeConfigs now gives them for `topic`."""
    ConfigResource, ConfigSource = ck().admin.ConfigResource, ck().admin.ConfigSource
    resource = ConfigResource("topic", topic)
    configs = adm.describe_configs([resource], request_timeout=10)[resource].result(timeout=DEADLINE_S)
    return {name: (configs[name].value, ConfigSource(configs[name].source).name) for name in names}


def _expect_configs(adm, topic, expected):
    """The topic's configs named in `expected` become `expected` (on Kafka a
    moment after the change was answered)."""
    assert eventually(lambda: _configs(adm, topic, expected), expected) == expected


def _outcomes(futures) -> dict:
    """resource name -> None where the change was made, else its error code.
    (exception(), not result(): a raised error's traceback would keep the
    caller's frame, and so the AdminClient, alive past the test.)"""
    errors = {resource.name: future.exception(timeout=DEADLINE_S) for resource, future in futures.items()}
    return {name: error if error is None else error.args[0].code() for name, error in errors.items()}


def _incremental(adm, topic, *changes, validate_only=False):
    """IncrementalAlterConfigs of (name, "SET"|"DELETE"|..., value) on one
    topic: None if made, else the error code."""
    admin_api = ck().admin
    entries = [admin_api.ConfigEntry(name, value, incremental_operation=admin_api.AlterConfigOpType[op])
               for name, op, value in changes]
    resource = admin_api.ConfigResource("topic", topic, incremental_configs=entries)
    return _outcomes(adm.incremental_alter_configs([resource], validate_only=validate_only,
                                                   request_timeout=10))[topic]


def _produce_sizes(bootstrap, topic, *sizes):
    """One record of each size, each sent on its own: the delivery error
    codes (None: stored)."""
    deliveries = Deliveries()
    with producer(bootstrap, acks="all") as p:
        for size in sizes:
            p.produce(topic, value=b"x" * size, partition=0, on_delivery=deliveries)
            assert p.flush(10) == 0
    return [err if err is None else err.code() for err, *_ in deliveries.reports]


# DescribeConfigs' config_source for a topic override (1), a broker's
# dynamic config (2) and a default (5).
TOPIC_CONFIG, DEFAULT_CONFIG = "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG"
BROKER_CONFIG = "DYNAMIC_BROKER_CONFIG"


def _broker_configs(adm, broker, names):
    ConfigResource, ConfigSource = ck().admin.ConfigResource, ck().admin.ConfigSource
    resource = ConfigResource("broker", broker)
    configs = adm.describe_configs([resource], request_timeout=10)[resource].result(timeout=DEADLINE_S)
    return {name: (configs[name].value, ConfigSource(configs[name].source).name) for name in names if name in configs}


def _alter_broker(adm, broker, *changes):
    admin_api = ck().admin
    entries = [admin_api.ConfigEntry(name, value, incremental_operation=admin_api.AlterConfigOpType[op])
               for name, op, value in changes]
    resource = admin_api.ConfigResource("broker", broker, incremental_configs=entries)
    return _outcomes(adm.incremental_alter_configs([resource], request_timeout=10))[broker]


@pytest.mark.kgw_topic(configs={"retention.ms": "3600000"})
def test_incremental_alter_configs_set_and_delete_take_effect_at_once(kgw_bootstrap, kgw_topic):
    KafkaError = ck().KafkaError
    with admin(kgw_bootstrap) as adm:
        assert _incremental(adm, kgw_topic, ("max.message.bytes", "SET", "2000")) is None
        # The other override stays: only the named config changes.
        _expect_configs(adm, kgw_topic, {
            "max.message.bytes": ("2000", TOPIC_CONFIG), "retention.ms": ("3600000", TOPIC_CONFIG)})
        # The next produce sees the new limit.
        assert _produce_sizes(kgw_bootstrap, kgw_topic, 100, 5000) == [None, KafkaError.MSG_SIZE_TOO_LARGE]

        # validate_only: accepted, and nothing changes.
        assert _incremental(adm, kgw_topic, ("max.message.bytes", "SET", "100000"), validate_only=True) is None
        _expect_configs(adm, kgw_topic, {"max.message.bytes": ("2000", TOPIC_CONFIG)})
        assert _produce_sizes(kgw_bootstrap, kgw_topic, 5000) == [KafkaError.MSG_SIZE_TOO_LARGE]

        # DELETE: back to the default, and the large record goes through.
        assert _incremental(adm, kgw_topic, ("max.message.bytes", "DELETE", None)) is None
        _expect_configs(adm, kgw_topic, {
            "max.message.bytes": ("1048588", DEFAULT_CONFIG), "retention.ms": ("3600000", TOPIC_CONFIG)})
        assert _produce_sizes(kgw_bootstrap, kgw_topic, 5000) == [None]
    assert [(r[1], len(r[3])) for r in read_all(kgw_bootstrap, kgw_topic)] == [(0, 100), (1, 5000)]


def test_incremental_alter_configs_list_operations_and_errors(kgw_bootstrap, kgw_topic):
    KafkaError, admin_api = ck().KafkaError, ck().admin
    with admin(kgw_bootstrap) as adm:
        # APPEND starts from the default (delete) and adds only what is missing.
        assert _incremental(adm, kgw_topic, ("cleanup.policy", "APPEND", "compact")) is None
        _expect_configs(adm, kgw_topic, {"cleanup.policy": ("delete,compact", TOPIC_CONFIG)})
        assert _incremental(adm, kgw_topic, ("cleanup.policy", "APPEND", "compact")) is None
        _expect_configs(adm, kgw_topic, {"cleanup.policy": ("delete,compact", TOPIC_CONFIG)})
        # Kafka 4 accepts an empty cleanup.policy (keep everything).
        assert _incremental(adm, kgw_topic, ("cleanup.policy", "SUBTRACT", "delete,compact")) is None
        _expect_configs(adm, kgw_topic, {"cleanup.policy": ("", TOPIC_CONFIG)})
        assert _incremental(adm, kgw_topic, ("cleanup.policy", "APPEND", "compact")) is None
        _expect_configs(adm, kgw_topic, {"cleanup.policy": ("compact", TOPIC_CONFIG)})
        # Deleting a name that is not set is a no-op, even an unknown one.
        assert _incremental(adm, kgw_topic, ("no.such.config", "DELETE", None)) is None

        for change in [("no.such.config", "SET", "1"),  # unknown name
                       ("max.message.bytes", "SET", "abc"),  # not an integer
                       ("segment.ms", "SET", "0"),  # below its minimum
                       ("max.message.bytes", "APPEND", "1")]:  # not a list
            assert _incremental(adm, kgw_topic, change) == KafkaError.INVALID_CONFIG, change
        assert _incremental(adm, kgw_topic, ("segment.ms", "SET", "x"),
                            validate_only=True) == KafkaError.INVALID_CONFIG
        # A resource's changes are made all together or not at all.
        assert _incremental(adm, kgw_topic, ("segment.ms", "SET", "100000"),
                            ("max.message.bytes", "SET", "-1")) == KafkaError.INVALID_CONFIG

        SET = admin_api.AlterConfigOpType.SET
        futures = adm.incremental_alter_configs([
            admin_api.ConfigResource("topic", kgw_topic + "-missing", incremental_configs=[
                admin_api.ConfigEntry("segment.ms", "100000", incremental_operation=SET)]),
            # Read-only on the broker, as in Kafka (a startup setting).
            admin_api.ConfigResource("broker", "0", incremental_configs=[
                admin_api.ConfigEntry("num.partitions", "3", incremental_operation=SET)]),
        ], request_timeout=10)
        assert _outcomes(futures) == {kgw_topic + "-missing": KafkaError.UNKNOWN_TOPIC_OR_PART,
                                      "0": KafkaError.INVALID_REQUEST}

        _expect_configs(adm, kgw_topic, {
            "cleanup.policy": ("compact", TOPIC_CONFIG), "segment.ms": ("604800000", DEFAULT_CONFIG),
            "max.message.bytes": ("1048588", DEFAULT_CONFIG)})


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
@pytest.mark.kgw_topic(configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
def test_alter_configs_replaces_every_override(kgw_bootstrap, kgw_topic):
    ConfigResource, KafkaError = ck().admin.ConfigResource, ck().KafkaError

    def alter(configs, **options):
        resource = ConfigResource("topic", kgw_topic, set_config=configs)
        return _outcomes(adm.alter_configs([resource], request_timeout=10, **options))[kgw_topic]

    with admin(kgw_bootstrap) as adm:
        # Configs not named go back to their defaults.
        assert alter({"max.message.bytes": "2000"}) is None
        only_max_message_bytes = {
            "max.message.bytes": ("2000", TOPIC_CONFIG), "retention.ms": ("604800000", DEFAULT_CONFIG),
            "cleanup.policy": ("delete", DEFAULT_CONFIG)}
        _expect_configs(adm, kgw_topic, only_max_message_bytes)
        assert _produce_sizes(kgw_bootstrap, kgw_topic, 5000) == [KafkaError.MSG_SIZE_TOO_LARGE]

        # Neither a dry run nor a refused change alters anything.
        assert alter({"retention.ms": "1000"}, validate_only=True) is None
        assert alter({"max.message.bytes": "3000", "no.such.config": "1"}) == KafkaError.INVALID_CONFIG
        assert alter({"max.message.bytes": "3000", "retention.ms": "-2"}) == KafkaError.INVALID_CONFIG
        _expect_configs(adm, kgw_topic, only_max_message_bytes)

        # No configs at all: every override goes.
        assert alter({}) is None
        _expect_configs(adm, kgw_topic, {
            "max.message.bytes": ("1048588", DEFAULT_CONFIG), "retention.ms": ("604800000", DEFAULT_CONFIG),
            "cleanup.policy": ("delete", DEFAULT_CONFIG)})
        assert _produce_sizes(kgw_bootstrap, kgw_topic, 5000) == [None]


@pytest.mark.kgw_topic(configs={"segment.ms": "100000"})
def test_broker_configs_are_dynamic_defaults_of_every_topic(kgw_bootstrap, kgw_topic):
    """log.retention.ms and message.max.bytes set for broker 0 become the
    topic's at once, with Kafka's sources; the session's broker gets its
    defaults back at the end. (confluent-kafka cannot name the
    cluster-wide resource, ""; compat/kafka_python does.)"""
    KafkaError = ck().KafkaError
    dynamic = {"retention.ms": ("3600000", BROKER_CONFIG), "max.message.bytes": ("2000", BROKER_CONFIG),
               "segment.ms": ("100000", TOPIC_CONFIG)}
    defaults = {"retention.ms": ("604800000", DEFAULT_CONFIG), "max.message.bytes": ("1048588", DEFAULT_CONFIG),
                "segment.ms": ("100000", TOPIC_CONFIG)}
    with admin(kgw_bootstrap) as adm:
        try:
            assert _alter_broker(adm, "0", ("log.retention.ms", "SET", "3600000"),
                                 ("message.max.bytes", "SET", "2000")) is None
            _expect_configs(adm, kgw_topic, dynamic)
            assert _broker_configs(adm, "0", ["log.retention.ms", "log.retention.hours", "message.max.bytes"]) == {
                "log.retention.ms": ("3600000", BROKER_CONFIG), "log.retention.hours": ("168", DEFAULT_CONFIG),
                "message.max.bytes": ("2000", BROKER_CONFIG)}
            too_large = [KafkaError.MSG_SIZE_TOO_LARGE]
            assert eventually(lambda: _produce_sizes(kgw_bootstrap, kgw_topic, 5000), too_large) == too_large
        finally:
            _alter_broker(adm, "0", ("log.retention.ms", "DELETE", None), ("message.max.bytes", "DELETE", None))
        _expect_configs(adm, kgw_topic, defaults)
        assert eventually(lambda: _produce_sizes(kgw_bootstrap, kgw_topic, 5000), [None]) == [None]
