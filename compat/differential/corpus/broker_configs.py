"""The broker resource of DescribeConfigs, AlterConfigs and
IncrementalAlterConfigs: this broker (its node id, "0") and the
cluster-wide defaults (""). A change there is seen by every topic, so
these scenarios run alone, after the others, and each puts back what it
changed; a DescribeConfigs after a change waits until it shows, as Kafka's
broker applies what its controller took a moment later."""

from protocol.compression import Codec

from ..scenario import Batch, scenario
from .common import create, fetch, produce
from .configs import APPEND, BROKER, DELETE, SET, UNLISTED, alter, describe, incremental

THIS, CLUSTER = "0", ""
KAFKA_RETENTION_MS = "604800000"


def change(name: str, *changes, validate_only: bool = False, **options):
    """IncrementalAlterConfigs of the broker resource `name`."""
    return incremental(resource_type=BROKER, name=name, changes=changes, validate_only=validate_only, **options)


def broker(name: str, keys, showing_values: dict | None = None):
    """The broker resource's configs `keys` (None: all), with synonyms."""
    return describe(resource_type=BROKER, name=name, keys=keys, include_synonyms=True,
                    showing_values=showing_values)


def topic(keys, showing_values: dict | None = None):
    return describe(keys=keys, include_synonyms=True, showing_values=showing_values)


RETENTION = ("log.retention.ms", "log.retention.hours")


SCENARIOS = [
    # This broker's own values sit over the cluster-wide ones, which sit
    # over Kafka's defaults; each topic without an override follows.
    scenario("brokerconfigs.this-broker", create("t"),
             change(THIS, ("log.retention.ms", SET, "3600000"), ("message.max.bytes", SET, "2000")),
             broker(THIS, (*RETENTION, "message.max.bytes"), {"log.retention.ms": "3600000"}),
             topic(("retention.ms", "max.message.bytes"), {"retention.ms": "3600000", "max.message.bytes": "2000"}),
             produce("t", Batch((b"x" * 5000,)), until=lambda r: r.responses[0].partition_responses[0].error_code),
             change(THIS, ("log.retention.ms", DELETE, None), ("message.max.bytes", DELETE, None)),
             broker(THIS, (*RETENTION, "message.max.bytes"), {"log.retention.ms": None}),
             topic(("retention.ms", "max.message.bytes"), {"retention.ms": KAFKA_RETENTION_MS}),
             alone=True),
    scenario("brokerconfigs.cluster-wide", create("t"),
             change(CLUSTER, ("log.retention.ms", SET, "7200000"), ("log.cleanup.policy", APPEND, "compact")),
             broker(CLUSTER, None, {"log.retention.ms": "7200000"}),
             broker(THIS, (*RETENTION, "log.cleanup.policy"), {"log.retention.ms": "7200000"}),
             topic(("retention.ms", "cleanup.policy"), {"cleanup.policy": "delete,compact"}),
             change(THIS, ("log.retention.ms", SET, "3600000")),
             topic(("retention.ms",), {"retention.ms": "3600000"}),
             # This broker's value gone, the cluster-wide one shows through.
             change(THIS, ("log.retention.ms", DELETE, None)),
             topic(("retention.ms",), {"retention.ms": "7200000"}),
             change(CLUSTER, ("log.retention.ms", DELETE, None), ("log.cleanup.policy", DELETE, None)),
             broker(CLUSTER, None, {"log.retention.ms": UNLISTED, "log.cleanup.policy": UNLISTED}),
             topic(("retention.ms", "cleanup.policy"), {"retention.ms": KAFKA_RETENTION_MS}),
             alone=True),
    scenario("brokerconfigs.validate-only", change(THIS, ("log.retention.ms", SET, "1000"), validate_only=True),
             change(CLUSTER, ("log.retention.ms", SET, "1000"), validate_only=True),
             broker(THIS, RETENTION), broker(CLUSTER, None), alone=True),
    # The legacy AlterConfigs replaces a whole layer. log.retention.hours is
    # read-only in Kafka: only log.retention.ms changes at runtime.
    scenario("alterconfigs.broker", alter(resource_type=BROKER, name=THIS, configs=[("log.retention.hours", "1")]),
             alter(resource_type=BROKER, name=THIS, configs=[("log.retention.ms", "3600000")]),
             broker(THIS, RETENTION, {"log.retention.ms": "3600000"}),
             alter(resource_type=BROKER, name=THIS, configs=[("log.segment.bytes", "2000000")]),
             broker(THIS, (*RETENTION, "log.segment.bytes"), {"log.segment.bytes": "2000000",
                                                               "log.retention.ms": None}),
             alter(resource_type=BROKER, name=THIS),
             broker(THIS, (*RETENTION, "log.segment.bytes"), {"log.segment.bytes": "1073741824"}),
             alone=True),
    scenario("alterconfigs.cluster-wide", alter(resource_type=BROKER, name=CLUSTER, configs=[
                 ("min.insync.replicas", "1"), ("log.retention.ms", "3600000")]),
             broker(CLUSTER, None, {"log.retention.ms": "3600000"}),
             alter(resource_type=BROKER, name=CLUSTER, configs=[("min.insync.replicas", "1")]),
             broker(CLUSTER, None, {"log.retention.ms": UNLISTED}),
             alone=True),
    scenario("incrementalalterconfigs.broker", change(THIS, ("log.retention.hours", SET, "1")),
             change(THIS, ("log.retention.ms", SET, "3600000")),
             broker(THIS, RETENTION, {"log.retention.ms": "3600000"}),
             change(THIS, ("log.retention.ms", DELETE, None)),
             broker(THIS, RETENTION, {"log.retention.ms": None}), alone=True),
    # Eligible leader replicas (KIP-966, on in a Kafka 4.4 cluster) keep
    # min.insync.replicas cluster-wide: it can change there, not go.
    scenario("brokerconfigs.min-insync-replicas", create("t"),
             broker(CLUSTER, None), broker(THIS, ("min.insync.replicas",)), topic(("min.insync.replicas",)),
             change(CLUSTER, ("min.insync.replicas", DELETE, None)),
             alter(resource_type=BROKER, name=CLUSTER),
             alter(resource_type=BROKER, name=CLUSTER, configs=[("log.retention.hours", "1")]),
             change(THIS, ("min.insync.replicas", SET, "1")),
             change(THIS, ("min.insync.replicas", DELETE, None)),
             change(CLUSTER, ("min.insync.replicas", APPEND, "1")),
             change(CLUSTER, ("min.insync.replicas", SET, "0")),
             change(CLUSTER, ("min.insync.replicas", SET, "2")),
             topic(("min.insync.replicas",), {"min.insync.replicas": "2"}),
             change(CLUSTER, ("min.insync.replicas", SET, "1")),
             broker(CLUSTER, None, {"min.insync.replicas": "1"}),
             alone=True),
    # A name Kafka does not know is kept (for plugins), typed UNKNOWN and
    # so sensitive.
    scenario("brokerconfigs.unknown-name", change(THIS, ("custom.plugin.setting", SET, "x")),
             broker(THIS, ("custom.plugin.setting",), {"custom.plugin.setting": None}),
             change(THIS, ("custom.plugin.setting", DELETE, None)),
             alone=True),
    scenario("brokerconfigs.refused", change(THIS, ("log.retention.ms", SET, "soon")),
             change(THIS, ("log.segment.bytes", SET, "100")),
             change(THIS, ("log.retention.ms", APPEND, "1")),
             change(THIS, ("no.such.config", APPEND, "1")),
             change(CLUSTER, ("log.roll.ms", SET, "0")),
             change(THIS, ("num.partitions", SET, "3")),
             change(THIS, ("log.retention.ms", SET, "1000"), ("num.partitions", SET, "3")),
             change("1", ("log.retention.ms", SET, "1000")),
             change("x", ("log.retention.ms", SET, "1000")),
             broker(THIS, RETENTION), alone=True),
    # Kafka lets one broker change its I/O threads; kgw has none to change.
    scenario("brokerconfigs.read-only-broker-config", change(THIS, ("num.io.threads", SET, "8")),
             change(THIS, ("num.io.threads", DELETE, None)), alone=True),
    # The cluster-wide compression.type: a topic without its own takes it,
    # and a batch produced uncompressed is stored (and fetched) in gzip.
    scenario("brokerconfigs.compression-type", create("t"),
             change(CLUSTER, ("compression.type", SET, "gzip")),
             topic(("compression.type",), {"compression.type": "gzip"}),
             produce("t", Batch((b"a" * 100, b"b"), keys=(b"k", None))), fetch("t"),
             change(CLUSTER, ("compression.type", DELETE, None)),
             topic(("compression.type",), {"compression.type": "producer"}),
             produce("t", Batch((b"c",), codec=Codec.SNAPPY)), fetch("t", offset=2),
             alone=True),
]
