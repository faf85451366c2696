"""Where a topic's effective configs come from, lowest first: Kafka's
defaults, the broker's static configs (`kgw serve`), the dynamic
cluster-wide defaults, the dynamic configs of this broker, and the topic's
own overrides; and how DescribeConfigs tells it.

The two dynamic layers are what AlterConfigs and IncrementalAlterConfigs
set on the broker resource ("" for the cluster-wide defaults, the node id
for this broker), as Kafka's DynamicBrokerConfig keeps them.  They live in
`<data>/broker-configs.json` (`{"format_version": 1, "cluster": {...},
"broker": {...}}`, by broker config name) and apply at once: the log
manager makes every topic recompute its configs when they change.  A name
Kafka does not know is kept and described, as Kafka keeps it for plugins,
and means nothing to kgw.

A Kafka 4.4 cluster is formatted with eligible leader replicas (KIP-966),
which keep min.insync.replicas a cluster-wide dynamic config: the
cluster layer always holds it, from the static value (or Kafka's default)
when nothing set it, as Kafka adds it (kgw.broker_configs refuses its
removal as Kafka does).

Synonyms are Kafka's (ConfigHelper.configSynonyms): for a broker config,
every name that sets the same thing (log.retention.ms, .minutes, .hours)
in every layer that sets it, the most dynamic layer first, Kafka's
defaults last, and the list starting at the config's own name: so
log.retention.ms, which has no default of its own, lists nothing until a
layer sets it.
"""

import logging
from pathlib import Path
from typing import Mapping

from protocol.error_codes import ErrorCode

from .broker_catalog import KAFKA_DEFAULTS
from .config import (
    BY_NAME, BY_SYNONYM, DEFINITIONS, BrokerDefaults, ConfigEntry, ConfigSource, ConfigSynonym,
    refusal,
)
from .errors import LogError
from .files import read_metadata, write_metadata

log = logging.getLogger("kgw.log")

BROKER_CONFIGS_FILE = "broker-configs.json"
BROKER_CONFIGS_FORMAT = 1
# The two dynamic layers: the "" resource, and this broker's node id.
CLUSTER = "cluster"
BROKER = "broker"
LEVELS = (CLUSTER, BROKER)
# What eligible leader replicas keep in the cluster layer.
ELR_CONFIG = "min.insync.replicas"

# Kafka's brokerConfigSynonyms: names that set the same thing, the one
# Kafka prefers first.  Every other name is its own only synonym.
_SYNONYM_GROUPS = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)


def broker_synonyms(name: str) -> tuple[str, ...]:
    for group in _SYNONYM_GROUPS:
        if name in group:
            return group
    return (name,)


# Every broker config a topic config takes its default from, and the
# other names of each: what the layers describe.
LOG_NAMES = frozenset(n for name in BY_SYNONYM for n in broker_synonyms(name))


class ConfigLayers:
    def __init__(self, static: BrokerDefaults):
        # By topic config name, as BrokerDefaults has them.
        self._static_topic = dict(static.topic_configs)
        self._static: dict[str, str] = {}
        for name, value in static.topic_configs.items():
            synonym = BY_NAME[name].synonym
            if synonym is not None:
                self._static[synonym] = value
        self.dynamic: dict[str, dict[str, str]] = {CLUSTER: {}, BROKER: {}}
        self._pin_elr_config()
        self._defaults = self._topic_defaults()

    def _pin_elr_config(self) -> None:
        fallback = self._static.get(ELR_CONFIG, KAFKA_DEFAULTS[ELR_CONFIG])
        assert fallback is not None
        self.dynamic[CLUSTER].setdefault(ELR_CONFIG, fallback)

    # --- the effective values -------------------------------------------------

    def _topic_defaults(self) -> dict[str, str]:
        configs = {d.name: d.default for d in DEFINITIONS if d.default is not None}
        configs.update(self._static_topic)
        for level in LEVELS:
            for name, value in self.dynamic[level].items():
                definition = BY_SYNONYM.get(name)
                if definition is not None:
                    configs[definition.name] = value
        return configs

    def effective(self, overrides: Mapping[str, str]) -> dict[str, str]:
        return {**self._defaults, **overrides}

    def _layers(self) -> list[tuple[ConfigSource, Mapping[str, str | None]]]:
        """By broker name, the most dynamic first."""
        return [(ConfigSource.DYNAMIC_BROKER_CONFIG, self.dynamic[BROKER]),
                (ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, self.dynamic[CLUSTER]),
                (ConfigSource.STATIC_BROKER_CONFIG, self._static),
                (ConfigSource.DEFAULT_CONFIG, KAFKA_DEFAULTS)]

    def synonyms(self, name: str, *, only: ConfigSource | None = None) -> list[ConfigSynonym]:
        """Kafka's synonyms of broker config `name`; with `only`, those of
        one layer (the cluster-wide resource lists its own)."""
        names = broker_synonyms(name)
        found = [ConfigSynonym(n, layer[n], source) for source, layer in self._layers()
                 if only in (None, source) for n in names if layer.get(n) is not None]
        for i, synonym in enumerate(found):
            if synonym.name == name:
                return found[i:]
        return []

    def broker_value(self, name: str) -> str | None:
        """The value of broker config `name`: its own, from the most dynamic
        layer that sets it (log.retention.ms is None while only the hours
        are set, as in Kafka)."""
        for _, layer in self._layers():
            if layer.get(name) is not None:
                return layer[name]
        return None

    # --- DescribeConfigs of a topic ---------------------------------------------

    def describe_topic(self, overrides: Mapping[str, str]) -> list[ConfigEntry]:
        effective = self.effective(overrides)
        entries = []
        for d in DEFINITIONS:
            if d.internal:
                continue
            synonyms = self.synonyms(d.synonym) if d.synonym else []
            if d.name in overrides:
                synonyms.insert(0, ConfigSynonym(d.name, overrides[d.name], ConfigSource.TOPIC_CONFIG))
            source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
            entries.append(ConfigEntry(d.name, effective.get(d.name), source, False, d.type, d.doc,
                                       tuple(synonyms)))
        return entries

    # --- the dynamic layers -------------------------------------------------------

    def check(self, configs: Mapping[str, str]) -> None:
        """LogError(INVALID_REQUEST) with Kafka's message unless every value
        is one the broker config takes; names without a topic config pass."""
        for name, value in configs.items():
            definition = BY_SYNONYM.get(name)
            why = None if definition is None else refusal(definition, name, value, broker=True)
            if why is not None:
                raise LogError(ErrorCode.INVALID_REQUEST, why)

    def set_dynamic(self, level: str, configs: Mapping[str, str]) -> None:
        self.dynamic[level] = dict(configs)
        self._defaults = self._topic_defaults()

    def load(self, data_dir: Path) -> None:
        """The dynamic layers kept in `data_dir`; a stored value kgw no
        longer takes is dropped with an error logged."""
        path = data_dir / BROKER_CONFIGS_FILE
        try:
            meta = read_metadata(path, BROKER_CONFIGS_FORMAT)
        except (OSError, ValueError) as exc:
            log.error("%s is unreadable (%s): starting without dynamic broker configs", path, exc)
            return
        for level in LEVELS:
            stored = (meta or {}).get(level, {})
            usable = {}
            for name, value in stored.items():
                try:
                    self.check({name: value})
                    usable[name] = value
                except LogError as exc:
                    log.error("%s: ignoring %s config %s=%r: %s", path, level, name, value, exc.message)
            self.dynamic[level] = usable
        self._pin_elr_config()
        self._defaults = self._topic_defaults()

    def save(self, data_dir: Path, level: str, configs: Mapping[str, str]) -> None:
        """Write the layers with `level` replaced by `configs` (OSError if
        that fails, and nothing changed)."""
        layers = {**self.dynamic, level: dict(configs)}
        write_metadata(data_dir / BROKER_CONFIGS_FILE, BROKER_CONFIGS_FORMAT, layers)
