"""One partition's log: a list of segments, appended to at the end.

Everything here runs on the broker's event-loop thread and never blocks on
the disk beyond page-cache writes, except `flush()` and start-up recovery
(and `CheckedRecords.run`, which reads only the records it checks and may
run on a worker thread);
the fsyncs of the durability layer go through `begin_flush` (on this
thread), `FlushJob.run` (on a worker thread) and `end_flush` (back on this
thread); see `flushing`.

Offsets are dense: each batch's base offset is the previous batch's last
offset plus one, across segments too, and recovery cuts a log back to the
last point where that holds.

Every append goes through `append(records, origin)`, as every append of
Kafka's goes through UnifiedLog.append (a Produce takes it in its two
halves, `check` and `append_checked`, to walk large batches' records off
the event loop in between): the records are validated, the
producer state (`producer_state`: idempotent sequences, transactions)
checks them as the origin requires, they are written, the state accounts
for them, and the log's hooks hear of it (the broker wakes long polls and
counts them there).  The producer state is the partition's own: restored
from its snapshots when first needed, snapshotted when a segment rolls
and at shutdown, and trimmed with the log.  Retention's rules are in
`retention`; this class deletes the segments they pick.
"""

import bisect
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
from .descriptors import DescriptorCache
from .files import FileRange, FileRecords, fsync_dir, pread_exact, write_metadata
from .flushing import FlushJob, FlushNotRun, Unflushed
from .index import OFFSET_ENTRY_SIZE
from .producer_state import (
    AppendOrigin, Marker, ProducerEntry, ProducerState, ProducerStateFiles, read_marker,
)
from .recovery import LOG_START_OFFSET_FILE, LOG_START_OFFSET_FORMAT, load_directory
from .retention import below_start
from .scan import BatchHeader
from .segment import Segment
from .recompression import needs_recompression, recompress
from .record_checks import RecordsCheck
from .timestamps import Probe, first_resolved, probe_max_timestamp, probes_at_or_after, resolve
from .validation import check_keys, validate_records

if TYPE_CHECKING:
    from .config import LogConfig
    from .topic import Topic

log = logging.getLogger("kgw.log")

_BASE_OFFSET = struct.Struct(">q")
_LEADER_EPOCH = struct.Struct(">i")


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    # The broker time stamped into the batches, or -1 for CreateTime topics
    # (and for a duplicate, as Kafka answers a retried batch).
    log_append_time_ms: int
    log_start_offset: int
    # Bytes written; 0 for a duplicate.
    size: int = 0
    # A client's retry of batches already written: nothing was written now.
    duplicate: bool = False


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


def _no_transaction_check(transactional_id: str | None, header: BatchHeader,
                          partition: "PartitionLog") -> None:
    return None


class LogHooks:
    """What the log calls out to, and what all its partitions share; its
    owner (the broker) sets them.

    `clock_ms`: the time appends are stamped with.  `appended(partition,
    result, origin)`: after every append that wrote something.
    `verify_transaction(transactional_id, header, partition)`: before a
    client's transactional batch, raising a KafkaError if the transaction
    coordinator does not know it in this partition (Kafka's verification
    before appending, KIP-890).  `files`: the descriptor cache every
    segment opens its files through.
    """

    def __init__(self, clock_ms: Callable[[], int], files: DescriptorCache):
        self.clock_ms = clock_ms
        self.files = files
        self.appended: Callable[["PartitionLog", AppendResult, AppendOrigin], None] = (
            lambda partition, result, origin: None)
        self.verify_transaction: Callable[[str | None, BatchHeader, "PartitionLog"], None] = (
            _no_transaction_check)
        # Whether small files that must precede data on disk are fsynced
        # at once; not under --flush never, which promises nothing before
        # shutdown.
        self.fsync_metadata = True


class PartitionLog:
    def __init__(self, topic: "Topic", index: int, directory: Path, hooks: LogHooks):
        self.topic = topic
        self.index = index
        self.directory = directory
        self.hooks = hooks
        # Stamped into every batch appended; a single node leads every
        # partition in epoch 0 for good.
        self.leader_epoch = 0
        self._segments: list[Segment] = []
        self.log_start_offset = 0
        self._unflushed = Unflushed(directory, 0)
        # Why the partition refuses service, or None while it serves.
        self.offline: str | None = None
        self._deleted = False
        self._closed = False
        # Restored from the snapshots on first use, then kept up to date.
        self._producers: ProducerState | None = None
        self._producer_files: ProducerStateFiles | None = None

    def __repr__(self) -> str:
        return f"PartitionLog({self.topic.name}-{self.index}, {self.log_start_offset}..{self.log_end_offset})"

    # --- creation and loading ----------------------------------------------

    @classmethod
    def create(cls, topic: "Topic", index: int, directory: Path, hooks: LogHooks, *,
               sync: bool = True) -> "PartitionLog":
        """A new empty partition in the new `directory`.

        Safe on a worker thread: it touches nothing but that directory (and
        reads `topic`).  With `sync` the directory's entries are fsynced
        before returning; without, that is the caller's to do, as its
        parent's entry always is.
        """
        partition = cls(topic, index, directory, hooks)
        directory.mkdir()
        partition._segments.append(Segment.create(directory, 0, hooks.clock_ms(), hooks.files))
        partition._producer_files = ProducerStateFiles(directory, hooks.fsync_metadata)
        partition._producers = ProducerState(0)
        # Not fsynced itself: the directory's fsync makes its name durable,
        # and should its bytes be lost, the restore finds it unreadable and
        # replays the log from its start, which is all this one says.
        partition._producer_files.write(partition._producers, sync=False)
        if sync:
            fsync_dir(directory)
        return partition

    @classmethod
    def load(cls, topic: "Topic", index: int, directory: Path, hooks: LogHooks, *,
             clean: bool, recovery_point: int) -> "PartitionLog":
        """Open an existing partition directory, recovering what may not be intact.

        After a clean shutdown the files are trusted and only the end of the
        active segment is checked.  Otherwise every segment holding offsets
        at or past `recovery_point` (the last checkpointed fsync) is
        re-validated batch by batch with CRCs, the first bad batch and all
        after it are cut off, and the indexes are rebuilt.  A partition that
        cannot be read at all comes back offline, with the reason logged.
        """
        partition = cls(topic, index, directory, hooks)
        try:
            loaded = load_directory(directory, topic.log_config.index_interval_bytes,
                                    hooks.clock_ms(), hooks.files, clean=clean,
                                    recovery_point=recovery_point)
            partition._producer_files = ProducerStateFiles(directory, hooks.fsync_metadata)
        except OSError as exc:
            partition.offline = f"cannot load {directory}: {exc}"
            log.error("partition %s-%d is offline: %s", topic.name, index, partition.offline)
            return partition
        partition._segments = loaded.segments
        partition._unflushed = Unflushed(directory, loaded.recovery_point, loaded.unflushed,
                                         loaded.directory_changed)
        partition.log_start_offset = loaded.log_start_offset
        return partition

    # --- state --------------------------------------------------------------

    @property
    def active(self) -> Segment:
        return self._segments[-1]

    @property
    def segments(self) -> list[Segment]:
        """Oldest first; the last is the active one.  Not to be changed."""
        return self._segments

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset if self._segments else self.log_start_offset

    @property
    def high_watermark(self) -> int:
        """A single node's high watermark is its log end offset."""
        return self.log_end_offset

    @property
    def recovery_point(self) -> int:
        return self._unflushed.recovery_point

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def check_leader_epoch(self, epoch: int) -> None:
        """Kafka's localLogWithEpochOrThrow: a client naming the leader
        epoch it knows (KIP-320) learns whether it is behind this
        partition's (FENCED_LEADER_EPOCH) or ahead of it
        (UNKNOWN_LEADER_EPOCH). Raises LogError."""
        if epoch < self.leader_epoch:
            raise LogError(ErrorCode.FENCED_LEADER_EPOCH,
                           f"leader epoch {epoch} is older than the current {self.leader_epoch}")
        if epoch > self.leader_epoch:
            raise LogError(ErrorCode.UNKNOWN_LEADER_EPOCH,
                           f"leader epoch {epoch} is newer than the current {self.leader_epoch}")

    def epoch_end_offset(self, epoch: int) -> int | None:
        """The offset after the last one written in leader epoch `epoch`
        (Kafka's lastOffsetForLeaderEpoch), None for an epoch this
        partition never had: its only one is its current one."""
        return self.log_end_offset if epoch == self.leader_epoch else None

    def ensure_available(self) -> None:
        """LogError unless the partition serves: deleted or offline partitions do not."""
        if self._deleted:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                           f"{self.topic.name}-{self.index} has been deleted")
        if self.offline is not None:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, self.offline)
        if self._closed:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, "the log is shutting down")

    @property
    def _files(self) -> ProducerStateFiles:
        """The producer state's files; a partition that loaded has them."""
        if self._producer_files is None:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, f"{self.directory} did not load")
        return self._producer_files

    @property
    def _serving(self) -> bool:
        return not (self._deleted or self._closed) and self.offline is None

    # --- append ------------------------------------------------------------

    def append(self, records, origin: AppendOrigin = AppendOrigin.CLIENT, *,
               transactional_id: str | None = None, now_ms: int | None = None) -> AppendResult:
        """Check every batch of `records`, then write them all with one pwritev.

        `check` then `append_checked`, at once, on this thread.  Raises KafkaError.
        """
        checked = self.check(records, origin, now_ms=now_ms)
        checked.run(None)
        return self.append_checked(checked, transactional_id=transactional_id)

    def check(self, records, origin: AppendOrigin = AppendOrigin.CLIENT, *,
              now_ms: int | None = None) -> "CheckedRecords":
        """The first half of an append: the checks that need nothing of the
        log's state.  Headers and CRCs are checked here (framing, counts,
        timestamps, and for a client a single batch with no control record);
        the records inside the batches, a compacted topic's keys and
        recompression to the topic's codec are left to `CheckedRecords.run`,
        which a Produce may finish in a worker thread.  Raises KafkaError.
        """
        self.ensure_available()
        config = self.topic.log_config
        now = self.hooks.clock_ms() if now_ms is None else now_ms
        view = memoryview(records).cast("B")
        headers = validate_records(view, config, now, origin is AppendOrigin.CLIENT)
        return CheckedRecords(self, view, headers, config, now, origin)

    def append_checked(self, checked: "CheckedRecords", *,
                       transactional_id: str | None = None) -> AppendResult:
        """The second half of an append, on this thread: the producer state
        checks the batches as their origin requires (a client's retry of a
        batch already written is answered with that batch's offsets and not
        written again); offsets are assigned from the log end offset, the
        leader epoch stamped in and, for LogAppendTime topics, the append
        time.  Only the 61-byte headers are copied to be patched; the
        payloads go to the file straight from the caller's buffer.  On an
        I/O error the segment is cut back to where it was and the append
        fails with KAFKA_STORAGE_ERROR; the partition stays usable.  Raises
        KafkaError.
        """
        if not checked.done:
            raise ValueError("the records have not been checked through (CheckedRecords.run)")
        self.ensure_available()
        config, now, origin = checked.config, checked.now, checked.origin
        view, headers = checked.view, checked.headers
        if len(view) > config.segment_bytes:
            raise LogError(ErrorCode.RECORD_LIST_TOO_LARGE,
                           f"{len(view)} bytes of records exceed the segment size "
                           f"{config.segment_bytes}")
        # Control batches' markers, by position in `view`.
        markers = {h.position: read_marker(view, h.position) for h in headers if h.is_control}
        if any(h.producer_id >= 0 for h in headers):
            duplicate = self._check_producers(headers, markers, origin, transactional_id)
            if duplicate is not None:
                return duplicate
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
        buffers: list[bytearray | memoryview] = []
        for header in headers:
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
            _LEADER_EPOCH.pack_into(batch, PARTITION_LEADER_EPOCH_OFFSET, self.leader_epoch)
            next_offset += header.record_count
        if any(h.producer_id >= 0 for h in headers):
            # Before the write: a crash after it must find the note.
            self._files.note_producer_batch(base)

        start = segment.size
        try:
            segment.write(buffers, start)
        except OSError as exc:
            self._storage_error_during_write(segment, start, exc)
        interval = config.index_interval_bytes
        offset = base
        for header in headers:
            first = offset
            offset += header.record_count
            segment.note_batch(start + header.position, header.size, offset - 1,
                               now if append_time else header.max_timestamp, interval)
            if self._producers is not None:
                self._producers.apply(header, first, markers.get(header.position),
                                      now if append_time else None)
        if self._producers is not None:
            self._producers.end_offset = next_offset
        self._unflushed.wrote(segment)
        result = AppendResult(base, next_offset - 1, now if append_time else -1,
                              self.log_start_offset, len(view))
        self.hooks.appended(self, result, origin)
        return result

    def _check_producers(self, headers: list[BatchHeader], markers: dict[int, Marker | None],
                         origin: AppendOrigin, transactional_id: str | None) -> AppendResult | None:
        """The producer checks of `append`; the answer to a retried batch, if this is one."""
        if origin is AppendOrigin.CLIENT and headers[0].is_transactional:
            self.hooks.verify_transaction(transactional_id, headers[0], self)
        state = self._producer_state()
        for header in headers:
            duplicate = state.check(header, origin, markers.get(header.position))
            if duplicate is not None:
                # Kafka answers a retry with the batch's timestamp as its
                # append time, whatever the topic's timestamp type.
                return AppendResult(duplicate.first_offset, duplicate.last_offset, duplicate.timestamp,
                                    self.log_start_offset, duplicate=True)
        return None

    def append_marker(self, producer_id: int, producer_epoch: int, commit: bool, *,
                      coordinator_epoch: int = 0, now_ms: int | None = None) -> AppendResult:
        """Write an end-transaction marker (COMMIT or ABORT), as the coordinator's WriteTxnMarkers.

        It closes the producer's open transaction here; an ABORT enters it
        in the aborted index.  A marker for a producer with nothing open is
        written all the same, as Kafka writes it.  Raises KafkaError: the
        producer state refuses a marker of an older producer epoch or
        coordinator epoch than the producer's last.
        """
        now = self.hooks.clock_ms() if now_ms is None else now_ms
        batch = build_control_batch(ControlType.COMMIT if commit else ControlType.ABORT,
                                    producer_id=producer_id, producer_epoch=producer_epoch,
                                    timestamp=now, coordinator_epoch=coordinator_epoch)
        return self.append(batch, AppendOrigin.COORDINATOR, now_ms=now)

    def _storage_error_during_write(self, segment: Segment, start: int, exc: OSError):
        size = _file_size(segment.path)
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
            new = Segment.create(self.directory, self.log_end_offset, now, self.hooks.files)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot create a segment in {self.directory}: {exc}") from exc
        config = self.topic.log_config
        if config.segment_jitter_ms:
            new.roll_jitter_ms = random.randrange(min(config.segment_jitter_ms, config.segment_ms))
        self._segments.append(new)
        self._unflushed.wrote(old)
        self._unflushed.directory_changed = True
        if self._files.has_pending:
            # Kafka snapshots its producer state at every roll, so that a
            # restart replays no more than the active segment, and fsyncs
            # it with the rolled segment.  Without a producer batch since
            # the last snapshot, that one still holds.
            self._snapshot_producers(sync=False)
        log.debug("rolled %s-%d to a new segment at offset %d (%s)", self.topic.name, self.index,
                  new.base_offset, reason)

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
                cut = segment.find_batch(limit) if limit < segment.next_offset else None
                if cut is not None:
                    # `first` ends below the limit, so this never cuts into it.
                    budget = min(budget, cut.position - first.position)
                length, next_offset = segment.read_extent(first, budget)
                file = segment.open_file()
                return ReadResult(FileRecords([FileRange(file, first.position, length)]),
                                  end, start, next_offset - first.base_offset, next_offset)
        return ReadResult(None, end, start)

    def _segment_at(self, offset: int) -> int:
        """Index of the last segment whose base offset is <= `offset` (0 if none)."""
        return max(bisect.bisect_right(self._segments, offset, key=lambda s: s.base_offset) - 1, 0)

    def batches_from(self, offset: int = 0) -> Iterator[BatchHeader]:
        """Headers of every batch holding offsets >= `offset`, to the current end.

        For tools; each header's `position` is within its own segment.
        """
        self.ensure_available()
        for _, header in self._stored_batches(offset):
            yield header

    def _stored_batches(self, offset: int) -> Iterator[tuple[Segment, BatchHeader]]:
        for segment in self._segments[self._segment_at(offset):]:
            for header in segment.batches(segment.offset_index.lookup(offset), segment.size):
                if header.last_offset >= offset:
                    yield segment, header

    def timestamp_probes(self, timestamp: int) -> Iterator[Probe]:
        """The batches that may hold the first record at or after `timestamp`
        (ListOffsets by time), to be `resolve`d in turn, on any thread."""
        self.ensure_available()
        return probes_at_or_after(self._segments, timestamp, self.log_start_offset)

    def max_timestamp_probe(self) -> Probe | None:
        """The batch holding the first record with the largest timestamp (ListOffsets -3)."""
        self.ensure_available()
        if self.log_start_offset >= self.log_end_offset:
            return None
        return probe_max_timestamp(self._segments)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after `timestamp`, on this thread."""
        return first_resolved(self.timestamp_probes(timestamp))

    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with the largest timestamp, on this thread."""
        probe = self.max_timestamp_probe()
        return None if probe is None else resolve(probe) or probe.fallback

    # --- producers and transactions ----------------------------------------

    @property
    def last_stable_offset(self) -> int:
        """The first offset of the earliest open transaction, or the high watermark.

        Never below the log start offset, as in Kafka, though a transaction
        may stay open after retention passed its first offset.  A partition
        that does not serve (and so cannot restore its producers) answers
        its high watermark, like the other offsets it still reports in
        errors.
        """
        state = self._producer_state() if self._serving else self._producers
        first = state.first_unstable_offset if state is not None else None
        if first is None:
            return self.high_watermark
        return max(first, self.log_start_offset)

    def ongoing_transaction(self, producer_id: int) -> int | None:
        """The first offset of `producer_id`'s open transaction here, or None."""
        self.ensure_available()
        return self._producer_state().ongoing(producer_id)

    def aborted_transactions(self, start_offset: int, end_offset: int) -> list[tuple[int, int]]:
        """(producer id, first offset), by first offset, of every aborted transaction
        overlapping [start_offset, end_offset): what a read_committed Fetch answers."""
        self.ensure_available()
        return self._producer_state().aborted_between(start_offset, end_offset)

    def producers(self) -> dict[int, ProducerEntry]:
        """The producers that wrote here (DescribeProducers), by producer id."""
        self.ensure_available()
        return self._producer_state().producers

    def _producer_state(self) -> ProducerState:
        if self._producers is None:
            state, replay_from = self._files.restore(self.log_start_offset,
                                                              self.log_end_offset)
            if replay_from is not None:
                self._replay(state, replay_from)
            state.end_offset = self.log_end_offset
            state.trim(self.log_start_offset)
            self._producers = state
        return self._producers

    def _replay(self, state: ProducerState, offset: int) -> None:
        """Account in `state` for the stored batches from `offset` on.

        Headers only, but for the few bytes of each control batch.  A
        snapshot taken before retention deleted segments keeps what they
        held; without one (a directory of an older kgw), a transaction
        whose batches were all in deleted segments and whose marker has
        not come is forgotten.
        """
        for segment, header in self._stored_batches(offset):
            if header.producer_id < 0:
                continue
            marker = None
            if header.is_control:
                file = segment.open_file()
                marker = read_marker(pread_exact(file.fd, header.size, header.position))
            state.apply(header, header.base_offset, marker)

    def _snapshot_producers(self, *, sync: bool = True) -> None:
        try:
            path = self._files.write(self._producer_state(), sync=sync)
            if not sync:
                self._unflushed.wrote_file(path)
            self._files.delete_before(self._segments[0].base_offset)
        except OSError as exc:
            # A missing snapshot costs a longer replay at the next start, not data.
            log.error("%s-%d: cannot write the producer snapshot: %s", self.topic.name,
                      self.index, exc)

    # --- deleting -----------------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to `offset` (-1: the high watermark).

        The new start is checkpointed before returning, so it survives a
        crash; whole segments below it are deleted.  Returns the log start
        offset (the low watermark Kafka answers with).
        """
        self.ensure_available()
        if not self.topic.log_config.delete_policy:
            # Kafka's Partition.deleteRecordsOnLeader: only a topic whose
            # cleanup.policy includes delete may lose records this way.
            raise LogError(ErrorCode.POLICY_VIOLATION,
                           f"records of {self.topic.name}-{self.index} cannot be deleted: "
                           f"cleanup.policy does not include delete")
        end = self.log_end_offset
        if offset == -1:
            offset = end
        if offset < 0 or offset > end:
            raise LogError(ErrorCode.OFFSET_OUT_OF_RANGE,
                           f"cannot delete records before {offset}: the log ends at {end}")
        if offset > self.log_start_offset:
            try:
                write_metadata(self.directory / LOG_START_OFFSET_FILE, LOG_START_OFFSET_FORMAT,
                               {"log_start_offset": offset})
            except OSError as exc:
                raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                               f"cannot record the log start offset in {self.directory}: "
                               f"{exc}") from exc
            self.log_start_offset = offset
            self._trim_producers()
            self.delete_oldest(below_start(self), self.hooks.clock_ms(),
                               "below the log start offset")
        return self.log_start_offset

    def _trim_producers(self) -> None:
        if self._producers is not None:
            self._producers.trim(self.log_start_offset)

    def delete_oldest(self, count: int, now_ms: int, why: str) -> int:
        """Delete the `count` oldest segments (retention's choice); how many went.

        When that is every segment, a new empty one is rolled first, so
        the active segment itself is never deleted (Kafka does the same).
        """
        if count <= 0 or not self._serving:
            return 0
        # The producers of the victims must be known before they go.
        self._producer_state()
        if count >= len(self._segments):
            count = len(self._segments)
            if self.active.is_empty:
                count -= 1
            else:
                self._roll(now_ms, "every segment is due for deletion")
        if count <= 0:
            return 0
        victims = self._segments[:count]
        del self._segments[:count]
        for segment in victims:
            segment.delete_files()
            self._unflushed.forget(segment)
        self._unflushed.directory_changed = True
        self.log_start_offset = max(self.log_start_offset, self._segments[0].base_offset)
        self._trim_producers()
        log.info("%s-%d: deleted %d segment(s) (%s), log start offset now %d", self.topic.name,
                 self.index, len(victims), why, self.log_start_offset)
        return len(victims)

    def delete(self) -> None:
        """Remove every file of the partition; held FileRanges stay readable."""
        self._deleted = True
        for segment in self._segments:
            segment.delete_files()
        self._segments = []
        self._unflushed = Unflushed(self.directory, self._unflushed.recovery_point)
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- durability ---------------------------------------------------------

    @property
    def needs_flush(self) -> bool:
        return self._serving and self._unflushed.any(self.log_end_offset)

    @property
    def needs_background_flush(self) -> bool:
        """Rolled segments or directory entries not yet fsynced (Kafka flushes those on roll)."""
        return self._serving and self._unflushed.any_closed(self.active)

    def begin_flush(self, *, active_indexes: bool = False) -> FlushJob | None:
        """Capture what an fsync round must cover; None if everything is durable."""
        self.ensure_available()
        if not self.needs_flush:
            return None
        return self._unflushed.begin(self.active, self.log_end_offset, active_indexes)

    def end_flush(self, job: FlushJob) -> None:
        self._unflushed.end(job, self.active if self._serving else None)

    def abort_flush(self, job: FlushJob, exc: FlushNotRun) -> LogError:
        """A job could not open its files: it is put back for the next round,
        and the partition keeps serving; the error for whoever waited on it."""
        self._unflushed.put_back(job)
        return LogError(ErrorCode.KAFKA_STORAGE_ERROR, str(exc))

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
        except FlushNotRun as exc:
            raise self.abort_flush(job, exc) from exc
        except OSError as exc:
            raise self.fail_flush(job, exc) from exc
        self.end_flush(job)

    def close(self) -> None:
        """Flush and snapshot the producers, then drop the segments; descriptors
        close once no reader holds them."""
        try:
            if self._serving:
                self.active.seal_time_index()
                self._unflushed.wrote(self.active)
                self.flush()
                if self._producers is not None and self._files.has_pending:
                    self._snapshot_producers()
        finally:
            self._closed = True
            self._segments = []


class CheckedRecords:
    """Records whose headers `PartitionLog.check` passed, on their way to
    `append_checked`.  `run(budget)` does the rest of the checking, walking
    about `budget` record bytes at a time (`record_checks.RecordsCheck`) and
    saying whether it is done; `run(None)` finishes, and touches nothing of
    the log but its (immutable) config, so it may run on any thread."""

    def __init__(self, partition: PartitionLog, view: memoryview, headers: list[BatchHeader],
                 config: "LogConfig", now: int, origin: AppendOrigin):
        self.partition_name = f"{partition.topic.name}-{partition.index}"
        self.view = view
        self.headers = headers
        self.config = config
        self.now = now
        self.origin = origin
        self.done = False
        self._records = RecordsCheck(view, headers, config.max_decompressed_bytes)

    def run(self, budget: int | None) -> bool:
        if self.done:
            return True
        if not self._records.run(budget):
            return False
        config = self.config
        if config.compact_policy and self.origin is not AppendOrigin.REPLICATION:
            # Kafka's LogValidator checks what a leader appends, not what it copies.
            check_keys(self.view, self.headers, self.partition_name)
        # compression.type=producer (codec None) stores batches as they came.
        if (config.codec is not None and self.origin is not AppendOrigin.REPLICATION
                and needs_recompression(self.headers, config)):
            self.view, self.headers = recompress(self.view, self.headers, config)
        self.done = True
        return True


def _file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1
