"""`kgw consume TOPIC`: print records, from wherever the user asks to start."""

import base64
import contextlib
import json
import signal
import sys
import threading
import time
from collections import defaultdict

import click

from protocol.error_codes import ErrorCode
from protocol.messages import FETCH
from protocol.primitives import NULL_UUID
from protocol.records import ControlType, Record, iter_batches

from .client import Cluster, TopicInfo, check, error_name
from ..cli_errors import ToolCommand, ToolError
from .command import bootstrap_option, progress
from .group_state import require_no_members
from .offsets import (
    NO_OFFSET, READ_COMMITTED, READ_UNCOMMITTED, commit, fetch_committed, list_offsets,
    offset_ranges,
)

# A long poll short enough that --timeout and Ctrl-C are honoured promptly.
FETCH_WAIT_MS = 500
FETCH_MAX_BYTES = 50 * 1024 * 1024  # the Java consumer's fetch.max.bytes
PARTITION_MAX_BYTES = 1024 * 1024   # and its max.partition.fetch.bytes
# Fetch v13 names topics by id only.
LAST_FETCH_VERSION_BY_NAME = 12
# Errors after which a fresh look at the metadata finds the new leader.
_STALE_LEADER = {ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE,
                 ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
                 ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.KAFKA_STORAGE_ERROR}
_MAX_STALE_ROUNDS = 50
_STALE_PAUSE_S = 0.1
INTERRUPTED = 130


@click.command(cls=ToolCommand)
@click.argument("topic")
@click.option("-p", "--partition", "partitions", multiple=True, type=click.IntRange(0),
              help="Read only this partition; repeatable.  [default: all]")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
@click.option("-o", "--offset", type=click.IntRange(0), default=None,
              help="Start at this offset (in each partition read).")
@click.option("--from-timestamp", type=int, default=None, metavar="MS",
              help="Start at the first record at or after this time (ms since the epoch).")
@click.option("-g", "--group", default=None,
              help="Start where GROUP's committed offsets say, and commit what is printed.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: the value of each record; json: one object per record.")
@click.option("--print-key", is_flag=True, help="text: print the key, a separator, then the value.")
@click.option("--key-separator", default="\t", show_default=r"\t",
              help="text: what --print-key puts between key and value.")
@click.option("-n", "--count", type=click.IntRange(1), default=None,
              help="Stop after N records, waiting for them as long as it takes.")
@click.option("-F", "--follow", is_flag=True, help="Keep waiting for new records.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="SECONDS",
              help="Fail if --count records (or the end) have not been read in this time.")
@click.option("--isolation-level", type=click.Choice(["read_uncommitted", "read_committed"]),
              default="read_uncommitted", show_default=True,
              help="read_committed: only records of committed transactions, up to the last "
                   "stable offset.")
@bootstrap_option
def consume(topic, partitions, from_beginning, offset, from_timestamp, group, fmt, print_key,
            key_separator, count, follow, timeout, isolation_level, bootstrap):
    """Print the records of TOPIC.

    Starts at the end (only records written from now on) unless told
    otherwise; with --group, partitions the group has committed offsets for
    start there.  Without --count or --follow it stops at the end of the
    partitions as they were when it started (their last stable offset with
    read_committed).
    """
    starts = [from_beginning, offset is not None, from_timestamp is not None]
    if sum(starts) > 1:
        raise click.UsageError("use only one of --from-beginning, --offset and --from-timestamp")
    if timeout is not None and follow and count is None:
        raise click.UsageError("--timeout needs an end: --count, or no --follow")
    deadline = None if timeout is None else time.monotonic() + timeout
    write = _text_writer(print_key, key_separator.encode()) if fmt == "text" else _json_writer
    out = sys.stdout.buffer
    isolation = READ_COMMITTED if isolation_level == "read_committed" else READ_UNCOMMITTED
    with Cluster(bootstrap) as cluster:
        info = cluster.metadata([topic]).topic(topic)
        wanted = sorted(set(partitions)) or list(info.partitions)
        for p in wanted:
            if p not in info.partitions:
                raise ToolError(f"topic {topic!r} has no partition {p} "
                                f"(it has {len(info.partitions)})")
        ranges = offset_ranges(cluster, info, wanted, isolation)
        committed = {}
        if group is not None:
            # Commits from outside a group are refused while it has members.
            coordinator = cluster.coordinator(group)
            require_no_members(coordinator, group, "consuming with it")
            committed = {p: o for (t, p), o in fetch_committed(
                coordinator, group, {topic: wanted}).items() if t == topic}
        positions = _start_positions(cluster, info, wanted, ranges, committed,
                                     from_beginning, offset, from_timestamp)
        ends = None if follow or count is not None else {p: ranges[p][1] for p in wanted}
        reader = _Reader(cluster, info, positions, group, committed, isolation)
        try:
            _run(reader, out, write, topic, ends, count, deadline)
        except KeyboardInterrupt:
            reader.commit()
            click.get_current_context().exit(INTERRUPTED)
        reader.commit()


def _start_positions(cluster, info, wanted, ranges, committed, from_beginning, offset,
                     from_timestamp) -> dict[int, int]:
    positions = {}
    for p in wanted:
        start, end = ranges[p]
        if p in committed:
            # Retention may have deleted past a group's offset; Kafka's
            # consumer then resets it, here to the nearest valid offset.
            positions[p] = min(max(committed[p], start), end)
        elif from_beginning:
            positions[p] = start
        elif offset is not None:
            if not start <= offset <= end:
                held = f"offsets {start} to {end - 1}" if end > start else "no record"
                raise ToolError(f"offset {offset} is outside partition {p} of {info.name!r}, "
                                f"which holds {held} (its next offset is {end})")
            positions[p] = offset
        else:
            positions[p] = end
    if from_timestamp is not None:
        pending = [p for p in wanted if p not in committed]
        found = list_offsets(cluster, info, pending, from_timestamp) if pending else {}
        for p, at in found.items():
            positions[p] = ranges[p][1] if at == NO_OFFSET else at
    return positions


def _run(reader: "_Reader", out, write, topic: str, ends: dict[int, int] | None,
         count: int | None, deadline: float | None) -> None:
    printed = 0
    if ends is not None:
        active = {p for p, pos in reader.positions.items() if pos < ends[p]}
        total: int | None = sum(ends[p] - reader.positions[p] for p in active)
    else:
        active = set(reader.positions)
        total = count
    with progress(total, topic) as bar:
        while active and (count is None or printed < count):
            wait_ms = FETCH_WAIT_MS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    reader.commit()
                    wanted = (f"{printed} of {count} records" if count is not None
                              else f"{printed} records, before the end")
                    raise ToolError(f"timed out with {wanted}")
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            for p, batches in reader.fetch(sorted(active), wait_ms):
                before = reader.positions[p]
                limit = None if count is None else count - printed
                end = None if ends is None else ends[p]
                with _interrupts_held():
                    output, reader.positions[p], taken = _take(batches, before, limit, end,
                                                               topic, p, write)
                    out.write(output)
                printed += taken
                if count is not None:
                    bar.update(taken)
                if ends is not None:
                    bar.update(min(reader.positions[p], ends[p]) - min(before, ends[p]))
                    if reader.positions[p] >= ends[p]:
                        active.discard(p)
                if count is not None and printed == count:
                    break
            out.flush()
            reader.commit()


def _take(batches, position: int, limit: int | None, end: int | None, topic: str,
          partition: int, write):
    """(the output for up to `limit` records below offset `end`, the position
    after them, how many)."""
    lines: list[bytes] = []
    for records, batch_end in batches:
        for record in records:
            full = limit is not None and len(lines) == limit
            if full or (end is not None and record.offset >= end):
                return b"".join(lines), position, len(lines)
            lines.append(write(topic, partition, record))
            position = record.offset + 1
        position = max(position, batch_end if end is None else min(batch_end, end))
    return b"".join(lines), position, len(lines)


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C waits while records are printed and their position moves, so a
    record printed is a record counted, and committed with --group.  Only
    the main thread receives signals, so only it needs to hold them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _Reader:
    """Fetches from the partitions' leaders and keeps the positions."""

    def __init__(self, cluster: Cluster, info: TopicInfo, positions: dict[int, int],
                 group: str | None, committed: dict[int, int], isolation: int):
        self.cluster = cluster
        self.info = info
        self.positions = positions
        self.group = group
        self.isolation = isolation
        self._committed = dict(committed)
        self._stale_rounds = 0

    def commit(self) -> None:
        """Commit the positions that differ from the group's (with --group).

        A partition read without getting a record is committed too, as
        Kafka's consumer does, so the next run starts where this one did.
        """
        if self.group is None:
            return
        moved = {(self.info.name, p): pos for p, pos in self.positions.items()
                 if self._committed.get(p) != pos}
        if moved:
            commit(self.cluster.coordinator(self.group), self.group, moved)
            self._committed = dict(self.positions)

    def fetch(self, partitions: list[int], wait_ms: int):
        """(partition, [(records at or after its position, offset after the batch)])
        for the partitions that returned data."""
        by_leader = defaultdict(list)
        for p in partitions:
            by_leader[self.cluster.leader(self.info, p)].append(p)
        stale = None
        for leader, parts in by_leader.items():
            for p, error, data, aborted in self._fetch_from(leader, parts, wait_ms):
                if error in _STALE_LEADER:
                    stale = error
                    continue
                if error == ErrorCode.OFFSET_OUT_OF_RANGE:
                    raise ToolError(f"offset {self.positions[p]} of partition {p} of "
                                    f"{self.info.name!r} is out of range (deleted meanwhile?)")
                check(error, f"cannot read partition {p} of {self.info.name!r}")
                if data:
                    yield p, _batches_from(data, self.positions[p], aborted)
        if stale is not None:
            self._stale_rounds += 1
            if self._stale_rounds > _MAX_STALE_ROUNDS:
                raise ToolError(f"no leader answers for topic {self.info.name!r} "
                                f"({error_name(stale)})")
            time.sleep(_STALE_PAUSE_S)
            self.info = self.cluster.metadata([self.info.name]).topic(self.info.name)
        else:
            self._stale_rounds = 0

    def _fetch_from(self, leader: int, parts: list[int], wait_ms: int):
        conn = self.cluster.node(leader)
        version = conn.version(FETCH)
        if self.info.topic_id == NULL_UUID:
            version = min(version, LAST_FETCH_VERSION_BY_NAME)
        Topic = FETCH.Request.FetchTopic
        body = conn.call(FETCH, FETCH.Request(
            replica_id=-1, max_wait_ms=wait_ms, min_bytes=1, max_bytes=FETCH_MAX_BYTES,
            isolation_level=self.isolation, session_id=0, session_epoch=-1, rack_id="",
            topics=[Topic(topic=self.info.name, topic_id=self.info.topic_id, partitions=[
                Topic.FetchPartition(partition=p, fetch_offset=self.positions[p],
                                     partition_max_bytes=PARTITION_MAX_BYTES)
                for p in parts])]), version)
        check(body.error_code, f"cannot read topic {self.info.name!r}")
        for t in body.responses:
            for p in t.partitions:
                aborted = [(a.producer_id, a.first_offset) for a in p.aborted_transactions or ()]
                yield p.partition_index, p.error_code, p.records, aborted


def _batches_from(data, position: int, aborted: list[tuple[int, int]]
                  ) -> list[tuple[list[Record], int]]:
    """The data records at or after `position`, batch by batch; a Fetch may
    start with the batch holding `position` and end with a partial batch.

    `aborted` (read_committed) lists (producer id, first offset) of the
    aborted transactions in the data. As Kafka's consumer does, a producer's
    transactional batches are dropped from the first offset of its aborted
    transaction up to its ABORT marker.
    """
    starts = sorted(aborted, key=lambda entry: entry[1])
    dropping: set[int] = set()
    result = []
    for batch in iter_batches(data, allow_partial_tail=True):
        while starts and starts[0][1] <= batch.last_offset:
            dropping.add(starts.pop(0)[0])
        if batch.is_control:
            if batch.producer_id in dropping and batch.control_record().type == ControlType.ABORT:
                dropping.discard(batch.producer_id)
            records: list = []
        elif batch.last_offset < position or (batch.is_transactional
                                              and batch.producer_id in dropping):
            records = []
        else:
            records = [r for r in batch.records() if r.offset >= position]
        if batch.last_offset >= position:
            result.append((records, batch.last_offset + 1))
    return result


def _text_writer(print_key: bool, separator: bytes):
    def write(topic: str, partition: int, record: Record) -> bytes:
        value = b"null" if record.value is None else record.value
        if print_key:
            key = b"null" if record.key is None else record.key
            return key + separator + value + b"\n"
        return value + b"\n"
    return write


def _json_writer(topic: str, partition: int, record: Record) -> bytes:
    obj = {"topic": topic, "partition": partition, "offset": record.offset,
           "timestamp": record.timestamp}
    _put_bytes(obj, "key", record.key)
    _put_bytes(obj, "value", record.value)
    headers = []
    for name, value in record.headers:
        header = {"key": name}
        _put_bytes(header, "value", value)
        headers.append(header)
    obj["headers"] = headers
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def _put_bytes(obj: dict, name: str, data: bytes | None) -> None:
    """Text as a string; bytes that are not UTF-8 as base64 under NAME_base64."""
    if data is None:
        obj[name] = None
        return
    try:
        obj[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        obj[f"{name}_base64"] = base64.b64encode(data).decode()
