"""Configs: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs.
kafka-parity is changing kgw's answers here: differences are pending."""

from protocol.messages import ALTER_CONFIGS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS

from ..scenario import scenario, step
from .common import create

TOPIC, BROKER = 2, 4


def describe(version: int, resource_type: int = TOPIC, name: str = "$t", keys=None, **fields):
    return step(DESCRIBE_CONFIGS, version, {"resources": [
        {"resource_type": resource_type, "resource_name": name, "configuration_keys": keys}], **fields})


SCENARIOS = [
    scenario("describeconfigs.v4.topic-keys", create("t", configs={"retention.ms": "3600000"}),
             describe(4, keys=["retention.ms", "cleanup.policy"], include_synonyms=True)),
    scenario("describeconfigs.unknown-topic", describe(4, name="$missing")),
    scenario("alterconfigs.v2.unknown-config", create("t"),
             step(ALTER_CONFIGS, 2, {"resources": [{"resource_type": TOPIC, "resource_name": "$t",
                                                    "configs": [{"name": "no.such.config", "value": "1"}]}]})),
    scenario("incrementalalterconfigs.v1.set-invalid", create("t"),
             step(INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [{
                 "resource_type": TOPIC, "resource_name": "$t",
                 "configs": [{"name": "retention.ms", "config_operation": 0, "value": "soon"}]}]})),
]
