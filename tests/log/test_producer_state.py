"""A partition's producer state: the idempotent producer's sequence checks,
epochs and markers, and what DescribeProducers shows."""

import pytest

from kgw.log import AppendOrigin, LogError
from kgw.log.producer_state import INT32_MAX
from protocol.error_codes import ErrorCode

from .helpers import crash, make_batch

NOW = 1_700_000_000_000


def batch(pid, epoch, seq, count=1, **kwargs) -> bytes:
    return make_batch(count, timestamp=NOW, producer_id=pid, producer_epoch=epoch,
                      base_sequence=seq, **kwargs)


@pytest.fixture
def partition(managers):
    return managers().create_topic("t", 1).partitions[0]


def refused(partition, data, origin=AppendOrigin.CLIENT) -> ErrorCode:
    end = partition.log_end_offset
    with pytest.raises(LogError) as info:
        partition.append(data, origin)
    assert partition.log_end_offset == end, "a refused batch was written"
    return info.value.code


def test_a_retried_batch_gets_its_first_offsets_and_is_not_written_twice(partition):
    assert partition.append(batch(7, 0, 0, 3)).base_offset == 0
    assert partition.append(batch(7, 0, 3, 2)).base_offset == 3
    retry = partition.append(batch(7, 0, 0, 3))
    assert (retry.base_offset, retry.last_offset, retry.duplicate) == (0, 2, True)
    # Its append time is the batch's newest timestamp, as Kafka answers it.
    assert retry.log_append_time_ms == NOW + 2
    assert partition.append(batch(7, 0, 3, 2)).base_offset == 3
    assert partition.log_end_offset == 5


def test_a_gap_is_out_of_order(partition):
    partition.append(batch(7, 0, 0, 3))
    assert refused(partition, batch(7, 0, 5)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_an_older_epoch_is_fenced_and_a_new_epoch_restarts_at_zero(partition):
    partition.append(batch(7, 1, 0, 2))
    assert refused(partition, batch(7, 0, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert refused(partition, batch(7, 2, 5)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert partition.append(batch(7, 2, 0)).base_offset == 2


def test_only_the_last_five_batches_are_remembered(partition):
    for seq in range(7):
        partition.append(batch(7, 0, seq))
    assert partition.append(batch(7, 0, 6)).duplicate
    # Sequence 1 fell out of the window: no longer a known duplicate.
    assert refused(partition, batch(7, 0, 1)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_the_sequence_wraps_after_int32_max(partition):
    partition.append(batch(7, 0, INT32_MAX - 1, 2))
    assert partition.append(batch(7, 0, 0)).base_offset == 2


def test_copied_batches_are_not_checked(partition):
    partition.append(batch(7, 1, 0, 2))
    # A follower (or a tool) stores what it is given: an older epoch, a gap.
    assert partition.append(batch(7, 0, 9), AppendOrigin.REPLICATION).base_offset == 2
    assert partition.append(batch(7, 1, 40), AppendOrigin.REPLICATION).base_offset == 3


def test_non_idempotent_batches_are_not_checked(partition):
    assert partition.append(make_batch()).base_offset == 0
    assert partition.append(make_batch()).base_offset == 3


@pytest.mark.parametrize("restart", ["clean", "crash"])
def test_state_survives_a_restart(managers, restart):
    manager = managers()
    manager.create_topic("t", 1).partitions[0].append(batch(7, 0, 0, 4))
    manager.close() if restart == "clean" else crash(manager)
    partition = managers().partition("t", 0)
    assert partition.append(batch(7, 0, 0, 4)).duplicate
    assert partition.log_end_offset == 4
    assert refused(partition, batch(7, 0, 9)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_a_marker_with_a_bumped_epoch_fences_the_producer_here_too(managers):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(batch(7, 0, 0, 2))
    # The coordinator aborts the transaction with epoch 1 to fence epoch 0.
    partition.append_marker(7, 1, commit=False)
    assert refused(partition, batch(7, 0, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH
    entry = partition.producers()[7]
    assert (entry.epoch, entry.last_seq, entry.coordinator_epoch) == (1, -1, 0)
    crash(manager)
    # After a restart the marker in the log has the same effect.
    partition = managers().partition("t", 0)
    assert refused(partition, batch(7, 0, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert partition.append(batch(7, 2, 0)).base_offset == 3


def test_markers_from_an_older_epoch_or_coordinator_are_refused(partition):
    partition.append(batch(7, 2, 0, 2, is_transactional=True))
    with pytest.raises(LogError) as info:
        partition.append_marker(7, 1, commit=True)
    assert info.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    partition.append_marker(7, 2, commit=True, coordinator_epoch=4)
    with pytest.raises(LogError) as info:
        partition.append_marker(7, 2, commit=False, coordinator_epoch=3)
    assert info.value.code == ErrorCode.TRANSACTION_COORDINATOR_FENCED
    assert partition.log_end_offset == 3


def test_a_plain_batch_inside_an_open_transaction_is_refused(partition):
    partition.append(batch(7, 0, 0, 2, is_transactional=True))
    assert refused(partition, batch(7, 0, 2)) == ErrorCode.INVALID_TXN_STATE
    partition.append_marker(7, 0, commit=True)
    assert partition.append(batch(7, 0, 2)).base_offset == 3


def test_producers_as_describe_producers_shows_them(partition):
    partition.append(batch(9, 3, 0, 3))
    partition.append(batch(7, 0, 0, is_transactional=True))
    shown = {pid: (e.epoch, e.last_seq, e.last_timestamp, e.coordinator_epoch, e.txn_first_offset)
             for pid, e in partition.producers().items()}
    assert shown == {7: (0, 0, NOW, -1, 3), 9: (3, 2, NOW + 2, -1, -1)}
