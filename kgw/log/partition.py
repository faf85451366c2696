"""One partition's log: a list of segments, appended to at the end.

Everything here runs on the broker's event-loop thread and never blocks on
the disk beyond page-cache writes, except `flush()` and start-up recovery;
the fsyncs of the durability layer go through `begin_flush` (on this
thread), `FlushJob.run` (on a worker thread; it touches nothing but the
descriptors it holds) and `end_flush` (back on this thread).

Offsets are dense: each batch's base offset is the previous batch's last
offset plus one, across segments too, and recovery cuts a log back to the
last point where that holds.

Transactions (see `transactions`): the partition tracks its open and
aborted transactions, rebuilt lazily from the batch headers after a start,
and serves the last stable offset and the aborted list that
read_committed Fetch needs; `append_marker` writes the end-transaction
markers.
"""

import bisect
import json
import logging
import os
import random
import shutil
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

from protocol.error_codes import ErrorCode
from protocol.records import (
    BASE_OFFSET_OFFSET, BATCH_HEADER_SIZE, PARTITION_LEADER_EPOCH_OFFSET, ControlType,
    build_control_batch, set_log_append_time,
)

from .config import INT32_MAX
from .errors import LogError
from .files import FileRange, FileRecords, OpenFile, atomic_write, fsync_dir, pread_exact
from .index import OFFSET_ENTRY_SIZE
from .recovery import LOG_START_OFFSET_FILE, LOG_START_OFFSET_FORMAT, load_directory
from .scan import BatchHeader
from .segment import Segment
from .timestamps import first_at_or_after, first_with_max_timestamp
from .transactions import (
    TransactionState, is_transactional, marker_type, read_first_transactional_offset,
    store_first_transactional_offset,
)
from .validation import validate_records

if TYPE_CHECKING:
    from .topic import Topic

log = logging.getLogger("kgw.log")

# kgw is a single node that is always the leader, in epoch 0.
LEADER_EPOCH = 0
_BASE_OFFSET = struct.Struct(">q")
_LEADER_EPOCH = struct.Struct(">i")


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    # The broker time stamped into the batches, or -1 for CreateTime topics.
    log_append_time_ms: int
    log_start_offset: int


class ReadResult(NamedTuple):
    records: FileRecords | None
    high_watermark: int
    log_start_offset: int
    # Records in `records`' batches, known without reading them: offsets in
    # a segment are contiguous and every batch's record count is its offset
    # span (validation checks it).
    record_count: int = 0
    # The offset after the last batch in `records`; None without records.
    next_offset: int | None = None


class FlushJob:
    """What one fsync round of a partition covers, captured on the loop's thread."""

    def __init__(self, end_offset: int, segments: list[Segment], files: list[OpenFile],
                 directory: Path | None):
        self.end_offset = end_offset
        self.segments = segments
        self._files = files
        self._directory = directory

    def run(self) -> None:
        """The fsyncs themselves; safe on any thread."""
        for file in self._files:
            os.fsync(file.fd)
        if self._directory is not None:
            fsync_dir(self._directory)


class PartitionLog:
    def __init__(self, topic: "Topic", index: int, directory: Path, clock_ms: Callable[[], int]):
        self.topic = topic
        self.index = index
        self.directory = directory
        self._clock_ms = clock_ms
        self._segments: list[Segment] = []
        self.log_start_offset = 0
        # Every offset below this is on disk (fsynced), and so are the indexes
        # of the segments wholly below it (Kafka's recovery point).
        self.recovery_point = 0
        # Segments with writes not yet fsynced, and whether the directory
        # has entries (new or unlinked files) not yet fsynced.
        self._dirty: list[Segment] = []
        self._dir_dirty = False
        # Why the partition refuses service, or None while it serves.
        self.offline: str | None = None
        self._deleted = False
        self._closed = False
        # Built on first use (see `transactions`), then kept up to date.
        self._transactions: TransactionState | None = None
        # Where the first transactional batch went (its file), None if none ever did.
        self._first_transactional: int | None = None

    def __repr__(self) -> str:
        return f"PartitionLog({self.topic.name}-{self.index}, {self.log_start_offset}..{self.log_end_offset})"

    # --- creation and loading ----------------------------------------------

    @classmethod
    def create(cls, topic: "Topic", index: int, directory: Path,
               clock_ms: Callable[[], int]) -> "PartitionLog":
        partition = cls(topic, index, directory, clock_ms)
        directory.mkdir()
        partition._segments.append(Segment.create(directory, 0, clock_ms()))
        fsync_dir(directory)
        return partition

    @classmethod
    def load(cls, topic: "Topic", index: int, directory: Path, clock_ms: Callable[[], int], *,
             clean: bool, recovery_point: int) -> "PartitionLog":
        """Open an existing partition directory, recovering what may not be intact.

        After a clean shutdown the files are trusted and only the end of the
        active segment is checked.  Otherwise every segment holding offsets
        at or past `recovery_point` (the last checkpointed fsync) is
        re-validated batch by batch with CRCs, the first bad batch and all
        after it are cut off, and the indexes are rebuilt.  A partition that
        cannot be read at all comes back offline, with the reason logged.
        """
        partition = cls(topic, index, directory, clock_ms)
        try:
            loaded = load_directory(directory, topic.log_config.index_interval_bytes, clock_ms(),
                                    clean=clean, recovery_point=recovery_point)
            first_transactional = read_first_transactional_offset(directory)
        except OSError as exc:
            partition.offline = f"cannot load {directory}: {exc}"
            log.error("partition %s-%d is offline: %s", topic.name, index, partition.offline)
            return partition
        partition._segments = loaded.segments
        partition._dirty = loaded.unflushed
        partition._dir_dirty = loaded.directory_changed
        partition.log_start_offset = loaded.log_start_offset
        partition.recovery_point = loaded.recovery_point
        partition._first_transactional = first_transactional
        return partition

    # --- state --------------------------------------------------------------

    @property
    def active(self) -> Segment:
        return self._segments[-1]

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset if self._segments else self.log_start_offset

    @property
    def high_watermark(self) -> int:
        """A single node's high watermark is its log end offset."""
        return self.log_end_offset

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def ensure_available(self) -> None:
        """LogError unless the partition serves: deleted or offline partitions do not."""
        if self._deleted:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                           f"{self.topic.name}-{self.index} has been deleted")
        if self.offline is not None:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, self.offline)
        if self._closed:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, "the log is shutting down")

    # --- append ------------------------------------------------------------

    def append(self, records, *, now_ms: int | None = None, client: bool = True) -> AppendResult:
        """Validate every batch of `records`, then write them all with one pwritev.

        Offsets are assigned from the log end offset, the leader epoch set
        to 0 and, for LogAppendTime topics, the append time stamped in.  Only
        the 61-byte headers are copied to be patched; the payloads go to the
        file straight from the caller's buffer.  On an I/O error the segment
        is cut back to where it was and the append fails with
        KAFKA_STORAGE_ERROR; the partition stays usable.
        """
        self.ensure_available()
        config = self.topic.log_config
        now = self._clock_ms() if now_ms is None else now_ms
        view = memoryview(records).cast("B")
        headers = validate_records(view, config, now, client)
        if len(view) > config.segment_bytes:
            raise LogError(ErrorCode.RECORD_LIST_TOO_LARGE,
                           f"{len(view)} bytes of records exceed the segment size "
                           f"{config.segment_bytes}")
        append_time = config.log_append_time
        count = 0
        max_ts = -1
        for header in headers:
            count += header.record_count
            max_ts = max(max_ts, now if append_time else header.max_timestamp)
        segment = self.active
        if not segment.is_empty:
            self._maybe_roll(segment, len(view), count, max_ts, now)
            segment = self.active

        base = next_offset = self.log_end_offset
        buffers = []
        # (offset, header) of the batches that touch transaction state.
        transactional = []
        for header in headers:
            if is_transactional(header):
                transactional.append((next_offset, header))
            if append_time:
                # The CRC covers maxTimestamp, so this batch is copied whole.
                batch = bytearray(view[header.position:header.end])
                set_log_append_time(batch, 0, now)
                buffers.append(batch)
            else:
                batch = bytearray(view[header.position:header.position + BATCH_HEADER_SIZE])
                buffers += (batch, view[header.position + BATCH_HEADER_SIZE:header.end])
            # set_base_offset and set_partition_leader_epoch, minus their
            # checks on a header this function has just validated: this is
            # the per-append hot path.
            _BASE_OFFSET.pack_into(batch, BASE_OFFSET_OFFSET, next_offset)
            _LEADER_EPOCH.pack_into(batch, PARTITION_LEADER_EPOCH_OFFSET, LEADER_EPOCH)
            next_offset += header.record_count
        if transactional:
            self._note_first_transactional(transactional[0][0])

        start = segment.size
        try:
            segment.write(buffers, start)
        except OSError as exc:
            self._storage_error_during_write(segment, start, exc)
        interval = config.index_interval_bytes
        offset = base
        for header in headers:
            offset += header.record_count
            segment.note_batch(start + header.position, header.size, offset - 1,
                               now if append_time else header.max_timestamp, interval)
        self._mark_dirty(segment)
        if self._transactions is not None:
            for offset, header in transactional:
                marker = marker_type(view, header.position) if header.is_control else None
                self._transactions.note(header, offset, marker)
        return AppendResult(base, next_offset - 1, now if append_time else -1,
                            self.log_start_offset)

    def append_marker(self, producer_id: int, producer_epoch: int, commit: bool, *,
                      coordinator_epoch: int = 0, now_ms: int | None = None) -> AppendResult:
        """Write an end-transaction marker (COMMIT or ABORT), as the coordinator's WriteTxnMarkers.

        It closes the producer's open transaction here; an ABORT enters it
        in the aborted index.  A marker for a producer with nothing open is
        written all the same, as Kafka writes it.
        """
        now = self._clock_ms() if now_ms is None else now_ms
        batch = build_control_batch(ControlType.COMMIT if commit else ControlType.ABORT,
                                    producer_id=producer_id, producer_epoch=producer_epoch,
                                    timestamp=now, coordinator_epoch=coordinator_epoch)
        return self.append(batch, now_ms=now, client=False)

    def _note_first_transactional(self, offset: int) -> None:
        """Record, before the batch at `offset` is written, that transactions start there.

        Rewritten only when `offset` is lower than the recorded one, which
        happens after recovery cut the log back below it.
        """
        if self._first_transactional is not None and self._first_transactional <= offset:
            return
        try:
            store_first_transactional_offset(self.directory, offset)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot record the first transactional offset in {self.directory}: "
                           f"{exc}") from exc
        self._first_transactional = offset

    def _storage_error_during_write(self, segment: Segment, start: int, exc: OSError):
        size = _file_size(segment.file)
        if size != start:
            self.offline = (f"write to {segment.path} failed ({exc}) and the file could not be "
                            f"cut back to {start} bytes")
            log.error("partition %s-%d is offline: %s", self.topic.name, self.index, self.offline)
        else:
            log.error("append to %s failed, file cut back to %d bytes: %s", segment.path, start, exc)
        raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, f"write to {segment.path} failed: {exc}") from exc

    def _maybe_roll(self, segment: Segment, size: int, count: int, incoming_max_ts: int,
                    now: int) -> None:
        """Kafka's LogSegment.shouldRoll for a non-empty active segment: size, age,
        a full index, or relative offsets that would overflow."""
        config = self.topic.log_config
        reason = None
        if segment.size + size > config.segment_bytes:
            reason = f"size {segment.size} + {size} > segment.bytes {config.segment_bytes}"
        elif self._age(segment, incoming_max_ts, now) > config.segment_ms - segment.roll_jitter_ms:
            reason = f"older than segment.ms {config.segment_ms}"
        elif len(segment.offset_index) >= config.segment_index_bytes // OFFSET_ENTRY_SIZE:
            reason = "offset index full"
        elif self.log_end_offset + count - 1 - segment.base_offset > INT32_MAX:
            reason = "relative offsets would overflow"
        if reason is not None:
            self._roll(now, reason)

    @staticmethod
    def _age(segment: Segment, incoming_max_ts: int, now: int) -> int:
        first = segment.first_batch_timestamp
        if first is not None and first >= 0:
            return incoming_max_ts - first
        return now - segment.created_ms

    def _roll(self, now: int, reason: str) -> None:
        old = self.active
        old.seal_time_index()
        try:
            new = Segment.create(self.directory, self.log_end_offset, now)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot create a segment in {self.directory}: {exc}") from exc
        config = self.topic.log_config
        if config.segment_jitter_ms:
            new.roll_jitter_ms = random.randrange(min(config.segment_jitter_ms, config.segment_ms))
        self._segments.append(new)
        self._mark_dirty(old)
        self._dir_dirty = True
        log.debug("rolled %s-%d to a new segment at offset %d (%s)", self.topic.name, self.index,
                  new.base_offset, reason)

    def _mark_dirty(self, segment: Segment) -> None:
        if segment not in self._dirty:
            self._dirty.append(segment)

    # --- read ---------------------------------------------------------------

    def read(self, offset: int, max_bytes: int, *, min_one: bool = True,
             max_offset: int | None = None) -> ReadResult:
        """Whole batches from the one holding `offset`, within `max_bytes`.

        With `min_one` (KIP-74; Kafka's minOneMessage, true for the first
        partition of a Fetch) the first batch is returned even when larger
        than `max_bytes`.  A read stays within one segment, as Kafka's does:
        the next fetch continues in the next segment.  With `max_offset`
        (the LSO, for read_committed) only batches wholly below it are
        returned: Kafka bounds the read at the position of the batch that
        holds that offset, and reading there or past it finds nothing.
        """
        self.ensure_available()
        end = self.log_end_offset
        start = self.log_start_offset
        if offset < start or offset > end:
            raise LogError(ErrorCode.OFFSET_OUT_OF_RANGE,
                           f"offset {offset} is outside [{start}, {end}] of "
                           f"{self.topic.name}-{self.index}")
        limit = end if max_offset is None else min(max_offset, end)
        if offset < limit:
            for segment in self._segments[self._segment_at(offset):]:
                first = segment.find_batch(offset)
                if first is None:
                    continue
                if first.last_offset >= limit or (not min_one and first.size > max_bytes):
                    break
                budget = max_bytes
                if limit < segment.next_offset:
                    # `first` ends below the limit, so this never cuts into it.
                    budget = min(budget, segment.find_batch(limit).position - first.position)
                length, next_offset = segment.read_extent(first, budget)
                return ReadResult(FileRecords([FileRange(segment.file, first.position, length)]),
                                  end, start, next_offset - first.base_offset, next_offset)
        return ReadResult(None, end, start)

    def _segment_at(self, offset: int) -> int:
        """Index of the last segment whose base offset is <= `offset` (0 if none)."""
        return max(bisect.bisect_right(self._segments, offset, key=lambda s: s.base_offset) - 1, 0)

    def batches_from(self, offset: int = 0) -> Iterator[BatchHeader]:
        """Headers of every batch holding offsets >= `offset`, to the current end.

        For rebuilding producer state and for tools; each header's
        `position` is within its own segment.
        """
        self.ensure_available()
        for _, header in self._stored_batches(offset):
            yield header

    def _stored_batches(self, offset: int) -> Iterator[tuple[Segment, BatchHeader]]:
        for segment in self._segments[self._segment_at(offset):]:
            for header in segment.batches(segment.offset_index.lookup(offset), segment.size):
                if header.last_offset >= offset:
                    yield segment, header

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after `timestamp` (ListOffsets by time)."""
        self.ensure_available()
        return first_at_or_after(self._segments, timestamp, self.log_start_offset)

    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with the largest timestamp (ListOffsets -3)."""
        self.ensure_available()
        if self.log_start_offset >= self.log_end_offset:
            return None
        return first_with_max_timestamp(self._segments)

    # --- transactions -------------------------------------------------------

    @property
    def last_stable_offset(self) -> int:
        """The first offset of the earliest open transaction, or the high watermark.

        Never below the log start offset, as in Kafka, though a transaction
        may stay open after retention passed its first offset.  A partition
        that does not serve (and so cannot rebuild) answers its high
        watermark, like the other offsets it still reports in errors.
        """
        state = self._transaction_state() if self._serving else self._transactions
        first = state.first_unstable_offset if state is not None else None
        if first is None:
            return self.high_watermark
        return max(first, self.log_start_offset)

    def ongoing_transaction(self, producer_id: int) -> int | None:
        """The first offset of `producer_id`'s open transaction here, or None."""
        self.ensure_available()
        return self._transaction_state().ongoing(producer_id)

    def aborted_transactions(self, start_offset: int, end_offset: int) -> list[tuple[int, int]]:
        """(producer id, first offset), by first offset, of every aborted transaction
        overlapping [start_offset, end_offset): what a read_committed Fetch answers."""
        self.ensure_available()
        return self._transaction_state().aborted_between(start_offset, end_offset)

    def _transaction_state(self) -> TransactionState:
        if self._transactions is None:
            state = TransactionState()
            if self._first_transactional is not None:
                self._replay(state, self._first_transactional)
                state.trim(self.log_start_offset)
            self._transactions = state
        return self._transactions

    def _replay(self, state: TransactionState, offset: int) -> None:
        """Rebuild `state` from the stored batches from `offset` (or the oldest kept) on.

        Headers only, but for the few bytes of each control batch.  The
        state is built before retention deletes segments, but a restart
        forgets a transaction whose batches were all in deleted segments
        and whose marker has not come yet: nothing of it can be read any
        more, but the LSO no longer waits for it (Kafka's producer-state
        snapshots keep it).
        """
        for segment, header in self._stored_batches(offset):
            if is_transactional(header):
                marker = None
                if header.is_control:
                    data = pread_exact(segment.file.fd, header.size, header.position)
                    marker = marker_type(data, 0)
                state.note(header, header.base_offset, marker)

    def _trim_transactions(self) -> None:
        if self._transactions is not None:
            self._transactions.trim(self.log_start_offset)

    # --- deleting -----------------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to `offset` (-1: the high watermark).

        The new start is checkpointed before returning, so it survives a
        crash; whole segments below it are deleted.  Returns the log start
        offset (the low watermark Kafka answers with).
        """
        self.ensure_available()
        end = self.log_end_offset
        if offset == -1:
            offset = end
        if offset < 0 or offset > end:
            raise LogError(ErrorCode.OFFSET_OUT_OF_RANGE,
                           f"cannot delete records before {offset}: the log ends at {end}")
        if offset > self.log_start_offset:
            self._store_log_start_offset(offset)
            self.log_start_offset = offset
            self._trim_transactions()
            self._delete_oldest(self._below_start, self._clock_ms(), "below the log start offset")
        return self.log_start_offset

    def _store_log_start_offset(self, offset: int) -> None:
        data = json.dumps({"format_version": LOG_START_OFFSET_FORMAT, "log_start_offset": offset})
        try:
            atomic_write(self.directory / LOG_START_OFFSET_FILE, data.encode())
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot record the log start offset in {self.directory}: {exc}") from exc

    def enforce_retention(self, now_ms: int) -> int:
        """Kafka's three retention rules over whole segments; the number deleted.

        retention.ms by a segment's newest timestamp, retention.bytes by
        total size, and segments wholly below the log start offset.  When
        every segment is due, a new empty segment is rolled first, so the
        active segment itself is never deleted (Kafka does the same).
        """
        if not self._serving:
            return 0
        config = self.topic.log_config
        deleted = 0
        if config.delete_policy and config.retention_ms >= 0:
            def expired(segment, following):
                return now_ms - _newest_timestamp(segment) > config.retention_ms
            deleted += self._delete_oldest(expired, now_ms, f"retention.ms {config.retention_ms}")
        if config.delete_policy and 0 <= config.retention_bytes < self.size_bytes:
            excess = self.size_bytes - config.retention_bytes

            def over_size(segment, following):
                nonlocal excess
                if excess - segment.size < 0:
                    return False
                excess -= segment.size
                return True
            deleted += self._delete_oldest(over_size, now_ms,
                                           f"retention.bytes {config.retention_bytes}")
        deleted += self._delete_oldest(self._below_start, now_ms, "below the log start offset")
        return deleted

    def _below_start(self, segment: Segment, following: Segment | None) -> bool:
        return following is not None and following.base_offset <= self.log_start_offset

    def _delete_oldest(self, due, now_ms: int, why: str) -> int:
        victims = []
        for i, segment in enumerate(self._segments):
            following = self._segments[i + 1] if i + 1 < len(self._segments) else None
            if (following is None and segment.is_empty) or not due(segment, following):
                break
            victims.append(segment)
        if not victims:
            return 0
        # Transactions open in the victims must be known before they go.
        self._transaction_state()
        if len(victims) == len(self._segments):
            self._roll(now_ms, "every segment is due for deletion")
        del self._segments[:len(victims)]
        for segment in victims:
            segment.delete_files()
            if segment in self._dirty:
                self._dirty.remove(segment)
        self._dir_dirty = True
        self.log_start_offset = max(self.log_start_offset, self._segments[0].base_offset)
        self._trim_transactions()
        log.info("%s-%d: deleted %d segment(s) (%s), log start offset now %d", self.topic.name,
                 self.index, len(victims), why, self.log_start_offset)
        return len(victims)

    def delete(self) -> None:
        """Remove every file of the partition; held FileRanges stay readable."""
        self._deleted = True
        for segment in self._segments:
            segment.delete_files()
        self._segments = []
        self._dirty = []
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- durability ---------------------------------------------------------

    @property
    def _serving(self) -> bool:
        return not (self._deleted or self._closed) and self.offline is None

    @property
    def needs_flush(self) -> bool:
        return self._serving and (bool(self._dirty) or self._dir_dirty
                                  or self.recovery_point < self.log_end_offset)

    @property
    def needs_background_flush(self) -> bool:
        """Rolled segments or directory entries not yet fsynced (Kafka flushes those on roll)."""
        return self._serving and (self._dir_dirty or any(s is not self.active for s in self._dirty))

    def begin_flush(self, *, active_indexes: bool = False) -> FlushJob | None:
        """Capture what an fsync round must cover; None if everything is durable.

        The active segment's indexes are left out unless asked for: recovery
        always rebuilds them after an unclean stop, so fsyncing them would
        only double the cost of every acks=all round.  Closed segments'
        indexes are written and fsynced, since a restart trusts them.
        """
        self.ensure_available()
        if not self.needs_flush:
            return None
        active = self.active
        files = []
        try:
            for segment in self._dirty:
                files.append(segment.file)
                if segment is not active or active_indexes:
                    files.extend(segment.index_files_for_flush())
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot write the indexes of {self.directory}: {exc}") from exc
        job = FlushJob(self.log_end_offset, self._dirty, files,
                       self.directory if self._dir_dirty else None)
        self._dirty = []
        self._dir_dirty = False
        return job

    def end_flush(self, job: FlushJob) -> None:
        self.recovery_point = max(self.recovery_point, job.end_offset)
        if not self._serving:
            return
        active = self.active
        for segment in job.segments:
            if segment is not active:
                segment.release_index_files()

    def fail_flush(self, job: FlushJob, exc: OSError) -> LogError:
        """An fsync failed; the error for whoever waited on it.

        After a failed fsync Linux may already have dropped the dirty pages,
        so what was acknowledged can no longer be vouched for: the partition
        stops serving (Kafka takes the whole log directory offline).
        """
        if self._deleted:
            return LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                            f"{self.topic.name}-{self.index} has been deleted")
        self.offline = f"fsync in {self.directory} failed: {exc}"
        log.error("partition %s-%d is offline: %s", self.topic.name, self.index, self.offline)
        return LogError(ErrorCode.KAFKA_STORAGE_ERROR, self.offline)

    def flush(self) -> None:
        """fsync everything written so far, indexes included, on this thread."""
        job = self.begin_flush(active_indexes=True)
        if job is None:
            return
        try:
            job.run()
        except OSError as exc:
            raise self.fail_flush(job, exc) from exc
        self.end_flush(job)

    def close(self) -> None:
        """Flush, then drop the segments; descriptors close once no reader holds them."""
        try:
            if self.offline is None and not self._deleted and not self._closed:
                self.active.seal_time_index()
                self._mark_dirty(self.active)
                self.flush()
        finally:
            self._closed = True
            self._segments = []


def _newest_timestamp(segment: Segment) -> int:
    """Kafka's LogSegment.largestTimestamp: the max timestamp, or the file's mtime without one."""
    if segment.max_timestamp > 0:
        return segment.max_timestamp
    return os.fstat(segment.file.fd).st_mtime_ns // 1_000_000


def _file_size(file: OpenFile) -> int:
    try:
        return os.fstat(file.fd).st_size
    except OSError:
        return -1
