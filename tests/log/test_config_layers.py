"""The dynamic broker configs under the topics' own: they apply at once,
survive a restart, and are described with Kafka's synonyms (each case
checked against Apache Kafka 4.4.0)."""

import json

import pytest

from kgw.log import BrokerDefaults, ConfigSource, LogError
from kgw.log.config_layers import BROKER, BROKER_CONFIGS_FILE, CLUSTER
from protocol.error_codes import ErrorCode

from .helpers import make_batch

DYNAMIC, CLUSTER_DEFAULT, STATIC, DEFAULT = (
    ConfigSource.DYNAMIC_BROKER_CONFIG, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    ConfigSource.STATIC_BROKER_CONFIG, ConfigSource.DEFAULT_CONFIG)


def synonyms(layers, name, **only):
    return [(s.name, s.value, s.source) for s in layers.synonyms(name, **only)]


def described(topic, name):
    [entry] = [e for e in topic.describe_configs() if e.name == name]
    return entry.value, entry.source, [(s.name, s.value, s.source) for s in entry.synonyms]


def test_nothing_set_lists_no_synonym_before_the_configs_own_name(managers):
    """log.retention.ms has no default of its own (the hours give it), so
    Kafka lists no synonym for retention.ms until a layer sets it."""
    topic = managers().create_topic("t", 1)
    assert described(topic, "retention.ms") == ("604800000", DEFAULT, [])
    assert described(topic, "segment.ms") == ("604800000", DEFAULT, [])
    assert described(topic, "cleanup.policy") == ("delete", DEFAULT, [("log.cleanup.policy", "delete", DEFAULT)])
    layers = topic._layers
    assert (layers.broker_value("log.retention.ms"), synonyms(layers, "log.retention.ms")) == (None, [])
    assert (layers.broker_value("log.retention.hours"), synonyms(layers, "log.retention.hours")) == (
        "168", [("log.retention.hours", "168", DEFAULT)])


def test_the_layers_apply_at_once_in_kafkas_order(managers):
    manager = managers()
    topic = manager.create_topic("t", 1, {"segment.ms": "100000"})
    partition = topic.partitions[0]
    manager.alter_broker_configs(BROKER, {"log.retention.ms": "1000", "log.roll.ms": "7000",
                                          "message.max.bytes": "100"})
    manager.alter_broker_configs(CLUSTER, {"log.retention.ms": "2000", "log.cleanup.policy": "delete,compact"})
    with pytest.raises(LogError) as err:
        partition.append(make_batch(value_size=500))
    assert err.value.code == ErrorCode.MESSAGE_TOO_LARGE
    assert (topic.log_config.retention_ms, topic.log_config.segment_ms, topic.log_config.compact_policy) == (
        1000, 100000, True)
    assert described(topic, "retention.ms") == ("1000", DYNAMIC, [
        ("log.retention.ms", "1000", DYNAMIC), ("log.retention.ms", "2000", CLUSTER_DEFAULT),
        ("log.retention.hours", "168", DEFAULT)])
    assert described(topic, "segment.ms") == ("100000", ConfigSource.TOPIC_CONFIG, [
        ("segment.ms", "100000", ConfigSource.TOPIC_CONFIG), ("log.roll.ms", "7000", DYNAMIC),
        ("log.roll.hours", "168", DEFAULT)])
    assert described(topic, "cleanup.policy") == ("delete,compact", CLUSTER_DEFAULT, [
        ("log.cleanup.policy", "delete,compact", CLUSTER_DEFAULT), ("log.cleanup.policy", "delete", DEFAULT)])
    # The cluster-wide resource lists its own layer only.
    assert synonyms(manager.layers, "log.retention.ms", only=CLUSTER_DEFAULT) == [
        ("log.retention.ms", "2000", CLUSTER_DEFAULT)]

    manager.alter_broker_configs(BROKER, {})
    assert topic.log_config.retention_ms == 2000
    assert described(topic, "retention.ms")[:2] == ("2000", CLUSTER_DEFAULT)
    assert partition.append(make_batch(value_size=500)).base_offset == 0


def test_a_static_value_sits_under_the_dynamic_ones(managers):
    manager = managers(defaults=BrokerDefaults(topic_configs={"retention.ms": "3600000"}))
    topic = manager.create_topic("t", 1)
    manager.alter_broker_configs(CLUSTER, {"log.retention.ms": "2000"})
    assert described(topic, "retention.ms") == ("2000", CLUSTER_DEFAULT, [
        ("log.retention.ms", "2000", CLUSTER_DEFAULT), ("log.retention.ms", "3600000", STATIC),
        ("log.retention.hours", "168", DEFAULT)])


def test_the_layers_survive_a_restart_and_a_bad_stored_value_is_dropped(managers):
    manager = managers()
    manager.create_topic("t", 1)
    manager.alter_broker_configs(BROKER, {"log.retention.ms": "1000", "custom.plugin.setting": "x"})
    manager.alter_broker_configs(CLUSTER, {"message.max.bytes": "5000"})
    manager.close()
    path = manager.data_dir / BROKER_CONFIGS_FILE
    stored = json.loads(path.read_text())
    assert stored == {"format_version": 1, "cluster": {"message.max.bytes": "5000"},
                      "broker": {"log.retention.ms": "1000", "custom.plugin.setting": "x"}}
    stored["cluster"]["log.segment.bytes"] = "12"
    path.write_text(json.dumps(stored))
    again = managers()
    # min.insync.replicas comes back to the cluster layer (see below).
    assert again.layers.dynamic == {CLUSTER: {"message.max.bytes": "5000", "min.insync.replicas": "1"},
                                    BROKER: {"log.retention.ms": "1000", "custom.plugin.setting": "x"}}
    topic = again.topic("t")
    assert (topic.log_config.retention_ms, topic.log_config.max_message_bytes) == (1000, 5000)


@pytest.mark.parametrize("configs, message", [
    ({"log.segment.bytes": "100"},
     "Invalid value 100 for configuration log.segment.bytes: Value must be at least 1048576"),
    ({"log.retention.bytes": "abc"},
     "Invalid value abc for configuration log.retention.bytes: Not a number of type LONG"),
    ({"log.cleaner.min.cleanable.ratio": "2"},
     "Invalid value 2.0 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1"),
    ({"log.roll.ms": "0"}, "requirement failed: log.roll.ms must be greater than or equal to 1"),
    ({"log.message.timestamp.type": "x"},
     "Invalid value x for configuration log.message.timestamp.type: String must be one of: CreateTime, "
     "LogAppendTime"),
])
def test_refused_values_change_nothing(managers, configs, message):
    manager = managers()
    manager.alter_broker_configs(BROKER, {"log.retention.ms": "1000"})
    with pytest.raises(LogError) as err:
        manager.alter_broker_configs(BROKER, configs)
    assert (err.value.code, err.value.message) == (ErrorCode.INVALID_REQUEST, message)
    assert manager.layers.dynamic[BROKER] == {"log.retention.ms": "1000"}


def test_kafkas_broker_validators_are_its_own(managers):
    """Kafka checks log.retention.ms and log.flush.interval.ms less than the
    topic configs they default: -5 is taken (and means no limit)."""
    manager = managers()
    topic = manager.create_topic("t", 1)
    manager.alter_broker_configs(BROKER, {"log.retention.ms": "-5", "log.flush.interval.ms": "-1"})
    assert topic.log_config.retention_ms == -5


def test_validate_only_changes_nothing(managers):
    manager = managers()
    manager.alter_broker_configs(BROKER, {"log.retention.ms": "1000"}, validate_only=True)
    assert manager.layers.dynamic == {CLUSTER: {"min.insync.replicas": "1"}, BROKER: {}}
    assert not (manager.data_dir / BROKER_CONFIGS_FILE).exists()


def test_min_insync_replicas_is_always_a_cluster_wide_dynamic_config(managers):
    """A Kafka 4.4 cluster is formatted with eligible leader replicas, which
    add min.insync.replicas to the cluster-wide configs from the static
    value: every topic describes it as DYNAMIC_DEFAULT_BROKER_CONFIG."""
    manager = managers()
    topic = manager.create_topic("t", 1)
    assert described(topic, "min.insync.replicas") == ("1", CLUSTER_DEFAULT, [
        ("min.insync.replicas", "1", CLUSTER_DEFAULT), ("min.insync.replicas", "1", DEFAULT)])
    manager.close()
    static = managers(defaults=BrokerDefaults(topic_configs={"min.insync.replicas": "2"}))
    assert static.layers.dynamic[CLUSTER] == {"min.insync.replicas": "2"}
