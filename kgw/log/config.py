"""Topic configs: Kafka 4.x names, types, defaults and validation; broker defaults.

A topic's effective config is its overrides over the broker's layers
(config_layers) over Kafka's defaults, exactly as DescribeConfigs reports
it.  Every Kafka topic config a client may set is accepted and described,
with Kafka's validators and their messages.  Those whose doc starts with
"Unused" are accepted so that tools creating topics with them keep
working, and mean nothing for a single node without compaction or tiered
storage (min.insync.replicas is the server's concern).
`remote.storage.enable=true`, which kgw cannot honour, is refused as a
Kafka without tiered storage refuses it.  A compression.type other than
`producer` has batches rebuilt in that codec (recompression).
`cleanup.policy=compact` is accepted but no compaction is performed: such a
topic keeps everything its retention keeps, and refuses records without a
key, as Kafka's does.
"""

import enum
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping

from protocol.compression import Codec
from protocol.error_codes import ErrorCode

from .errors import LogError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


class ConfigType(enum.IntEnum):
    """DescribeConfigs' config_type (v3+)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ConfigSource(enum.IntEnum):
    """DescribeConfigs' config_source."""

    TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5


@dataclass(frozen=True)
class ConfigSynonym:
    name: str
    value: str | None
    source: ConfigSource


@dataclass(frozen=True)
class ConfigEntry:
    """One DescribeConfigs result entry, for any version of the API."""

    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    config_type: ConfigType
    documentation: str
    synonyms: tuple[ConfigSynonym, ...] = ()
    sensitive: bool = False

    @property
    def is_default(self) -> bool:
        return self.source == ConfigSource.DEFAULT_CONFIG


class Refusal(str):
    """A check's answer that is Kafka's whole error message, not a reason
    to put after "Invalid value V for configuration N: "."""


Check = Callable[[object], str | None]


@dataclass(frozen=True)
class ConfigDef:
    name: str
    type: ConfigType
    default: str | None
    # The broker config that supplies the default (Kafka's
    # ServerTopicConfigSynonyms); None where Kafka has none.
    synonym: str | None
    doc: str
    # Returns why a parsed value is refused, or None.
    check: Check = lambda value: None
    internal: bool = False
    # Where the broker config (`synonym`) is checked otherwise than the
    # topic config: Kafka's broker ConfigDef has validators of its own.
    broker_check: Check | None = None


# Kafka's ConfigDef validators, with their messages.
def _at_least(low):
    return lambda v: None if v >= low else f"Value must be at least {low}"


def _between(low, high):
    return lambda v: (f"Value must be at least {low}" if v < low
                      else f"Value must be no more than {high}" if v > high else None)


def _one_of(*choices):
    return lambda v: None if v in choices else f"String must be one of: {', '.join(choices)}"


def _each_of(*choices):
    def check(values):
        bad = [v for v in values if v not in choices]
        return f"String must be one of: {', '.join(choices)}" if bad else None
    return check


def _gzip_level(v):
    return None if v == -1 or 1 <= v <= 9 else "Value must be between 1 and 9 or equal to -1"


def _only(value, why):
    return lambda v: None if v == value else Refusal(why)


def _required(name, low):
    """What Kafka's broker answers for the roll times it checks itself."""
    return lambda v: None if v >= low else Refusal(
        f"requirement failed: {name} must be greater than or equal to {low}")


def _unchecked(value):
    return None


_T = ConfigType
DEFINITIONS: tuple[ConfigDef, ...] = (
    ConfigDef("cleanup.policy", _T.LIST, "delete", "log.cleanup.policy",
              "delete: drop old segments by retention; empty: keep everything. compact is "
              "accepted, but kgw does not compact; records without a key are refused.",
              _each_of("compact", "delete")),
    ConfigDef("compression.type", _T.STRING, "producer", "compression.type",
              "producer stores batches as the producer compressed them; a codec (or "
              "uncompressed) has every other batch rebuilt in it.",
              _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
    ConfigDef("compression.gzip.level", _T.INT, "-1", "compression.gzip.level",
              "gzip level of batches kgw recompresses; -1 for zlib's default.", _gzip_level),
    ConfigDef("compression.lz4.level", _T.INT, "9", "compression.lz4.level",
              "lz4 level of batches kgw recompresses.", _between(1, 17)),
    ConfigDef("compression.zstd.level", _T.INT, "3", "compression.zstd.level",
              "zstd level of batches kgw recompresses.", _between(-131072, 22)),
    ConfigDef("delete.retention.ms", _T.LONG, "86400000", "log.cleaner.delete.retention.ms",
              "Unused (no compaction).", _at_least(0)),
    ConfigDef("errors.deadletterqueue.group.enable", _T.BOOLEAN, "false", None,
              "Unused (no share groups)."),
    ConfigDef("file.delete.delay.ms", _T.LONG, "60000", "log.segment.delete.delay.ms",
              "Unused: kgw unlinks deleted segments at once; readers keep their open files.",
              _at_least(0)),
    ConfigDef("flush.messages", _T.LONG, str(INT64_MAX), "log.flush.interval.messages",
              "Unused: kgw's --flush setting decides when to fsync.", _at_least(1)),
    ConfigDef("flush.ms", _T.LONG, str(INT64_MAX), "log.flush.interval.ms",
              "Unused: kgw's --flush setting decides when to fsync.", _at_least(0),
              broker_check=_unchecked),
    ConfigDef("follower.replication.throttled.replicas", _T.LIST, "", None,
              "Unused (single node)."),
    ConfigDef("index.interval.bytes", _T.INT, "4096", "log.index.interval.bytes",
              "Bytes of log between two offset index entries.", _at_least(0)),
    ConfigDef("leader.replication.throttled.replicas", _T.LIST, "", None,
              "Unused (single node)."),
    ConfigDef("local.retention.bytes", _T.LONG, "-2", "log.local.retention.bytes",
              "Unused (no tiered storage).", _at_least(-2)),
    ConfigDef("local.retention.ms", _T.LONG, "-2", "log.local.retention.ms",
              "Unused (no tiered storage).", _at_least(-2)),
    ConfigDef("max.compaction.lag.ms", _T.LONG, str(INT64_MAX), "log.cleaner.max.compaction.lag.ms",
              "Unused (no compaction).", _at_least(1)),
    ConfigDef("max.decompressed.message.bytes", _T.INT, "2147483639", "max.decompressed.message.bytes",
              "Largest record of a compressed batch, inflated.", _at_least(1)),
    ConfigDef("max.message.bytes", _T.INT, "1048588", "message.max.bytes",
              "Largest record batch accepted, in bytes.", _at_least(0)),
    ConfigDef("message.timestamp.after.max.ms", _T.LONG, "3600000",
              "log.message.timestamp.after.max.ms",
              "How far ahead of the broker's clock a CreateTime timestamp may be.", _at_least(0)),
    ConfigDef("message.timestamp.before.max.ms", _T.LONG, str(INT64_MAX),
              "log.message.timestamp.before.max.ms",
              "How far behind the broker's clock a CreateTime timestamp may be.", _at_least(0)),
    ConfigDef("message.timestamp.type", _T.STRING, "CreateTime", "log.message.timestamp.type",
              "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch "
              "with the broker's clock.", _one_of("CreateTime", "LogAppendTime")),
    ConfigDef("min.cleanable.dirty.ratio", _T.DOUBLE, "0.5", "log.cleaner.min.cleanable.ratio",
              "Unused (no compaction).", _between(0, 1)),
    ConfigDef("min.compaction.lag.ms", _T.LONG, "0", "log.cleaner.min.compaction.lag.ms",
              "Unused (no compaction).", _at_least(0)),
    ConfigDef("min.insync.replicas", _T.INT, "1", "min.insync.replicas",
              "Replicas that must have an acks=all write; kgw has one.", _at_least(1)),
    ConfigDef("preallocate", _T.BOOLEAN, "false", "log.preallocate",
              "Unused: segments grow as written."),
    ConfigDef("remote.copy.lag.bytes", _T.LONG, "-1", "log.remote.copy.lag.bytes",
              "Unused (no tiered storage).", _at_least(-1)),
    ConfigDef("remote.copy.lag.ms", _T.LONG, "0", "log.remote.copy.lag.ms",
              "Unused (no tiered storage).", _at_least(-1)),
    ConfigDef("remote.log.copy.disable", _T.BOOLEAN, "false", None,
              "Unused (no tiered storage)."),
    ConfigDef("remote.log.delete.on.disable", _T.BOOLEAN, "false", None,
              "Unused (no tiered storage)."),
    ConfigDef("remote.storage.enable", _T.BOOLEAN, "false", None,
              "Only false: kgw has no tiered storage.",
              _only(False, "Tiered Storage functionality is disabled in the broker. Topic cannot be "
                           "configured with remote log storage.")),
    ConfigDef("retention.bytes", _T.LONG, "-1", "log.retention.bytes",
              "Largest size a partition keeps before deleting old segments; -1 for no limit."),
    ConfigDef("retention.ms", _T.LONG, "604800000", "log.retention.ms",
              "How long a closed segment is kept after its newest record; -1 forever.",
              _at_least(-1), broker_check=_unchecked),
    ConfigDef("segment.bytes", _T.INT, "1073741824", "log.segment.bytes",
              "Size at which a partition starts a new segment file.", _at_least(1024 * 1024)),
    ConfigDef("segment.index.bytes", _T.INT, "10485760", "log.index.size.max.bytes",
              "Offset index size at which a partition starts a new segment.", _at_least(4)),
    ConfigDef("segment.jitter.ms", _T.LONG, "0", "log.roll.jitter.ms",
              "Random amount subtracted from segment.ms per segment.", _at_least(0),
              broker_check=_required("log.roll.jitter.ms", 0)),
    ConfigDef("segment.ms", _T.LONG, "604800000", "log.roll.ms",
              "Age at which a partition starts a new segment file.", _at_least(1),
              broker_check=_required("log.roll.ms", 1)),
    ConfigDef("unclean.leader.election.enable", _T.BOOLEAN, "false",
              "unclean.leader.election.enable", "Unused (single node)."),
    # Kafka's testing-only override of segment.bytes, below its 1 MiB floor;
    # never described.  kgw's tests use it for small segments.
    ConfigDef("internal.segment.bytes", _T.INT, None, None,
              "Testing only: segment size overriding segment.bytes.", _at_least(1), internal=True),
)
BY_NAME: dict[str, ConfigDef] = {d.name: d for d in DEFINITIONS}
# The broker configs that are topic configs' defaults, by broker name.
BY_SYNONYM: dict[str, ConfigDef] = {d.synonym: d for d in DEFINITIONS if d.synonym}


def parse_value(definition: ConfigDef, text: str):
    """The typed value of `text`, as Kafka's ConfigDef parses it; ValueError
    with Kafka's reason if malformed."""
    text = text.strip()
    kind = definition.type
    if kind in (ConfigType.INT, ConfigType.LONG):
        value = int(text) if re.fullmatch(r"[+-]?\d+", text) else None
        bound = INT32_MAX if kind == ConfigType.INT else INT64_MAX
        if value is None or not -bound - 1 <= value <= bound:
            raise ValueError(f"Not a number of type {kind.name}")
        return value
    if kind == ConfigType.DOUBLE:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError("Not a number of type DOUBLE")
        return number
    if kind == ConfigType.BOOLEAN:
        if text.lower() not in ("true", "false"):
            raise ValueError("Expected value to be either true or false")
        return text.lower() == "true"
    if kind == ConfigType.LIST:
        return [item.strip() for item in text.split(",")] if text else []
    return text


def refusal(definition: ConfigDef, name: str, text: str, *, broker: bool = False) -> str | None:
    """Kafka's message refusing `text` for `definition`, named `name`; None
    if it is a valid value.  `broker`: judged as the broker config."""
    try:
        value = parse_value(definition, text)
    except ValueError as exc:
        return f"Invalid value {text} for configuration {name}: {exc}"
    check = definition.broker_check if broker and definition.broker_check else definition.check
    why = check(value)
    if why is None:
        return None
    if isinstance(why, Refusal):
        return str(why)
    # Kafka names the parsed value here: 2 is "2.0" for a double.
    shown = value if definition.type == ConfigType.DOUBLE else text
    return f"Invalid value {shown} for configuration {name}: {why}"


def validate(configs: Mapping[str, str | None]) -> dict[str, str]:
    """Check names and values; the configs as given, or LogError(INVALID_CONFIG)."""
    for name, text in configs.items():
        definition = BY_NAME.get(name)
        if definition is None:
            raise LogError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        if text is None:
            raise LogError(ErrorCode.INVALID_CONFIG, f"Null value not supported for topic config {name}")
        why = refusal(definition, name, text)
        if why is not None:
            raise LogError(ErrorCode.INVALID_CONFIG, why)
    return {name: text for name, text in configs.items() if text is not None}


class ConfigOp(enum.IntEnum):
    """IncrementalAlterConfigs' config_operation."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


def list_changes(result: dict[str, str], changes: Iterable[tuple[str, int, str | None]]
                 ) -> Iterator[tuple[str, ConfigOp, str]]:
    """Apply IncrementalAlterConfigs' DELETE and SET changes to `result`, in
    order, and hand out each APPEND or SUBTRACT for the caller to apply to
    its list, with Kafka's errors for an unknown operation or a null value."""
    for name, op, value in changes:
        try:
            op = ConfigOp(op)
        except ValueError:
            raise LogError(ErrorCode.INVALID_REQUEST, f"Unknown operations type {op}") from None
        if op == ConfigOp.DELETE:
            result.pop(name, None)
        elif value is None:
            raise LogError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {name}")
        elif op == ConfigOp.SET:
            result[name] = value
        else:
            yield name, op, value


def apply_changes(overrides: Mapping[str, str],
                  changes: Iterable[tuple[str, int, str | None]]) -> dict[str, str]:
    """The overrides after IncrementalAlterConfigs' (name, operation, value)
    changes, whose values are null only for DELETE (the request is refused
    otherwise); the result still needs `validate`.  APPEND and SUBTRACT work on
    list configs, starting from Kafka's default when the topic has no
    override, as Kafka does."""
    result = dict(overrides)
    # Unknown names are judged by `validate`, on what is set: deleting one
    # is a no-op, as in Kafka.
    for name, op, value in list_changes(result, changes):
        definition = BY_NAME.get(name)
        if definition is None or definition.type != ConfigType.LIST:
            raise LogError(ErrorCode.INVALID_CONFIG,
                           f"Can't {op.name} to key {name} because its type is not LIST.")
        current = parse_value(definition, result.get(name, definition.default or ""))
        given = parse_value(definition, value)
        items = current + given if op == ConfigOp.APPEND else [i for i in current if i not in given]
        result[name] = ",".join(dict.fromkeys(items))
    return result


# compression.type's codecs; "producer" keeps each batch's own.
CODECS = {"uncompressed": Codec.NONE, "gzip": Codec.GZIP, "snappy": Codec.SNAPPY,
          "lz4": Codec.LZ4, "zstd": Codec.ZSTD}
_LEVELS = {
    # -1 is zlib's default level.
    Codec.GZIP: lambda get: None if get("compression.gzip.level") == -1 else get("compression.gzip.level"),
    Codec.LZ4: lambda get: get("compression.lz4.level"),
    Codec.ZSTD: lambda get: get("compression.zstd.level"),
}


class LogConfig:
    """The typed settings a partition acts on, from a topic's effective configs."""

    def __init__(self, effective: Mapping[str, str]):
        def get(name):
            return parse_value(BY_NAME[name], effective[name])

        internal_segment = effective.get("internal.segment.bytes")
        self.segment_bytes: int = (parse_value(BY_NAME["internal.segment.bytes"], internal_segment)
                                   if internal_segment is not None else get("segment.bytes"))
        self.segment_ms: int = get("segment.ms")
        self.segment_jitter_ms: int = get("segment.jitter.ms")
        self.segment_index_bytes: int = get("segment.index.bytes")
        self.retention_ms: int = get("retention.ms")
        self.retention_bytes: int = get("retention.bytes")
        self.index_interval_bytes: int = get("index.interval.bytes")
        self.max_message_bytes: int = get("max.message.bytes")
        self.log_append_time: bool = get("message.timestamp.type") == "LogAppendTime"
        self.timestamp_before_max_ms: int = get("message.timestamp.before.max.ms")
        self.timestamp_after_max_ms: int = get("message.timestamp.after.max.ms")
        self.delete_policy: bool = "delete" in get("cleanup.policy")
        self.compact_policy: bool = "compact" in get("cleanup.policy")
        # None for compression.type=producer: batches are stored as they come.
        self.codec: Codec | None = CODECS.get(get("compression.type"))
        self.compression_level: int | None = (
            _LEVELS[self.codec](get) if self.codec in _LEVELS else None)
        self.max_decompressed_bytes: int = get("max.decompressed.message.bytes")


@dataclass(frozen=True)
class BrokerDefaults:
    """Broker-level settings of the log, as `kgw serve` gives them.

    `topic_configs` are broker-wide values for topic configs, by topic
    config name (`{"retention.ms": "3600000"}`): the static layer of
    `config_layers.ConfigLayers`, described under the broker names
    (`log.retention.ms`) as STATIC_BROKER_CONFIG.  `flush` is kgw's fsync
    policy: "acks", "always", "interval:<ms>" or "never" (see
    kgw.log.durability).  `max_open_files` bounds the
    descriptors the log keeps open (None: half the process's limit, see
    kgw.log.descriptors); `max_partitions` the partitions of all topics
    together, beyond which creations are refused with POLICY_VIOLATION.
    """

    num_partitions: int = 1
    retention_check_interval_ms: int = 300_000
    flush: str = "acks"
    topic_configs: Mapping[str, str] = field(default_factory=dict)
    max_open_files: int | None = None
    max_partitions: int = 100_000

    def __post_init__(self):
        if self.num_partitions < 1:
            raise ValueError(f"num_partitions must be at least 1, not {self.num_partitions}")
        if self.max_partitions < 0:
            raise ValueError(f"max_partitions must not be negative, not {self.max_partitions}")
        if self.max_open_files is not None and self.max_open_files < 1:
            raise ValueError(f"max_open_files must be at least 1, not {self.max_open_files}")
        if self.retention_check_interval_ms < 1:
            raise ValueError("retention_check_interval_ms must be at least 1")
        parse_flush_mode(self.flush)
        try:
            validate(self.topic_configs)
        except LogError as exc:
            raise ValueError(exc.message) from None


@dataclass(frozen=True)
class FlushMode:
    kind: str  # "acks", "always", "interval" or "never"
    interval_ms: int | None = None


def parse_flush_mode(text: str) -> FlushMode:
    if text in ("acks", "always", "never"):
        return FlushMode(text)
    match = re.fullmatch(r"interval:(\d+)", text)
    if match and int(match.group(1)) > 0:
        return FlushMode("interval", int(match.group(1)))
    raise ValueError(f"flush mode must be acks, always, never or interval:<ms>, not {text!r}")
