"""Configs: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, and the
configs CreateTopics v5+ answers with. A change Kafka's controller takes
reaches its broker a moment later: a DescribeConfigs after one waits
(`showing`) for what both brokers will show."""

from protocol.messages import ALTER_CONFIGS, CREATE_TOPICS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS

from ..scenario import scenario, step
from .common import create, settle

TOPIC, BROKER, UNKNOWN_TYPE = 2, 4, 9
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
# Keys both brokers have: the comparison of whole lists is the
# describe-everything scenarios' business.
KEYS = ["retention.ms", "cleanup.policy", "max.message.bytes", "segment.bytes"]


UNLISTED = "<unlisted>"


def showing(values: dict):
    """An `until` for DescribeConfigs: every config named has that value
    (or is not listed, UNLISTED)."""
    def check(body) -> bool:
        listed = {c.name: c.value for r in body.results for c in r.configs}
        return all(listed.get(name, UNLISTED) == value for name, value in values.items())
    return check


def describe(version: int = 4, resource_type: int = TOPIC, name: str = "$t", keys=tuple(KEYS),
             showing_values: dict | None = None, **fields):
    return step(DESCRIBE_CONFIGS, version, {"resources": [
        {"resource_type": resource_type, "resource_name": name,
         "configuration_keys": None if keys is None else list(keys)}], **fields},
        until=showing(showing_values) if showing_values else None)


def alter(version: int = 2, configs=(), resource_type: int = TOPIC, name: str = "$t", validate_only=False):
    return step(ALTER_CONFIGS, version, {"resources": [{
        "resource_type": resource_type, "resource_name": name,
        "configs": [{"name": k, "value": v} for k, v in configs]}], "validate_only": validate_only})


def incremental(version: int = 1, changes=(), resource_type: int = TOPIC, name: str = "$t", validate_only=False):
    return step(INCREMENTAL_ALTER_CONFIGS, version, {"resources": [{
        "resource_type": resource_type, "resource_name": name,
        "configs": [{"name": k, "config_operation": op, "value": v} for k, op, v in changes]}],
        "validate_only": validate_only})


def create_with(version: int, configs: dict):
    return step(CREATE_TOPICS, version, {"topics": [{
        "name": "$t", "num_partitions": 1, "replication_factor": 1, "assignments": [],
        "configs": [{"name": k, "value": v} for k, v in configs.items()]}], "timeout_ms": 30000})


SCENARIOS = [
    *[scenario(f"describeconfigs.v{v}.topic", create("t", configs={"retention.ms": "3600000"}),
               describe(v), describe(v, include_synonyms=True))
      for v in range(1, 5)],
    scenario("describeconfigs.v3.documentation", create("t"), describe(3, include_documentation=True)),
    scenario("describeconfigs.topic-all", create("t"), describe(keys=None)),
    scenario("describeconfigs.broker-keys", describe(resource_type=BROKER, name="0",
                                                      keys=("num.partitions", "log.retention.hours"))),
    scenario("describeconfigs.broker-all", describe(resource_type=BROKER, name="0", keys=None)),
    scenario("describeconfigs.broker-default", describe(resource_type=BROKER, name="", keys=("num.partitions",))),
    scenario("describeconfigs.other-broker", describe(resource_type=BROKER, name="7", keys=("num.partitions",))),
    scenario("describeconfigs.unknown-topic", describe(name="$missing")),
    scenario("describeconfigs.invalid-topic-names", describe(name="bad$name"), describe(name=""),
             describe(name="x" * 250)),
    scenario("describeconfigs.unknown-resource-type", describe(resource_type=UNKNOWN_TYPE, name="x")),
    scenario("describeconfigs.unknown-key", create("t"), describe(keys=("no.such.config",))),
    *[scenario(f"createtopics.v{v}.configs", create_with(v, {"retention.ms": "3600000"}), settle("t"))
      for v in range(5, 8)],
    scenario("createtopics.invalid-config-value", create_with(5, {"retention.ms": "soon"})),
    scenario("createtopics.unknown-config", create_with(5, {"no.such.config": "1"})),
    scenario("createtopics.compression-gzip", create_with(5, {"compression.type": "gzip"})),
    *[scenario(f"alterconfigs.v{v}", create("t"), alter(v, [("retention.ms", "7200000")]),
               describe(showing_values={"retention.ms": "7200000"}),
               alter(v, []), describe(showing_values={"retention.ms": "604800000"}))
      for v in range(0, 3)],
    scenario("alterconfigs.unknown-config", create("t"), alter(configs=[("no.such.config", "1")])),
    scenario("alterconfigs.invalid-value", create("t"), alter(configs=[("retention.ms", "soon")]), describe()),
    scenario("alterconfigs.unknown-topic", alter(name="$missing", configs=[("retention.ms", "1000")])),
    scenario("alterconfigs.validate-only", create("t"), alter(configs=[("retention.ms", "5000")],
                                                              validate_only=True), describe()),
    scenario("alterconfigs.invalid-topic-names", alter(name="bad$name", configs=[("retention.ms", "1000")]),
             alter(name="", configs=[("retention.ms", "1000")]),
             incremental(name="bad$name", changes=[("retention.ms", SET, "5")]),
             incremental(name="", changes=[("retention.ms", SET, "5")])),
    *[scenario(f"incrementalalterconfigs.v{v}", create("t"),
               incremental(v, [("retention.ms", SET, "7200000"), ("cleanup.policy", APPEND, "compact")]),
               describe(showing_values={"retention.ms": "7200000", "cleanup.policy": "delete,compact"}),
               incremental(v, [("retention.ms", DELETE, None), ("cleanup.policy", SUBTRACT, "compact")]),
               describe(showing_values={"retention.ms": "604800000", "cleanup.policy": "delete"}))
      for v in range(0, 2)],
    scenario("incrementalalterconfigs.invalid-value", create("t"),
             incremental(changes=[("retention.ms", SET, "soon")])),
    scenario("incrementalalterconfigs.unknown-config", create("t"),
             incremental(changes=[("no.such.config", SET, "1")])),
    scenario("incrementalalterconfigs.append-to-scalar", create("t"),
             incremental(changes=[("retention.ms", APPEND, "5")])),
    # Kafka's controller fails on it and renounces its leadership a moment:
    # not beside other scenarios, and done once a topic can be made again.
    scenario("incrementalalterconfigs.unknown-operation", create("t"),
             incremental(changes=[("retention.ms", 7, "5")]), create("after", check=False), alone=True),
    scenario("incrementalalterconfigs.duplicate-key", create("t"),
             incremental(changes=[("retention.ms", SET, "5"), ("retention.ms", SET, "6")])),
    scenario("incrementalalterconfigs.unknown-topic", incremental(name="$missing",
                                                                  changes=[("retention.ms", SET, "5")])),
]
