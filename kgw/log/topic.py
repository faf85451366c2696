"""Topics: Kafka's naming rules and the versioned metadata file of each topic.

A topic's metadata is `<data>/topics/<topic id>.json`:
`{"format_version": 1, "name", "topic_id", "partitions", "configs"}`,
where `configs` holds only the topic's overrides.  Its partitions live in
Kafka-style directories `<data>/<name>-<partition>/`, whose names a topic
name of 249 characters still keeps under the file system's 255 (that is
why Kafka stops at 249); a metadata file named after the topic would not
fit, hence the id.  Splitting a partition directory name at its last "-"
gives back the topic, since partitions are plain integers.
"""

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from protocol.error_codes import ErrorCode

from .config import ConfigEntry, LogConfig
from .config_layers import ConfigLayers
from .errors import LogError
from .files import atomic_write, metadata_bytes, read_metadata

if TYPE_CHECKING:
    from .partition import PartitionLog

META_FORMAT_VERSION = 1
META_DIR = "topics"
MAX_NAME_LENGTH = 249
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]+")


# Kafka's internal topics, which exist on every Kafka that has served a
# group or a transaction. kgw keeps offsets and transaction state in
# stores of its own, but a topic of these names would pass for them, so
# creating one is refused as Kafka refuses it: the topic already exists.
KAFKA_INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


def check_topic_name(name: str) -> None:
    """Kafka's Topic.validate: 1-249 of [a-zA-Z0-9._-], and not "." or ".."."""
    if not name:
        raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name cannot be \".\" or \"..\"")
    if len(name) > MAX_NAME_LENGTH:
        raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                       f"Topic name is illegal, it can't be longer than {MAX_NAME_LENGTH} characters")
    if not _LEGAL_NAME.fullmatch(name):
        raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                       f"Topic name \"{name}\" is illegal, it contains a character other than "
                       "ASCII alphanumerics, '.', '_' and '-'")


def check_config_resource_name(name: str) -> None:
    """The topic name check of Kafka's config APIs (DescribeConfigs,
    AlterConfigs, IncrementalAlterConfigs), the same rules in other words
    than CreateTopics': INVALID_TOPIC_EXCEPTION before anything else."""
    why = None
    if not name:
        why = "the empty string is not allowed"
    elif name in (".", ".."):
        why = f"'{name}' is not allowed"
    elif len(name) > MAX_NAME_LENGTH:
        why = f"the length of '{name}' is longer than the max allowed length {MAX_NAME_LENGTH}"
    elif not _LEGAL_NAME.fullmatch(name):
        why = f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
    if why is not None:
        raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"Topic name is invalid: {why}")


def collision_key(name: str) -> str:
    """Kafka refuses two topics that differ only in '.' versus '_' (their metric names clash)."""
    return name.replace(".", "_")


def check_partition_count(count: int) -> None:
    """Any positive count, as in Kafka; how many a request or the broker may
    hold is bounded elsewhere (the handlers, LogManager's max_partitions)."""
    if count < 1:
        raise LogError(ErrorCode.INVALID_PARTITIONS,
                       f"Number of partitions must be at least 1, not {count}")


class Topic:
    def __init__(self, name: str, topic_id: uuid.UUID, overrides: Mapping[str, str],
                 layers: ConfigLayers):
        self.name = name
        self.topic_id = topic_id
        self.partitions: list["PartitionLog"] = []
        self._layers = layers
        self.set_overrides(overrides)

    def set_overrides(self, overrides: Mapping[str, str]) -> None:
        """Take validated overrides; partitions read `log_config` at each
        append, roll and retention pass, so a change applies from then on."""
        self.overrides = dict(overrides)
        self.configs = self._layers.effective(self.overrides)
        self.log_config = LogConfig(self.configs)

    def refresh(self) -> None:
        """The broker's configs changed under the overrides."""
        self.set_overrides(self.overrides)

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, {len(self.partitions)} partitions, id={self.topic_id})"

    def describe_configs(self) -> list[ConfigEntry]:
        return self._layers.describe_topic(self.overrides)

    def meta_path(self, data_dir: Path) -> Path:
        return data_dir / META_DIR / f"{self.topic_id}.json"

    def partition_dir(self, data_dir: Path, index: int) -> Path:
        return data_dir / f"{self.name}-{index}"

    def save(self, data_dir: Path, partition_count: int, *, sync_directory: bool = True) -> None:
        """Write the metadata file, fsynced; without `sync_directory`, the
        fsync of the directory that makes it durable is the caller's."""
        atomic_write(self.meta_path(data_dir), metadata_bytes(META_FORMAT_VERSION, {
            "name": self.name, "topic_id": str(self.topic_id), "partitions": partition_count,
            "configs": self.overrides}), sync_directory=sync_directory)


def read_meta(path: Path) -> tuple[str, uuid.UUID, int, dict[str, str]]:
    """(name, topic_id, partitions, overrides) from a metadata file; ValueError if unusable."""
    try:
        meta = read_metadata(path, META_FORMAT_VERSION)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if meta is None:
        raise ValueError("missing")
    try:
        name, topic_id = meta["name"], uuid.UUID(meta["topic_id"])
        partitions, configs = meta["partitions"], meta["configs"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed: {exc!r}") from None
    if (not isinstance(name, str) or path.name != f"{topic_id}.json"
            or not isinstance(partitions, int) or not isinstance(configs, dict)):
        raise ValueError("malformed: name, partitions or configs of the wrong type")
    return name, topic_id, partitions, configs
