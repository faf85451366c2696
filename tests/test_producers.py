"""The idempotent producer's sequence checks and producer id allocation."""

import pytest

from kgw.producers import ID_BLOCK, INT32_MAX, ProducerError, ProducerRegistry
from protocol.error_codes import ErrorCode
from protocol.records import ControlType, Record, RecordBatch, build_batch, build_control_batch

KEY = ("t", 0)


class FakeLog:
    """Just what the registry reads from a partition: its batch headers."""

    def __init__(self, batches=()):
        self.batches = list(batches)
        self.log_start_offset = 0

    @property
    def log_end_offset(self):
        return self.batches[-1].last_offset + 1 if self.batches else 0

    def batches_from(self, offset):
        return [b for b in self.batches if b.last_offset >= offset]


def batch(pid, epoch, seq, count=1, base_offset=0):
    records = [Record(offset=base_offset + i, timestamp=1000, key=None, value=b"v") for i in range(count)]
    data = build_batch(records, base_offset=base_offset, producer_id=pid, producer_epoch=epoch,
                       base_sequence=seq)
    return RecordBatch(data)


def append(registry, log, b):
    """What the Produce handler does: check, then append and remember."""
    duplicate = registry.check(KEY, log, [b])
    if duplicate is not None:
        return duplicate
    base = log.log_end_offset
    stored = batch(b.producer_id, b.producer_epoch, b.base_sequence, b.record_count, base)
    log.batches.append(stored)
    registry.appended(KEY, [b], base)
    return base


def test_retried_batch_gets_its_first_offset_and_is_not_written_twice(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    assert append(registry, log, batch(7, 0, 0, 3)) == 0
    assert append(registry, log, batch(7, 0, 3, 2)) == 3
    assert append(registry, log, batch(7, 0, 0, 3)) == 0
    assert append(registry, log, batch(7, 0, 3, 2)) == 3
    assert log.log_end_offset == 5


def test_a_gap_is_out_of_order(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    append(registry, log, batch(7, 0, 0, 3))
    with pytest.raises(ProducerError) as info:
        append(registry, log, batch(7, 0, 5))
    assert info.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.log_end_offset == 3


def test_older_epoch_is_fenced_and_new_epoch_restarts_at_zero(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    append(registry, log, batch(7, 1, 0, 2))
    with pytest.raises(ProducerError) as info:
        append(registry, log, batch(7, 0, 2))
    assert info.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    with pytest.raises(ProducerError) as info:
        append(registry, log, batch(7, 2, 5))
    assert info.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert append(registry, log, batch(7, 2, 0)) == 2


def test_only_the_last_five_batches_are_remembered(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    for seq in range(7):
        append(registry, log, batch(7, 0, seq))
    assert append(registry, log, batch(7, 0, 6)) == 6
    # Sequence 1 fell out of the window: no longer a known duplicate.
    with pytest.raises(ProducerError):
        append(registry, log, batch(7, 0, 1))


def test_sequence_wraps_after_int32_max(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    append(registry, log, batch(7, 0, INT32_MAX - 1, 2))
    assert append(registry, log, batch(7, 0, 0)) == 2


def test_state_is_rebuilt_from_the_log_after_a_restart(tmp_path):
    log = FakeLog()
    append(ProducerRegistry(tmp_path), log, batch(7, 0, 0, 4))
    fresh = ProducerRegistry(tmp_path)
    assert append(fresh, log, batch(7, 0, 0, 4)) == 0
    assert log.log_end_offset == 4
    with pytest.raises(ProducerError):
        append(fresh, log, batch(7, 0, 9))


def test_non_idempotent_batches_are_not_checked(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    assert append(registry, log, batch(-1, -1, -1)) == 0
    assert append(registry, log, batch(-1, -1, -1)) == 1


def test_producer_ids_are_unique_across_restarts(tmp_path):
    first = ProducerRegistry(tmp_path)
    ids = [first.new_producer_id() for _ in range(3)]
    again = ProducerRegistry(tmp_path)
    later = again.new_producer_id()
    assert ids == [0, 1, 2]
    assert later >= ID_BLOCK


def test_init_producer_bumps_the_epoch_of_a_known_id(tmp_path):
    registry = ProducerRegistry(tmp_path)
    pid, epoch = registry.init_producer()
    assert epoch == 0
    assert registry.init_producer(pid, epoch) == (pid, 1)
    other, other_epoch = registry.init_producer(-1, -1)
    assert other != pid and other_epoch == 0


def marker(pid, epoch, base_offset):
    return RecordBatch(build_control_batch(ControlType.ABORT, producer_id=pid, producer_epoch=epoch,
                                           base_offset=base_offset, timestamp=2000))


def test_a_marker_with_a_bumped_epoch_fences_the_producer_here_too(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    append(registry, log, batch(7, 0, 0, 2))
    # The coordinator aborts the transaction with epoch 1 to fence epoch 0.
    log.batches.append(marker(7, 1, 2))
    registry.marker_written(KEY, log, 7, 1)
    with pytest.raises(ProducerError) as info:
        append(registry, log, batch(7, 0, 2))
    assert info.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    (active,) = registry.active_producers(KEY, log)
    assert (active.epoch, active.last_sequence, active.coordinator_epoch) == (1, -1, 0)
    # After a restart the marker in the log has the same effect.
    fresh = ProducerRegistry(tmp_path)
    with pytest.raises(ProducerError) as info:
        append(fresh, log, batch(7, 0, 2))
    assert info.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    assert append(fresh, log, batch(7, 2, 0)) == 3


def test_active_producers_as_describe_producers_shows_them(tmp_path):
    registry, log = ProducerRegistry(tmp_path), FakeLog()
    append(registry, log, batch(9, 3, 0, 3))
    append(registry, log, batch(7, 0, 0))
    assert [(p.producer_id, p.epoch, p.last_sequence, p.last_timestamp, p.coordinator_epoch)
            for p in registry.active_producers(KEY, log)] == [(7, 0, 0, 1000, -1), (9, 3, 2, 1000, -1)]
