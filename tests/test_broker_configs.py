"""The broker resource of DescribeConfigs, AlterConfigs and
IncrementalAlterConfigs, in process: Kafka 4.4's broker configs with
kgw's values, and the dynamic ones applied at once and kept.  Every
answer checked here was asked of Apache Kafka 4.4.0 first."""

import pytest

from kgw.log.broker_catalog import KAFKA_BROKER_CONFIGS
from protocol.error_codes import ErrorCode
from protocol.messages import ALTER_CONFIGS, CREATE_TOPICS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS, PRODUCE

from .server_harness import Client, running_server
from .test_server import create, incremental, produce, records

pytestmark = pytest.mark.trio

SET, DELETE, APPEND, SUBTRACT = range(4)
TOPIC, BROKER = 2, 4


async def describe(client, kind, name, keys=None):
    Resource = DESCRIBE_CONFIGS.Request.DescribeConfigsResource
    body = await client.call(DESCRIBE_CONFIGS, 4, DESCRIBE_CONFIGS.Request(resources=[
        Resource(resource_type=kind, resource_name=name, configuration_keys=keys)], include_synonyms=True))
    [result] = body.results
    return result


async def entries(client, kind, name, keys=None):
    result = await describe(client, kind, name, keys)
    assert (result.error_code, result.error_message) == (0, "")
    return {e.name: (e.value, e.read_only, e.config_source, [(s.name, s.value, s.source) for s in e.synonyms])
            for e in result.configs}


async def alter(client, name, configs, incremental_changes=None, validate_only=False):
    if incremental_changes is not None:
        body = await client.call(INCREMENTAL_ALTER_CONFIGS, 1, incremental(
            [(BROKER, name, incremental_changes)], validate_only=validate_only))
    else:
        Resource = ALTER_CONFIGS.Request.AlterConfigsResource
        body = await client.call(ALTER_CONFIGS, 2, ALTER_CONFIGS.Request(validate_only=validate_only, resources=[
            Resource(resource_type=BROKER, resource_name=name,
                     configs=[Resource.AlterableConfig(name=k, value=v) for k, v in configs.items()])]))
    [response] = body.responses
    return response.error_code, response.error_message


async def test_the_broker_describes_kafkas_configs_with_kgws_values(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        host, port = server.address
        result = await describe(client, BROKER, "0")
        configs = {e.name: e for e in result.configs}
        assert list(configs) == [name for name, _, _ in KAFKA_BROKER_CONFIGS]
        got = await entries(client, BROKER, "0")
        assert got["listeners"] == (f"PLAINTEXT://{host}:{port}", True, 4, [
            ("listeners", f"PLAINTEXT://{host}:{port}", 4), ("listeners", "PLAINTEXT://:9092", 5)])
        assert got["advertised.listeners"] == (f"PLAINTEXT://{host}:{port}", True, 4, [
            ("advertised.listeners", f"PLAINTEXT://{host}:{port}", 4)])
        assert got["node.id"] == ("0", True, 4, [("node.id", "0", 4)])
        assert got["num.partitions"] == ("1", True, 5, [("num.partitions", "1", 5)])
        assert got["group.initial.rebalance.delay.ms"] == ("0", True, 4, [
            ("group.initial.rebalance.delay.ms", "0", 4), ("group.initial.rebalance.delay.ms", "3000", 5)])
        # Kafka's own quirk: log.retention.ms has no value until set; the hours give it.
        assert got["log.retention.ms"] == (None, False, 5, [])
        assert got["log.retention.hours"] == ("168", True, 5, [("log.retention.hours", "168", 5)])
        assert got["message.max.bytes"] == ("1048588", False, 5, [("message.max.bytes", "1048588", 5)])
        # One replica of every internal topic, as a one-node Kafka sets it.
        for name in ("offsets.topic.replication.factor", "transaction.state.log.min.isr",
                     "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr"):
            assert got[name][:3] == ("1", True, 4)
        # Dynamic in Kafka, but nothing kgw could act on.
        assert got["num.io.threads"] == ("8", True, 5, [("num.io.threads", "8", 5)])
        assert configs["ssl.keystore.password"].is_sensitive and configs["ssl.keystore.password"].value is None
        assert configs["log.retention.ms"].config_type == 5 and configs["listeners"].config_type == 7
        # The cluster-wide resource lists only what is set there: from the
        # start, min.insync.replicas, as eligible leader replicas keep it.
        assert await entries(client, BROKER, "") == {
            "min.insync.replicas": ("1", False, 3, [("min.insync.replicas", "1", 3)])}


async def test_dynamic_configs_apply_at_once_and_survive_a_restart(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        assert await alter(client, "0", None, [("message.max.bytes", SET, "100"),
                                               ("log.retention.ms", SET, "1000")]) == (0, None)
        refused = (await client.call(PRODUCE, 9, produce("t", 0, records([b"x" * 400])))).responses[0]
        assert refused.partition_responses[0].error_code == ErrorCode.MESSAGE_TOO_LARGE
        assert await alter(client, "", None, [("log.retention.ms", SET, "2000"),
                                              ("log.cleanup.policy", APPEND, "compact")]) == (0, None)
        got = await entries(client, BROKER, "0", ["log.retention.ms", "log.cleanup.policy", "message.max.bytes"])
        assert got == {
            "log.retention.ms": ("1000", False, 2, [("log.retention.ms", "1000", 2), ("log.retention.ms", "2000", 3),
                                                    ("log.retention.hours", "168", 5)]),
            "log.cleanup.policy": ("delete,compact", False, 3, [("log.cleanup.policy", "delete,compact", 3),
                                                                ("log.cleanup.policy", "delete", 5)]),
            "message.max.bytes": ("100", False, 2, [("message.max.bytes", "100", 2),
                                                    ("message.max.bytes", "1048588", 5)])}
        assert await entries(client, BROKER, "") == {
            "log.cleanup.policy": ("delete,compact", False, 3, [("log.cleanup.policy", "delete,compact", 3)]),
            "log.retention.ms": ("2000", False, 3, [("log.retention.ms", "2000", 3)]),
            "min.insync.replicas": ("1", False, 3, [("min.insync.replicas", "1", 3)])}
        topic = await entries(client, TOPIC, "t", ["retention.ms"])
        assert topic["retention.ms"][:3] == ("1000", False, 2)
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        topic = await entries(client, TOPIC, "t", ["retention.ms", "max.message.bytes"])
        assert (topic["retention.ms"][0], topic["max.message.bytes"][0]) == ("1000", "100")
        # DELETE on this broker: the cluster-wide value shows through.
        assert await alter(client, "0", None, [("log.retention.ms", DELETE, None)]) == (0, None)
        topic = await entries(client, TOPIC, "t", ["retention.ms"])
        assert topic["retention.ms"][:3] == ("2000", False, 3)
        # The legacy AlterConfigs replaces the whole layer.
        assert await alter(client, "0", {"log.segment.bytes": "2000000"}) == (0, None)
        got = await entries(client, BROKER, "0", ["message.max.bytes", "log.segment.bytes"])
        assert (got["message.max.bytes"][:3], got["log.segment.bytes"][:3]) == (
            ("1048588", False, 5), ("2000000", False, 2))


async def test_what_the_broker_refuses_and_what_it_keeps(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        invalid_request = ErrorCode.INVALID_REQUEST
        for name in ("0", ""):
            assert await alter(client, name, None, [("num.partitions", SET, "3")]) == (
                invalid_request, "Cannot update these configs dynamically: [num.partitions]")
        # A resource's changes go together or not at all.
        assert await alter(client, "0", None, [("log.retention.ms", SET, "7000"),
                                               ("num.io.threads", SET, "2")]) == (
            invalid_request, "Cannot update these configs dynamically: [num.io.threads]")
        assert await alter(client, "0", None, [("log.retention.ms", SET, "abc")]) == (
            invalid_request, "Invalid value abc for configuration log.retention.ms: Not a number of type LONG")
        assert await alter(client, "0", None, [("log.retention.ms", APPEND, "1")]) == (
            ErrorCode.INVALID_CONFIG, "Config value append is not allowed for config key: log.retention.ms")
        assert await alter(client, "0", None, [("log.retention.ms", SUBTRACT, "1")]) == (
            ErrorCode.INVALID_CONFIG, "Config value subtract is not allowed for config key: log.retention.ms")
        assert await alter(client, "0", None, [("no.such.x", APPEND, "1")]) == (
            ErrorCode.INVALID_CONFIG, "Unknown config name: no.such.x")
        assert await alter(client, "0", None, [("log.retention.ms", 9, "1")]) == (
            invalid_request, "Unknown operations type 9")
        # Deleting what cannot be set is nothing to refuse.
        assert await alter(client, "0", None, [("num.partitions", DELETE, None)]) == (0, None)
        assert await alter(client, "1", None, [("log.retention.ms", SET, "1")]) == (
            invalid_request, "Unexpected broker id, expected 0, but received 1")
        assert await alter(client, "x", None, [("log.retention.ms", SET, "1")]) == (
            invalid_request, "Node id must be an integer, but it is: x")
        for name, message in (("1", "Unexpected broker id, expected 0 or empty string, but received 1"),
                              ("x", "Broker id must be an integer, but it is: x")):
            result = await describe(client, BROKER, name)
            assert (result.error_code, result.error_message, result.configs) == (invalid_request, message, [])
        assert await alter(client, "0", None, [("log.retention.ms", SET, "1")], validate_only=True) == (0, None)
        assert (await entries(client, BROKER, "0", ["log.retention.ms"]))["log.retention.ms"][0] is None

        # A name Kafka does not know is kept, as Kafka keeps it for
        # plugins, and described as Kafka describes what it cannot type.
        assert await alter(client, "0", None, [("custom.plugin.setting", SET, "x")]) == (0, None)
        result = await describe(client, BROKER, "0", ["custom.plugin.setting"])
        [entry] = result.configs
        assert (entry.value, entry.read_only, entry.config_source, entry.is_sensitive, entry.config_type,
                [(s.name, s.value, s.source) for s in entry.synonyms]) == (
            None, True, 2, True, 0, [("custom.plugin.setting", None, 2)])


async def test_eligible_leader_replicas_keep_min_insync_replicas_cluster_wide(tmp_path):
    """Kafka 4.4.0, formatted with eligible leader replicas (KIP-966, its
    default), keeps min.insync.replicas as a cluster-wide config: it can
    change there but not go, and no broker may have its own."""
    invalid_config = ErrorCode.INVALID_CONFIG
    removed = (invalid_config, "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.")
    altered = (invalid_config, "Broker-level min.insync.replicas cannot be altered while ELR is enabled.")
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        await client.call(CREATE_TOPICS, 7, create("t"))
        topic = await entries(client, TOPIC, "t", ["min.insync.replicas"])
        assert topic["min.insync.replicas"] == ("1", False, 3, [
            ("min.insync.replicas", "1", 3), ("min.insync.replicas", "1", 5)])
        assert await alter(client, "", None, [("min.insync.replicas", DELETE, None)]) == removed
        assert await alter(client, "", None, [("min.insync.replicas", DELETE, None)], validate_only=True) == removed
        # The legacy AlterConfigs replaces the whole layer: leaving it out removes it.
        assert await alter(client, "", {"log.retention.ms": "100000"}) == removed
        # Values are judged first.
        assert await alter(client, "", {"log.retention.ms": "soon"}) == (ErrorCode.INVALID_REQUEST, (
            "Invalid value soon for configuration log.retention.ms: Not a number of type LONG"))
        for changes in ([("min.insync.replicas", SET, "1")], [("min.insync.replicas", DELETE, None)]):
            assert await alter(client, "0", None, changes) == altered
        assert await alter(client, "0", {"min.insync.replicas": "1"}) == altered
        assert await alter(client, "", None, [("min.insync.replicas", SET, "2")]) == (0, None)
        topic = await entries(client, TOPIC, "t", ["min.insync.replicas"])
        assert topic["min.insync.replicas"][:3] == ("2", False, 3)
        assert await alter(client, "", {"min.insync.replicas": "1"}) == (0, None)
        assert await entries(client, BROKER, "") == {
            "min.insync.replicas": ("1", False, 3, [("min.insync.replicas", "1", 3)])}
