"""Producer ids and the idempotent producer's sequence checks (KIP-98).

An idempotent producer numbers its batches per partition. The broker keeps,
per partition and producer, the epoch and the last five batches it wrote
(a producer has at most five in flight), so that a retried batch is
acknowledged with the offset it got the first time instead of being
written again, and a gap is refused with OUT_OF_ORDER_SEQUENCE_NUMBER.

The state is rebuilt from the log's batch headers the first time a
partition sees an idempotent batch after start-up, as Kafka rebuilds it
from its log; producer ids are handed out in blocks whose high-water mark
is persisted, so an id is never reused across restarts. An end-transaction
marker moves its producer to the marker's epoch, so that a producer fenced
by the transaction coordinator is refused by the partitions too.

DescribeProducers reads the same state (`active_producers`).
"""

import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from protocol.error_codes import ErrorCode

IDS_FILE = "producer-ids.json"
IDS_FILE_FORMAT = 1
ID_BLOCK = 1000
# Kafka keeps this many batches per producer for duplicate detection.
CACHED_BATCHES = 5
# How far back in a partition the state is rebuilt from: far more than the
# five batches a producer can have in flight.
REBUILD_WINDOW = 50_000
# The epoch of kgw's one transaction coordinator, which its markers carry.
COORDINATOR_EPOCH = 0
INT32_MAX = (1 << 31) - 1


class ProducerError(Exception):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Written:
    first_seq: int
    last_seq: int
    base_offset: int
    max_timestamp: int


@dataclass
class _ProducerState:
    epoch: int
    batches: deque = field(default_factory=lambda: deque(maxlen=CACHED_BATCHES))
    # -1 until a marker of this producer is written here.
    coordinator_epoch: int = -1


@dataclass(frozen=True)
class ActiveProducer:
    """A producer as DescribeProducers shows it."""

    producer_id: int
    epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int


def _next_seq(seq: int) -> int:
    # Sequences wrap from INT32_MAX back to 0.
    return 0 if seq == INT32_MAX else seq + 1


class ProducerRegistry:
    def __init__(self, data_dir: Path):
        self._path = Path(data_dir) / IDS_FILE
        self._next_id = self._load_block()
        self._block_end = self._next_id
        # (topic, partition) -> producer id -> state
        self._partitions: dict[tuple[str, int], dict[int, _ProducerState]] = {}

    # --- ids ---------------------------------------------------------------

    def _load_block(self) -> int:
        if not self._path.exists():
            return 0
        meta = json.loads(self._path.read_text())
        if meta.get("format_version") != IDS_FILE_FORMAT:
            raise RuntimeError(f"{self._path}: unknown format_version {meta.get('format_version')}")
        return meta["next_block"]

    def _persist_block(self, block_end: int) -> None:
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({"format_version": IDS_FILE_FORMAT, "next_block": block_end}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)

    def new_producer_id(self) -> int:
        if self._next_id >= self._block_end:
            self._block_end = self._next_id + ID_BLOCK
            self._persist_block(self._block_end)
        pid = self._next_id
        self._next_id += 1
        return pid

    def init_producer(self, producer_id: int = -1, producer_epoch: int = -1) -> tuple[int, int]:
        """InitProducerId for an idempotent producer: a fresh (id, epoch 0),
        or, for a producer recovering from an error (KIP-360), its own id
        with the epoch bumped."""
        if 0 <= producer_id < self._next_id and 0 <= producer_epoch < 0x7FFF - 1:
            return producer_id, producer_epoch + 1
        return self.new_producer_id(), 0

    # --- sequences -----------------------------------------------------------

    def check(self, key: tuple[str, int], partition_log, batches) -> int | None:
        """Before appending `batches` (RecordBatch views of one Produce
        partition): None to append them, or the base offset they already got
        (a retry). Raises ProducerError for a fenced epoch or a gap."""
        first, last = batches[0], batches[-1]
        pid = first.producer_id
        if pid < 0:
            return None
        states = self._states(key, partition_log)
        state = states.get(pid)
        if state is None:
            return None
        epoch = first.producer_epoch
        if epoch < state.epoch:
            raise ProducerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                                f"producer {pid} epoch {epoch} is older than {state.epoch}")
        first_seq, last_seq = first.base_sequence, _last_sequence(last)
        if epoch > state.epoch:
            if first_seq != 0:
                raise ProducerError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                                    f"producer {pid} new epoch {epoch} starts at {first_seq}, not 0")
            return None
        for written in state.batches:
            if written.first_seq == first_seq and written.last_seq == last_seq:
                return written.base_offset
        expected = _next_seq(state.batches[-1].last_seq) if state.batches else first_seq
        if first_seq != expected:
            raise ProducerError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                                f"producer {pid} sent sequence {first_seq}, expected {expected}")
        return None

    def appended(self, key: tuple[str, int], batches, base_offset: int,
                 log_append_time_ms: int = -1) -> None:
        first = batches[0]
        if first.producer_id < 0:
            return
        states = self._partitions.setdefault(key, {})
        timestamp = log_append_time_ms if log_append_time_ms >= 0 else batches[-1].max_timestamp
        self._remember(states, first.producer_id, first.producer_epoch, first.base_sequence,
                       _last_sequence(batches[-1]), base_offset, timestamp)

    def check_marker(self, key: tuple[str, int], partition_log, producer_id: int, epoch: int,
                     coordinator_epoch: int) -> None:
        """Kafka's checks on a marker that does not come from kgw's own
        coordinator (WriteTxnMarkers): not from an older producer epoch, nor
        from an older coordinator than the producer's last marker."""
        state = self._states(key, partition_log).get(producer_id)
        if state is None:
            return
        if epoch < state.epoch:
            raise ProducerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                                f"producer {producer_id} marker epoch {epoch} is older than "
                                f"{state.epoch}")
        if coordinator_epoch < state.coordinator_epoch:
            raise ProducerError(ErrorCode.TRANSACTION_COORDINATOR_FENCED,
                                f"marker from coordinator epoch {coordinator_epoch}, older than "
                                f"{state.coordinator_epoch}")

    def marker_written(self, key: tuple[str, int], partition_log, producer_id: int, epoch: int,
                       coordinator_epoch: int = COORDINATOR_EPOCH) -> None:
        _marked(self._states(key, partition_log), producer_id, epoch, coordinator_epoch)

    def active_producers(self, key: tuple[str, int], partition_log) -> list[ActiveProducer]:
        """The producers that wrote to the partition (within the state's
        window of the log), by producer id."""
        return [ActiveProducer(pid, state.epoch,
                               state.batches[-1].last_seq if state.batches else -1,
                               state.batches[-1].max_timestamp if state.batches else -1,
                               state.coordinator_epoch)
                for pid, state in sorted(self._states(key, partition_log).items())]

    def forget_partition(self, key: tuple[str, int]) -> None:
        self._partitions.pop(key, None)

    def _states(self, key, partition_log) -> dict[int, _ProducerState]:
        states = self._partitions.get(key)
        if states is None:
            states = self._partitions[key] = {}
            start = max(partition_log.log_start_offset, partition_log.log_end_offset - REBUILD_WINDOW)
            for batch in partition_log.batches_from(start):
                if batch.producer_id < 0:
                    continue
                if batch.is_control:
                    _marked(states, batch.producer_id, batch.producer_epoch)
                else:
                    self._remember(states, batch.producer_id, batch.producer_epoch,
                                   batch.base_sequence, _last_sequence(batch), batch.base_offset,
                                   batch.max_timestamp)
        return states

    @staticmethod
    def _remember(states, pid, epoch, first_seq, last_seq, base_offset, max_timestamp):
        state = states.get(pid)
        if state is None or epoch > state.epoch:
            state = states[pid] = _ProducerState(epoch)
        state.batches.append(_Written(first_seq, last_seq, base_offset, max_timestamp))


def _marked(states: dict[int, _ProducerState], pid: int, epoch: int,
            coordinator_epoch: int = COORDINATOR_EPOCH) -> None:
    """A marker: Kafka's appendEndTxnMarker. A bumped epoch (a transaction
    the coordinator aborted to fence its producer) starts the producer
    afresh. Rebuilt from the log, which is read by headers only, a marker
    counts as kgw's coordinator's."""
    state = states.get(pid)
    if state is None or epoch > state.epoch:
        state = states[pid] = _ProducerState(epoch)
    state.coordinator_epoch = coordinator_epoch


def _last_sequence(batch) -> int:
    return (batch.base_sequence + batch.last_offset_delta) % (INT32_MAX + 1)
