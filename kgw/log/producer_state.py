"""A partition's producers: idempotent sequences and transactions (KIP-98).

Kafka's ProducerStateManager, one per partition.  For each producer id it
keeps the epoch, the last five batches written (a producer has at most five
in flight), the coordinator epoch of its last marker and the first offset
of its open transaction.  Before an append, `check` refuses what Kafka's
ProducerAppendInfo refuses (an older epoch, a gap in the sequence, a
non-transactional batch inside an open transaction, a marker from a fenced
coordinator) and recognises a retried batch, which is acknowledged with
the offsets it got the first time instead of being written again.  After
the append, `apply` accounts for it; replaying a log's batch headers
through `apply` rebuilds the same state.

The open transactions give the last stable offset, and the aborted ones
(Kafka's transaction index) what a read_committed Fetch must drop.

Which checks run depends on where an append comes from (`AppendOrigin`),
as in Kafka: a client's batch gets all of them, a transaction marker the
epoch checks, and batches copied as they are (tools, tests, a follower)
none.

Persistence (`ProducerStateFiles`), as Kafka's snapshots: the state is
written to `<offset>.snapshot` when a partition is created, when a segment
rolls and at a clean shutdown, and restored from the newest snapshot at or
below the log end, replaying the batches after it.  To spare that replay
to partitions that no producer id wrote to since the snapshot (most of
them), `producer-batches-since-snapshot` records, before the first such
batch is written, where it went.
"""

import bisect
import enum
import itertools
import logging
import os
import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


from protocol import checksum
from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.records import ControlType, RecordBatch, end_txn_marker
from protocol.schema import INT16, INT32, INT64, Field, structs

from ..disk_records import DiskFormatError, DiskRecord
from .errors import LogError
from .files import atomic_write, read_metadata, write_metadata
from .scan import BatchHeader

log = logging.getLogger("kgw.log")

# Kafka keeps this many batches per producer for duplicate detection.
CACHED_BATCHES = 5
INT32_MAX = (1 << 31) - 1
SNAPSHOT_SUFFIX = ".snapshot"
PENDING_FILE = "producer-batches-since-snapshot"
PENDING_FORMAT = 1
# Where older kgw versions noted their first transactional batch; the
# snapshots and the pending note replace it.
SUPERSEDED_FILE = "first-transactional-offset"
_CRC = struct.Struct(">I")


class AppendOrigin(enum.Enum):
    """Who appends, which decides the checks (Kafka's AppendOrigin)."""

    # A Produce request: every check, one batch, no control batches.
    CLIENT = "client"
    # Transaction markers (kgw's coordinator, WriteTxnMarkers): epoch checks.
    COORDINATOR = "coordinator"
    # Batches stored as they come, already checked elsewhere: none.
    REPLICATION = "replication"


class Marker(NamedTuple):
    """An end-transaction control record: its type and coordinator epoch."""

    type: ControlType
    coordinator_epoch: int


class BatchMetadata(NamedTuple):
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclass
class ProducerEntry:
    epoch: int
    batches: deque = field(default_factory=lambda: deque(maxlen=CACHED_BATCHES))
    # -1 until a marker of this producer is written here.
    coordinator_epoch: int = -1
    # The first offset of the producer's open transaction here, or -1.
    txn_first_offset: int = -1
    last_timestamp: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    # The offset of the ABORT marker.
    last_offset: int
    # The LSO just after the marker.  Every transaction aborted later starts
    # at or above it (it was open then, or began after the marker), so a
    # search in marker order can stop at the first entry whose stable offset
    # reaches its end, as Kafka's AbortedTxn.lastStableOffset allows.
    stable_offset: int


def _last_offset(txn: AbortedTxn) -> int:
    return txn.last_offset


def _next_seq(seq: int) -> int:
    # Sequences wrap from INT32_MAX back to 0.
    return 0 if seq == INT32_MAX else seq + 1


def last_sequence(header: BatchHeader) -> int:
    return (header.base_sequence + header.last_offset_delta) % (INT32_MAX + 1)


def read_marker(buf, position: int = 0) -> Marker | None:
    """The end-transaction marker of the control batch at `buf[position:]`, or None.

    Kafka has other control records (KRaft's leader change and snapshot
    ones) which leave transactions alone; so does anything undecodable, as
    only the broker writes control batches.
    """
    try:
        batch = RecordBatch(buf, position)
        kind = ControlType(batch.control_record().type)
        return Marker(kind, end_txn_marker(batch.records()[0].value).coordinator_epoch)
    except (DecodeError, ValueError, IndexError):
        return None


class ProducerState:
    """The producers of one partition, as of `end_offset` (Kafka's mapEndOffset)."""

    def __init__(self, end_offset: int = 0):
        self.end_offset = end_offset
        self.producers: dict[int, ProducerEntry] = {}
        # producer id -> first offset of its open transaction.
        self._open: dict[int, int] = {}
        # In marker order.
        self._aborted: list[AbortedTxn] = []

    def __repr__(self) -> str:
        return (f"ProducerState(end={self.end_offset}, producers={len(self.producers)}, "
                f"open={self._open}, aborted={len(self._aborted)})")

    # --- before an append -----------------------------------------------------

    def check(self, header: BatchHeader, origin: AppendOrigin,
              marker: Marker | None = None) -> BatchMetadata | None:
        """Kafka's checks on one batch about to be appended: the metadata of
        the batch it repeats (a client's retry), or None to append it.
        Raises LogError."""
        pid = header.producer_id
        entry = self.producers.get(pid) if pid >= 0 else None
        if entry is None or origin is AppendOrigin.REPLICATION:
            return None
        epoch = header.producer_epoch
        if epoch < entry.epoch:
            raise LogError(ErrorCode.INVALID_PRODUCER_EPOCH,
                           f"producer {pid} epoch {epoch} is older than {entry.epoch}")
        if header.is_control:
            if marker is not None and marker.coordinator_epoch < entry.coordinator_epoch:
                raise LogError(ErrorCode.TRANSACTION_COORDINATOR_FENCED,
                               f"marker from coordinator epoch {marker.coordinator_epoch}, older "
                               f"than {entry.coordinator_epoch}")
            return None
        first_seq, last_seq = header.base_sequence, last_sequence(header)
        if epoch > entry.epoch:
            if origin is AppendOrigin.CLIENT and first_seq != 0:
                raise LogError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                               f"producer {pid} new epoch {epoch} starts at {first_seq}, not 0")
        elif origin is AppendOrigin.CLIENT:
            for written in entry.batches:
                if written.first_seq == first_seq and written.last_seq == last_seq:
                    return written
            # An entry with no batch left (its epoch was bumped by a marker,
            # or it was rebuilt from part of the log) takes any sequence.
            expected = _next_seq(entry.last_seq) if entry.batches else first_seq
            if first_seq != expected:
                raise LogError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                               f"producer {pid} sent sequence {first_seq}, expected {expected}")
        if not header.is_transactional and entry.txn_first_offset >= 0:
            raise LogError(ErrorCode.INVALID_TXN_STATE,
                           f"producer {pid} has an open transaction: its batches must be "
                           f"transactional")
        return None

    # --- after an append, or replaying the log ----------------------------------

    def apply(self, header: BatchHeader, first_offset: int, marker: Marker | None = None,
              timestamp: int | None = None) -> None:
        """Account for a stored batch at `first_offset` (`header`'s own base
        offset may predate assignment).  `marker` is the end-transaction
        marker of a control batch; `timestamp` the log append time, if the
        topic stamps one."""
        last_offset = first_offset + header.last_offset_delta
        self.end_offset = max(self.end_offset, last_offset + 1)
        pid = header.producer_id
        if pid < 0:
            return
        timestamp = header.max_timestamp if timestamp is None else timestamp
        entry = self.producers.get(pid)
        if entry is None:
            entry = self.producers[pid] = ProducerEntry(header.producer_epoch)
        elif header.producer_epoch != entry.epoch:
            # Kafka's maybeUpdateProducerEpoch: a new epoch starts afresh.
            entry.epoch = header.producer_epoch
            entry.batches.clear()
        entry.last_timestamp = timestamp
        if header.is_control:
            if marker is not None:
                entry.coordinator_epoch = marker.coordinator_epoch
                entry.txn_first_offset = -1
                self._completed(pid, first_offset, marker.type is ControlType.COMMIT)
            return
        entry.batches.append(BatchMetadata(header.base_sequence, last_sequence(header),
                                           first_offset, last_offset, timestamp))
        if header.is_transactional and entry.txn_first_offset < 0:
            entry.txn_first_offset = first_offset
            self._open[pid] = first_offset

    def _completed(self, producer_id: int, offset: int, commit: bool) -> None:
        # Kafka's appendEndTxnMarker: a marker with nothing open completes an
        # empty transaction at the marker's own offset, which an ABORT still
        # enters in the index.
        first = self._open.pop(producer_id, offset)
        if not commit:
            stable = min(self._open.values(), default=offset + 1)
            self._aborted.append(AbortedTxn(producer_id, first, offset, stable))

    # --- reading ---------------------------------------------------------------

    def ongoing(self, producer_id: int) -> int | None:
        """The first offset of `producer_id`'s open transaction, or None."""
        return self._open.get(producer_id)

    @property
    def first_unstable_offset(self) -> int | None:
        """The first offset of the earliest open transaction, if any is open."""
        return min(self._open.values(), default=None)

    def aborted_between(self, start: int, end: int) -> list[tuple[int, int]]:
        """(producer id, first offset) of the aborted transactions overlapping [start, end)."""
        found = []
        first = bisect.bisect_left(self._aborted, start, key=_last_offset)
        for txn in itertools.islice(self._aborted, first, None):
            if txn.first_offset < end:
                found.append((txn.producer_id, txn.first_offset))
            if txn.stable_offset >= end:
                break
        found.sort(key=lambda entry: entry[1])
        return found

    def trim(self, log_start_offset: int) -> None:
        """Forget aborted transactions wholly below the log start: nobody can fetch them.

        Producers and open transactions stay, whatever their offsets (Kafka
        keeps them too); the LSO is then held at the log start until their
        markers come.
        """
        del self._aborted[:bisect.bisect_left(self._aborted, log_start_offset, key=_last_offset)]

    # --- snapshots ---------------------------------------------------------------

    def to_snapshot(self) -> bytes:
        Entry = SNAPSHOT.cls.ProducerEntry
        value = SNAPSHOT.cls(
            end_offset=self.end_offset,
            producers=[Entry(producer_id=pid, producer_epoch=e.epoch,
                             coordinator_epoch=e.coordinator_epoch,
                             txn_first_offset=e.txn_first_offset, last_timestamp=e.last_timestamp,
                             batches=[Entry.Batch(first_sequence=b.first_seq,
                                                  last_sequence=b.last_seq,
                                                  first_offset=b.first_offset,
                                                  last_offset=b.last_offset, timestamp=b.timestamp)
                                      for b in e.batches])
                       for pid, e in sorted(self.producers.items())],
            aborted=[SNAPSHOT.cls.AbortedTransaction(
                producer_id=t.producer_id, first_offset=t.first_offset,
                last_offset=t.last_offset, stable_offset=t.stable_offset)
                for t in self._aborted])
        body = SNAPSHOT.encode(value)
        return _CRC.pack(checksum.crc32c(body)) + body

    @classmethod
    def from_snapshot(cls, data: bytes) -> "ProducerState":
        """Raises DiskFormatError for a damaged or unknown snapshot."""
        if len(data) < _CRC.size or _CRC.unpack_from(data)[0] != checksum.crc32c(data[_CRC.size:]):
            raise DiskFormatError("the snapshot's CRC does not match")
        value = SNAPSHOT.decode(data[_CRC.size:])
        state = cls(value.end_offset)
        for e in value.producers:
            entry = state.producers[e.producer_id] = ProducerEntry(
                e.producer_epoch, coordinator_epoch=e.coordinator_epoch,
                txn_first_offset=e.txn_first_offset, last_timestamp=e.last_timestamp)
            entry.batches.extend(BatchMetadata(b.first_sequence, b.last_sequence, b.first_offset,
                                               b.last_offset, b.timestamp) for b in e.batches)
            if e.txn_first_offset >= 0:
                state._open[e.producer_id] = e.txn_first_offset
        state._aborted = [AbortedTxn(t.producer_id, t.first_offset, t.last_offset,
                                     t.stable_offset) for t in value.aborted]
        return state


# Kafka's ProducerStateManager snapshot holds the same per producer; kgw
# adds the aborted transactions, which Kafka keeps in its .txnindex files.
SNAPSHOT = DiskRecord("ProducerSnapshot", "0", [
    Field("end_offset", INT64),
    Field("producers", structs(
        "ProducerEntry",
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("coordinator_epoch", INT32),
        Field("txn_first_offset", INT64),
        Field("last_timestamp", INT64),
        Field("batches", structs(
            "Batch",
            Field("first_sequence", INT32),
            Field("last_sequence", INT32),
            Field("first_offset", INT64),
            Field("last_offset", INT64),
            Field("timestamp", INT64))))),
    Field("aborted", structs(
        "AbortedTransaction",
        Field("producer_id", INT64),
        Field("first_offset", INT64),
        Field("last_offset", INT64),
        Field("stable_offset", INT64))),
])


def snapshot_name(offset: int) -> str:
    return f"{offset:020d}{SNAPSHOT_SUFFIX}"


class ProducerStateFiles:
    """A partition directory's snapshots and its pending-batches note."""

    def __init__(self, directory: Path, sync: bool = True):
        self.directory = directory
        # Whether the pending note is fsynced before the batch it announces
        # (not under --flush never, which promises nothing before shutdown).
        self.sync = sync
        (directory / SUPERSEDED_FILE).unlink(missing_ok=True)
        self.offsets = sorted(
            int(entry.name[:-len(SNAPSHOT_SUFFIX)]) for entry in os.scandir(directory)
            if entry.name.endswith(SNAPSHOT_SUFFIX) and entry.name[:-len(SNAPSHOT_SUFFIX)].isdigit())
        # Whether the note names where the producer batches after the newest
        # snapshot begin (None: not known yet, read on first need).
        self._pending: dict | None = None
        self._pending_read = False

    def _read_pending(self) -> dict | None:
        if not self._pending_read:
            try:
                self._pending = read_metadata(self.directory / PENDING_FILE, PENDING_FORMAT)
            except ValueError as exc:
                log.error("%s is unreadable (%s); producers are rebuilt from the last snapshot",
                          self.directory / PENDING_FILE, exc)
                self._pending = {"snapshot": -1, "first_offset": -1}
            self._pending_read = True
        return self._pending

    @property
    def has_pending(self) -> bool:
        """Whether producer batches may follow the newest snapshot."""
        return self._read_pending() is not None or not self.offsets

    def note_producer_batch(self, offset: int) -> None:
        """Before a producer's batch goes to `offset`: say so, once per snapshot."""
        if self._read_pending() is not None:
            return
        latest = self.offsets[-1] if self.offsets else -1
        fields = {"snapshot": latest, "first_offset": offset}
        try:
            write_metadata(self.directory / PENDING_FILE, PENDING_FORMAT, fields, sync=self.sync)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot write {PENDING_FILE} in {self.directory}: {exc}") from exc
        self._pending = fields

    def write(self, state: ProducerState, *, sync: bool = True) -> Path:
        """Snapshot `state`; what was pending is then covered.  Without
        `sync`, the caller fsyncs the file and the directory later."""
        offset = state.end_offset
        path = self.directory / snapshot_name(offset)
        atomic_write(path, state.to_snapshot(), sync=sync)
        if offset not in self.offsets:
            bisect.insort(self.offsets, offset)
        if self._read_pending() is not None:
            (self.directory / PENDING_FILE).unlink(missing_ok=True)
            self._pending = None
        return path

    def restore(self, log_start: int, log_end: int) -> tuple[ProducerState, int | None]:
        """The state of the newest readable snapshot at or below `log_end`,
        and the offset to replay the log from (None: nothing to replay)."""
        newest = self.offsets[-1] if self.offsets else None
        for offset in reversed(self.offsets):
            if offset > log_end:
                # Recovery cut the log below it: it describes batches now gone.
                self._delete(offset)
                continue
            try:
                state = ProducerState.from_snapshot((self.directory / snapshot_name(offset)).read_bytes())
            except (OSError, DiskFormatError) as exc:
                log.error("%s: cannot read the producer snapshot at %d (%s); trying an older one",
                          self.directory, offset, exc)
                self._delete(offset)
                continue
            pending = self._read_pending()
            if pending is None and offset == newest:
                return state, None
            if pending is not None and pending.get("snapshot") == offset:
                return state, max(offset, pending.get("first_offset", offset))
            return state, offset
        # No snapshot: a directory from an older kgw, or snapshots lost.
        return ProducerState(log_start), log_start

    def delete_before(self, offset: int) -> None:
        """Drop the snapshots below `offset` (the first segment's base), but the newest."""
        for old in [o for o in self.offsets[:-1] if o < offset]:
            self._delete(old)

    def _delete(self, offset: int) -> None:
        (self.directory / snapshot_name(offset)).unlink(missing_ok=True)
        self.offsets.remove(offset)
