"""The broker resource of DescribeConfigs, AlterConfigs and
IncrementalAlterConfigs: every broker config Apache Kafka 4.4 lists for one
node (kgw.log.broker_catalog), with the values kgw acts on.

- The broker configs that are topic configs' defaults (log.retention.ms,
  message.max.bytes, compression.type, ...) are dynamic, as in Kafka: set
  for this broker (its node id) or cluster-wide (""), kept in the data dir
  and applied at once (kgw.log.config_layers).
- What kgw takes from its command line (listeners, num.partitions,
  group.initial.rebalance.delay.ms, ...) and the few things kgw does
  otherwise than Kafka's defaults say (no log cleaner, classic groups
  only, one replica of everything) are described with kgw's values,
  read-only.
- Every other config is described with Kafka's default, read-only: kgw has
  no use for it (TLS, Kerberos, the controller quorum, tiered storage,
  share groups, thread pools, ...).  Kafka lets some of these change at
  runtime; kgw refuses them as Kafka refuses a read-only config.
- A name Kafka does not know may be set, as Kafka allows it (for plugins):
  kept, described as Kafka describes it (type unknown, so sensitive), and
  meaning nothing.

A value that comes from the command line is STATIC_BROKER_CONFIG where it
is not Kafka's default, with Kafka's default among its synonyms, as a
Kafka started with that setting in server.properties describes it; the
listeners, node id, roles and log dir are always static, as Kafka requires
them in server.properties.
"""

from typing import TYPE_CHECKING, Iterable, Mapping

from protocol.error_codes import ErrorCode

from .log import ConfigEntry, ConfigOp, ConfigSource, ConfigSynonym, ConfigType, LogError
from .log.broker_catalog import KAFKA_BROKER_CONFIGS, KAFKA_DEFAULTS, TYPES
from .log.config import BY_SYNONYM, list_changes, parse_value
from .log.config_layers import BROKER, CLUSTER, ELR_CONFIG, LOG_NAMES

if TYPE_CHECKING:
    from .broker import Broker

# What may change at runtime: the topic configs' broker defaults.
DYNAMIC = frozenset(BY_SYNONYM)
_UNUSED = "Apache Kafka's setting; kgw has no use for it and reports Kafka's default."
_ALWAYS_STATIC = frozenset({"advertised.listeners", "listeners", "node.id", "broker.id",
                            "process.roles", "log.dirs"})
_OWN_DOCS = {
    "advertised.listeners": "What clients are told to connect to (kgw serve --advertised-host/-port).",
    "listeners": "The one listener kgw serves (kgw serve --host/--port).",
    "node.id": "The node id kgw answers as.",
    "broker.id": "The node id kgw answers as.",
    "process.roles": "kgw is broker and controller of its one-node cluster.",
    "log.dirs": "kgw's data directory (kgw serve --data-dir).",
    "num.partitions": "Partitions of a topic created without a count (kgw serve --num-partitions).",
    "auto.create.topics.enable": "Whether Metadata may create topics (kgw serve --auto-create-topics).",
    "socket.request.max.bytes": "Largest request accepted (kgw serve --max-request-size).",
    "log.retention.check.interval.ms": "How often retention runs (kgw serve --retention-check-interval-ms).",
    "group.initial.rebalance.delay.ms": "How long a new group waits for members "
                                        "(kgw serve --group-initial-rebalance-delay-ms).",
    "offsets.retention.minutes": "How long an empty group's offsets are kept "
                                 "(kgw serve --offsets-retention-minutes).",
    "group.max.size": "Most members a group may have.",
    "transaction.max.timeout.ms": "Longest transaction timeout allowed (kgw serve --transaction-max-timeout-ms).",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms":
        "How often timed-out transactions are aborted (kgw serve --transaction-abort-check-interval-ms).",
    "max.connections": "Most client connections kgw keeps open.",
    "offsets.topic.replication.factor": "One node keeps one copy of committed offsets.",
    "transaction.state.log.replication.factor": "One node keeps one copy of transaction state.",
    "transaction.state.log.min.isr": "One node keeps one copy of transaction state.",
    "share.coordinator.state.topic.replication.factor": "One node would keep one copy of share-group state "
                                                        "(kgw has no share groups).",
    "share.coordinator.state.topic.min.isr": "One node would keep one copy of share-group state "
                                             "(kgw has no share groups).",
    "sasl.enabled.mechanisms": "The SASL mechanisms kgw serve --sasl-user enables.",
    "log.cleaner.enable": "kgw compacts nothing (cleanup.policy=compact is accepted).",
    "group.coordinator.rebalance.protocols": "kgw serves the classic group protocol only.",
}


def _own_values(broker: "Broker") -> dict[str, str | None]:
    config = broker.config
    listener = "SASL_PLAINTEXT" if config.sasl_users else "PLAINTEXT"
    values = {
        "advertised.listeners": f"{listener}://{broker.advertised_host}:{broker.advertised_port}",
        "listeners": f"{listener}://{broker.listen_host}:{broker.listen_port}",
        "node.id": str(broker.node_id),
        "broker.id": str(broker.node_id),
        "process.roles": "broker,controller",
        "log.dirs": str(broker.log.data_dir.resolve()),
        "num.partitions": str(config.num_partitions),
        "auto.create.topics.enable": str(config.auto_create_topics).lower(),
        "socket.request.max.bytes": str(config.max_request_size),
        "log.retention.check.interval.ms": str(config.retention_check_interval_ms),
        "group.initial.rebalance.delay.ms": str(config.group_initial_rebalance_delay_ms),
        "offsets.retention.minutes": str(config.offsets_retention_minutes),
        "group.max.size": (KAFKA_DEFAULTS["group.max.size"] if config.group_max_size is None
                           else str(config.group_max_size)),
        "transaction.max.timeout.ms": str(config.transaction_max_timeout_ms),
        "transaction.abort.timed.out.transaction.cleanup.interval.ms":
            str(config.transaction_abort_check_interval_ms),
        "max.connections": str(config.max_connections),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # What a one-node Kafka must set (its own example config does), or
        # it could not create the topic's partitions.
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "log.cleaner.enable": "false",
        "group.coordinator.rebalance.protocols": "classic",
    }
    if config.sasl_users:
        values["sasl.enabled.mechanisms"] = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    return values


def _entry(name: str, value: str | None, synonyms: list[ConfigSynonym], doc: str) -> ConfigEntry:
    kind = TYPES.get(name, ConfigType.UNKNOWN)
    # Kafka hides passwords, and whatever it cannot type.
    sensitive = kind in (ConfigType.PASSWORD, ConfigType.UNKNOWN)
    if sensitive:
        value = None
        synonyms = [ConfigSynonym(s.name, None, s.source) for s in synonyms]
    source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
    return ConfigEntry(name, value, source, name not in DYNAMIC, kind, doc, tuple(synonyms), sensitive)


def _unknown(layer: Mapping[str, str]) -> list[str]:
    return sorted(name for name in layer if name not in TYPES)


def describe_broker(broker: "Broker") -> list[ConfigEntry]:
    """DescribeConfigs of this broker (its node id)."""
    layers = broker.log.layers
    own = _own_values(broker)
    entries = []
    for name, _, default in KAFKA_BROKER_CONFIGS:
        defaults = [ConfigSynonym(name, default, ConfigSource.DEFAULT_CONFIG)] if default is not None else []
        if name in LOG_NAMES:
            value, synonyms = layers.broker_value(name), layers.synonyms(name)
            doc = BY_SYNONYM[name].doc if name in BY_SYNONYM else _UNUSED
        elif name in own:
            value, doc = own[name], _OWN_DOCS[name]
            static = name in _ALWAYS_STATIC or value != default
            synonyms = ([ConfigSynonym(name, value, ConfigSource.STATIC_BROKER_CONFIG)] if static else []) + defaults
        else:
            value, synonyms, doc = default, defaults, _UNUSED
        entries.append(_entry(name, value, synonyms, doc))
    for name in sorted(set(_unknown(layers.dynamic[BROKER])) | set(_unknown(layers.dynamic[CLUSTER]))):
        entries.append(_entry(name, None, layers.synonyms(name), "Unknown to Kafka and kgw."))
    return entries


def describe_cluster_defaults(broker: "Broker") -> list[ConfigEntry]:
    """DescribeConfigs of the "" resource: the cluster-wide dynamic configs set."""
    layers = broker.log.layers
    only = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
    return [_entry(name, value, layers.synonyms(name, only=only),
                   BY_SYNONYM[name].doc if name in BY_SYNONYM else "Unknown to Kafka and kgw.")
            for name, value in sorted(layers.dynamic[CLUSTER].items())]


def level_of(resource_name: str) -> str:
    return CLUSTER if resource_name == "" else BROKER


def read_only_refusal(names: Iterable[str]) -> LogError | None:
    """Kafka's refusal of configs it cannot change at runtime; kgw's list
    is longer (see the module's doc)."""
    fixed = [name for name in names if name in TYPES and name not in DYNAMIC]
    if not fixed:
        return None
    return LogError(ErrorCode.INVALID_REQUEST, f"Cannot update these configs dynamically: [{', '.join(fixed)}]")


def elr_refusal(level: str, configs: Mapping[str, str], named: Iterable[str]) -> LogError | None:
    """Kafka 4.4's refusals while eligible leader replicas keep
    min.insync.replicas cluster-wide (KIP-966): the cluster layer must keep
    it, and no broker may set or delete its own."""
    if level == CLUSTER and ELR_CONFIG not in configs:
        return LogError(ErrorCode.INVALID_CONFIG,
                        f"Cluster-level {ELR_CONFIG} cannot be removed while ELR is enabled.")
    if level == BROKER and ELR_CONFIG in named:
        return LogError(ErrorCode.INVALID_CONFIG,
                        f"Broker-level {ELR_CONFIG} cannot be altered while ELR is enabled.")
    return None


def apply_broker_changes(broker: "Broker", current: Mapping[str, str],
                         changes: Iterable[tuple[str, int, str | None]]) -> dict[str, str]:
    """One dynamic layer after IncrementalAlterConfigs' changes, with
    Kafka's errors for the broker resource: APPEND and SUBTRACT only on a
    known list config, starting from its current value."""
    result = dict(current)
    for name, op, value in list_changes(result, changes):
        kind = TYPES.get(name)
        if kind is None:
            raise LogError(ErrorCode.INVALID_CONFIG, f"Unknown config name: {name}")
        if kind != ConfigType.LIST:
            raise LogError(ErrorCode.INVALID_CONFIG,
                           f"Config value {op.name.lower()} is not allowed for config key: {name}")
        definition = BY_SYNONYM.get(name)
        start = result.get(name, broker.log.layers.broker_value(name) or "")
        items = parse_value(definition, start) if definition else [i for i in start.split(",") if i]
        given = [item.strip() for item in value.split(",") if item.strip()]
        items = items + given if op == ConfigOp.APPEND else [i for i in items if i not in given]
        result[name] = ",".join(dict.fromkeys(items))
    return result
