"""From a decoded response to plain data that can be compared with the
other broker's, changing only what legitimately differs between two
brokers answering the same requests:

- ids a broker makes up (cluster id, topic ids, producer ids, member ids)
  become symbols numbered in the order each broker first answered them in
  the scenario ("<producer 1>"), so that equal stays equal and different
  stays different, whatever the values;
- the broker's own port becomes "<port>", also where a config's value
  names it ("PLAINTEXT://127.0.0.1:<port>"), and its data dir "<data dir>";
- times the broker reads off its clock (append times, transaction start
  times, a marker's timestamp) become "<now>"; the record timestamps the
  scenarios write lie years away and are kept;
- throttle times are dropped (a broker throttles when it likes);
- the text of an error message becomes "<message>": its wording is for
  people, and no client branches on it; null and "" are kept as they are;
- answers that list the whole broker (topics, groups, transactions) keep
  only the scenario's own items and internal ones (SCOPED);
- collections Kafka keeps in hash maps are sorted, and compared item by
  item through their keys where those tell them apart (UNORDERED).

Records are decoded batch by batch, header fields and records, so that
two brokers storing the same batch differently show where.
"""

import re
import struct
import time
import uuid
from typing import Any

from protocol.errors import DecodeError
from protocol.primitives import NULL_UUID
from protocol.records import RecordBatch

_LENGTH = struct.Struct(">i")

# Field name -> the namespace of the ids a broker makes up.
OPAQUE = {
    "cluster_id": "cluster",
    "topic_id": "topic id",
    "producer_id": "producer",
    "member_id": "member",
    "leader": "member",
}
DROPPED = {"throttle_time_ms"}
NOW_WINDOW_MS = 24 * 3600 * 1000

# (API key, path of a list in the response) -> the fields it is sorted by.
# Kafka builds these from hash maps, so their order means nothing.
UNORDERED: dict[tuple[int, str], tuple[str, ...]] = {
    (0, "responses"): ("name",),
    (0, "responses.partition_responses"): ("index",),
    (2, "topics"): ("name",),
    (2, "topics.partitions"): ("partition_index",),
    (3, "topics"): ("name",),
    (3, "topics.partitions"): ("partition_index",),
    (8, "topics"): ("name",),
    (8, "topics.partitions"): ("partition_index",),
    (9, "topics"): ("name",),
    (9, "topics.partitions"): ("partition_index",),
    (9, "groups.topics"): ("name",),
    (9, "groups.topics.partitions"): ("partition_index",),
    (11, "members"): ("member_id",),
    (13, "members"): ("member_id",),
    (15, "groups"): ("group_id",),
    (15, "groups.members"): ("client_id",),
    (16, "groups"): ("group_id",),
    (18, "api_keys"): ("api_key",),
    (18, "finalized_features"): ("name",),
    (18, "supported_features"): ("name",),
    (19, "topics"): ("name",),
    (19, "topics.configs"): ("name",),
    (20, "responses"): ("name",),
    (24, "results_by_topic_v3_and_below"): ("name",),
    (24, "results_by_topic_v3_and_below.results_by_partition"): ("partition_index",),
    (27, "markers.topics"): ("name",),
    (27, "markers.topics.partitions"): ("partition_index",),
    (32, "results.configs"): ("name",),
    (32, "results.configs.synonyms"): ("name", "source"),
    (42, "results"): ("group_id",),
    (47, "topics"): ("name",),
    (47, "topics.partitions"): ("partition_index",),
    (61, "topics.partitions.active_producers"): ("producer_id",),
    (65, "transaction_states"): ("transactional_id",),
    (65, "transaction_states.topics"): ("topic",),
    (65, "transaction_states.topics.partitions"): (),
    (66, "transaction_states"): ("transactional_id",),
    (66, "unknown_state_filters"): (),
}


# (API key, path of a list) -> the field naming each item, for the answers
# that list the whole broker: a scenario sees only its own items (and the
# internal ones, named "__...", and unnamed ones), not those of the
# scenarios running beside it.
SCOPED: dict[tuple[int, str], str] = {
    (3, "topics"): "name",
    (16, "groups"): "group_id",
    (66, "transaction_states"): "transactional_id",
}


def to_plain(value) -> Any:
    """Messages as dicts of their fields, in declaration order."""
    fields = getattr(value, "_fields", None)
    if fields is not None:
        return {name: to_plain(getattr(value, name)) for name in fields}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def decode_records(data: bytes | None) -> Any:
    """A records field as a list of batches, each its header and records;
    a partial batch at the end (which Kafka may send) as its byte count."""
    if data is None:
        return None
    view = memoryview(data)
    batches: list[Any] = []
    pos = 0
    while pos < len(view):
        size = _batch_size(view, pos)
        if size is None or size > len(view) - pos:
            batches.append({"partial_batch_bytes": len(view) - pos})
            break
        batch = RecordBatch(view, pos)
        pos += size
        try:
            records = [{"offset": r.offset, "timestamp": r.timestamp, "key": r.key,
                        "value": r.value, "headers": r.headers, "attributes": r.attributes}
                       for r in batch.records()]
        except DecodeError as exc:
            records = f"<undecodable: {exc}>"
        batches.append({
            "base_offset": batch.base_offset, "partition_leader_epoch": batch.partition_leader_epoch,
            "magic": batch.magic, "crc_ok": batch.crc_ok(), "attributes": batch.attributes,
            "last_offset_delta": batch.last_offset_delta, "base_timestamp": batch.base_timestamp,
            "max_timestamp": batch.max_timestamp, "producer_id": batch.producer_id,
            "producer_epoch": batch.producer_epoch, "base_sequence": batch.base_sequence,
            "record_count": batch.record_count, "records": records})
    return batches


class Normaliser:
    """One broker's answers within one scenario (the symbols last across
    its steps)."""

    def __init__(self, port: int, scope: str, data_dir: str | None = None):
        self.port = port
        self.scope = scope + "-"
        self.data_dir = data_dir
        self._address = re.compile(rf"(?<=:){port}\b")
        self.api_key = -1
        self.symbols: dict[str, dict[Any, str]] = {}

    def __call__(self, api_key: int, body) -> Any:
        plain = to_plain(body)
        for (key, path), name in SCOPED.items():
            if key == api_key and isinstance(plain, dict) and isinstance(plain.get(path), list):
                plain[path] = [item for item in plain[path]
                               if not item[name] or str(item[name]).startswith((self.scope, "__"))]
        self._sort(api_key, plain, "")
        self.api_key = api_key
        return self._walk(plain, None)

    def _sort(self, api_key: int, value, path: str) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                self._sort(api_key, inner, f"{path}.{name}" if path else name)
        elif isinstance(value, list):
            for inner in value:
                self._sort(api_key, inner, path)
            keys = UNORDERED.get((api_key, path))
            if keys is not None:
                value.sort(key=lambda item: _sort_key(self._known(item), keys))

    def _known(self, item):
        """`item` with the made-up ids it shares with earlier answers as
        their symbols: a collection sorted by member id then sorts alike on
        both brokers, whatever ids each made up."""
        if not isinstance(item, dict):
            return item
        known = dict(item)
        for name, value in item.items():
            namespace = OPAQUE.get(name)
            if namespace is not None and value in self.symbols.get(namespace, {}):
                known[name] = self.symbols[namespace][value]
        return known

    def _walk(self, value, name: str | None, path: str = ""):
        if isinstance(value, dict):
            return {k: self._walk(v, k, f"{path}.{k}" if path else k)
                    for k, v in value.items() if k not in DROPPED}
        if isinstance(value, list):
            items = [self._walk(v, name, path) for v in value]
            return keyed(items, UNORDERED.get((self.api_key, path)))
        if name == "records" and isinstance(value, (bytes, type(None))):
            return self._walk(decode_records(value), None)
        return self._scalar(value, name)

    def _scalar(self, value, name: str | None):
        if name is None:
            return value
        namespace = OPAQUE.get(name)
        if namespace is not None and _is_made_up(value):
            table = self.symbols.setdefault(namespace, {})
            if value not in table:
                table[value] = f"<{namespace} {len(table) + 1}>"
            return table[value]
        if name == "port" and value == self.port:
            return "<port>"
        if name.endswith("error_message") and isinstance(value, str) and value:
            return "<message>"
        if isinstance(value, str):
            if self.data_dir:
                value = value.replace(self.data_dir, "<data dir>")
            return self._address.sub("<port>", value)
        if ("time" in name or name == "timestamp") and isinstance(value, int) and not isinstance(value, bool):
            if abs(value - time.time() * 1000) < NOW_WINDOW_MS:
                return "<now>"
        return value


class Keyed(dict):
    """An unordered collection as {key: item}, compared key by key."""


def keyed(items: list, keys: tuple[str, ...] | None):
    """`items` as a Keyed dict when the collection is unordered and its keys
    tell its items apart; a sorted list when they do not."""
    if not keys or not all(isinstance(item, dict) for item in items):
        return items
    by_key = Keyed()
    for item in items:
        key = ",".join(str(item.get(k)) for k in keys)
        if key in by_key:
            return items
        by_key[key] = item
    return by_key


def _is_made_up(value) -> bool:
    if isinstance(value, uuid.UUID):
        return value != NULL_UUID
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    if isinstance(value, str):
        return value != ""
    return False


def _sort_key(item, keys: tuple[str, ...]):
    if not isinstance(item, dict):
        return (_comparable(item),)
    return tuple(_comparable(item.get(k)) for k in keys)


def _comparable(value) -> tuple[int, Any]:
    # Numbers in numeric order, anything else (None included) by its text.
    if isinstance(value, int):
        return (0, value)
    return (1, str(value))


def _batch_size(view: memoryview, pos: int) -> int | None:
    """The size of the batch at `pos` as its length field declares it
    (offset 8, counting the 12 bytes before it), None if even that is cut."""
    if len(view) - pos < 12:
        return None
    return _LENGTH.unpack_from(view, pos + 8)[0] + 12
