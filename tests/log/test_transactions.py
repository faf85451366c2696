"""A partition's transactions: open ones, markers, the LSO, the aborted index, rebuilds."""

import shutil

import pytest

from kgw.log import PartitionLog
from kgw.log.manager import LOST_AND_FOUND
from kgw.log.producer_state import PENDING_FILE
from protocol.records import ControlType, iter_batches

from .helpers import SMALL, Clock, crash, make_batch, read_all

P1, P2 = 1001, 1002
# Batches stamped with the test clock's time, like the markers, so that
# segment.ms never rolls a segment.
NOW = Clock().ms


def plain(count: int = 3, **kwargs) -> bytes:
    return make_batch(count, timestamp=NOW, **kwargs)


def txn_batch(producer_id: int, sequence: int = 0, count: int = 3, **kwargs) -> bytes:
    return plain(count, producer_id=producer_id, producer_epoch=0, base_sequence=sequence,
                 is_transactional=True, **kwargs)


def state_of(partition) -> tuple:
    """Everything the transactional interface tells about a partition."""
    return (partition.last_stable_offset, partition.ongoing_transaction(P1),
            partition.ongoing_transaction(P2),
            partition.aborted_transactions(0, partition.log_end_offset + 1))


def two_producers(partition) -> None:
    """Offsets: 0-2 plain, 3-5 P1, 6-8 P2, 9-11 P1, 12 P1 commit, 13-15 P1,
    16 P2 abort, 17-19 P2 (left open)."""
    partition.append(plain())
    partition.append(txn_batch(P1, 0))
    partition.append(txn_batch(P2, 0))
    partition.append(txn_batch(P1, 3))
    assert partition.append_marker(P1, 0, commit=True).base_offset == 12
    partition.append(txn_batch(P1, 6))
    partition.append_marker(P2, 0, commit=False)
    partition.append(txn_batch(P2, 3))


TWO_PRODUCERS = (13, 13, 17, [(P2, 6)])


@pytest.fixture
def partition(managers):
    return managers().create_topic("t", 1).partitions[0]


def test_lso_follows_the_earliest_open_transaction(partition):
    partition.append(plain())
    assert state_of(partition) == (3, None, None, [])
    partition.append(txn_batch(P1, 0))
    assert state_of(partition) == (3, 3, None, [])
    partition.append(txn_batch(P2, 0))
    partition.append(txn_batch(P1, 3))
    # A producer's later batches stay in the transaction it opened.
    assert state_of(partition) == (3, 3, 6, [])
    partition.append_marker(P1, 0, commit=True)
    assert state_of(partition) == (6, None, 6, [])
    partition.append(txn_batch(P1, 6))
    assert state_of(partition) == (6, 13, 6, [])
    partition.append_marker(P2, 0, commit=False)
    assert state_of(partition) == (13, 13, None, [(P2, 6)])
    partition.append_marker(P1, 0, commit=False)
    assert state_of(partition) == (18, None, None, [(P2, 6), (P1, 13)])


def test_markers_are_control_batches_stamped_now(partition, clock):
    partition.append(txn_batch(P1))
    result = partition.append_marker(P1, 4, commit=False, now_ms=123_456)
    assert (result.base_offset, result.last_offset) == (3, 3)
    partition.append_marker(P1, 4, commit=True)
    first, second = read_all(partition, 3)
    assert first.is_control and first.is_transactional
    assert (first.producer_id, first.producer_epoch, first.max_timestamp) == (P1, 4, 123_456)
    assert first.control_record().type == ControlType.ABORT
    assert second.control_record().type == ControlType.COMMIT
    assert second.max_timestamp == clock.ms


def test_a_marker_with_nothing_open_is_written_and_an_abort_indexed(partition):
    partition.append(plain())
    assert partition.append_marker(P1, 0, commit=True).base_offset == 3
    assert partition.append_marker(P2, 0, commit=False).base_offset == 4
    # Kafka's appendEndTxnMarker: an empty transaction at the marker's own offset.
    assert state_of(partition) == (5, None, None, [(P2, 4)])


def test_aborted_transactions_overlapping_a_range(partition):
    partition.append(txn_batch(P1, count=5))      # 0-4
    partition.append(txn_batch(P2, count=2))      # 5-6
    partition.append_marker(P1, 0, commit=False)  # 7
    partition.append(plain(2))               # 8-9
    partition.append_marker(P2, 0, commit=False)  # 10
    partition.append(txn_batch(P1, 5))            # 11-13
    partition.append_marker(P1, 0, commit=False)  # 14
    both, all_three = [(P1, 0), (P2, 5)], [(P1, 0), (P2, 5), (P1, 11)]
    assert partition.aborted_transactions(0, 1) == [(P1, 0)]
    assert partition.aborted_transactions(0, 5) == [(P1, 0)]
    assert partition.aborted_transactions(0, 6) == both
    assert partition.aborted_transactions(7, 8) == both
    assert partition.aborted_transactions(8, 11) == [(P2, 5)]
    assert partition.aborted_transactions(8, 12) == [(P2, 5), (P1, 11)]
    assert partition.aborted_transactions(0, 100) == all_three
    assert partition.aborted_transactions(11, 12) == [(P1, 11)]
    assert partition.aborted_transactions(15, 100) == []


def test_aborted_transactions_come_sorted_by_first_offset(partition):
    partition.append(txn_batch(P1))                # 0-2, aborted last
    partition.append(txn_batch(P2))                # 3-5, aborted first
    partition.append_marker(P2, 0, commit=False)   # 6
    partition.append_marker(P1, 0, commit=False)   # 7
    assert partition.aborted_transactions(0, 8) == [(P1, 0), (P2, 3)]
    assert partition.aborted_transactions(7, 8) == [(P1, 0)]


def _offsets(result) -> list[tuple[int, int]]:
    if result.records is None:
        return []
    return [(b.base_offset, b.last_offset) for b in iter_batches(result.records.read_bytes())]


def test_read_stops_below_max_offset(partition):
    partition.append(plain())      # 0-2
    partition.append(txn_batch(P1))     # 3-5
    partition.append(plain())      # 6-8
    stable = partition.last_stable_offset
    assert stable == 3
    result = partition.read(0, 1 << 20, max_offset=stable)
    assert _offsets(result) == [(0, 2)]
    assert (result.record_count, result.next_offset, result.high_watermark) == (3, 3, 9)
    for offset in (3, 4, 6, 9):
        result = partition.read(offset, 1 << 20, max_offset=stable)
        assert result.records is None and result.next_offset is None
    # A limit inside a batch leaves that whole batch out.
    assert _offsets(partition.read(0, 1 << 20, max_offset=4)) == [(0, 2)]
    assert partition.read(3, 1 << 20, max_offset=5).records is None
    partition.append_marker(P1, 0, commit=True)
    result = partition.read(0, 1 << 20, max_offset=partition.last_stable_offset)
    assert _offsets(result) == [(0, 2), (3, 5), (6, 8), (9, 9)]
    assert result.next_offset == 10


def test_read_below_max_offset_keeps_the_byte_budget(partition):
    for _ in range(4):
        partition.append(plain())  # 0-11
    partition.append(txn_batch(P1))     # 12-14
    size = len(plain())
    assert _offsets(partition.read(0, 1, max_offset=12)) == [(0, 2)]
    assert _offsets(partition.read(0, 2 * size, max_offset=12)) == [(0, 2), (3, 5)]
    assert _offsets(partition.read(3, 1 << 20, max_offset=12)) == [(3, 5), (6, 8), (9, 11)]
    assert partition.read(0, 1, min_one=False, max_offset=12).records is None


def test_read_below_max_offset_across_segments(managers):
    partition = managers().create_topic("t", 1, SMALL).partitions[0]
    for i in range(10):
        partition.append(plain(seed=i))
    partition.append(txn_batch(P1))
    for i in range(10):
        partition.append(plain(seed=i))
    assert partition.segment_count >= 3
    stable = partition.last_stable_offset
    assert stable == 30
    offset, seen = 0, []
    while (result := partition.read(offset, 1 << 20, max_offset=stable)).records is not None:
        seen += _offsets(result)
        offset = result.next_offset
    assert offset == 30 and seen == [(i, i + 2) for i in range(0, 30, 3)]


def test_state_is_rebuilt_after_a_clean_restart(managers):
    manager = managers()
    two_producers(manager.create_topic("t", 1, SMALL).partitions[0])
    manager.close()
    partition = managers().partition("t", 0)
    assert state_of(partition) == TWO_PRODUCERS
    partition.append_marker(P2, 0, commit=False)
    assert state_of(partition) == (13, 13, None, [(P2, 6), (P2, 17)])


def test_state_is_rebuilt_after_a_crash(managers):
    manager = managers()
    two_producers(manager.create_topic("t", 1, SMALL).partitions[0])
    crash(manager)
    assert state_of(managers().partition("t", 0)) == TWO_PRODUCERS


def test_appends_before_the_first_rebuild_are_counted_once(managers):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(txn_batch(P1))
    manager.close()
    partition = managers().partition("t", 0)
    partition.append(txn_batch(P2))
    partition.append_marker(P1, 0, commit=False)
    assert state_of(partition) == (3, None, 3, [(P1, 0)])


@pytest.fixture
def walks(monkeypatch):
    """(topic, offset) of every replay of the log into a producer state."""
    walked = []
    replay = PartitionLog._replay
    monkeypatch.setattr(PartitionLog, "_replay",
                        lambda self, state, offset: (walked.append((self.topic.name, offset)),
                                                     replay(self, state, offset)))
    return walked


def test_a_clean_restart_restores_from_the_snapshot_without_a_walk(managers, walks):
    manager = managers()
    two_producers(manager.create_topic("t", 1).partitions[0])
    manager.close()
    partition = managers().partition("t", 0)
    assert state_of(partition) == TWO_PRODUCERS
    assert walks == []


def test_after_a_crash_only_partitions_with_producer_batches_are_walked(managers, walks):
    manager = managers()
    untouched, mixed = (t.partitions[0] for t in (manager.create_topic("plain", 1),
                                                   manager.create_topic("mixed", 1)))
    for partition in (untouched, mixed):
        partition.append(plain())
    mixed.append(txn_batch(P1))
    assert not (untouched.directory / PENDING_FILE).exists()
    assert (mixed.directory / PENDING_FILE).exists()
    crash(manager)
    manager = managers()
    assert manager.partition("plain", 0).last_stable_offset == 3
    assert manager.partition("mixed", 0).last_stable_offset == 3
    # The walk starts where the first producer batch after the snapshot went.
    assert walks == [("mixed", 3)]


def test_a_roll_snapshots_the_producers_and_bounds_the_walk(managers, walks):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    partition.append(txn_batch(P1))
    for i in range(20):
        partition.append(plain(seed=i))
    assert partition.segment_count >= 3
    active_base = partition.active.base_offset
    p2_offset = partition.append(txn_batch(P2, count=1)).base_offset
    crash(manager)
    partition = managers().partition("t", 0)
    assert state_of(partition) == (0, 0, p2_offset, [])
    # From the first producer batch after the last roll's snapshot.
    assert walks == [("t", p2_offset)]
    assert p2_offset >= active_base


def test_recovery_cutting_the_log_below_a_snapshot_falls_back_to_an_older_one(managers):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    partition.append(txn_batch(P1))   # 0-2, open
    for i in range(20):
        partition.append(plain(seed=i))
    assert partition.segment_count >= 3
    second = partition.segments[1].path
    crash(manager)
    # Damage the second segment: recovery keeps it up to the bad batch and
    # deletes every later segment, with the snapshots taken at their rolls.
    with open(second, "r+b") as f:
        f.seek(70)
        f.write(b"\xff")
    manager = managers()
    partition = manager.partition("t", 0)
    assert partition.log_end_offset == partition.segments[-1].base_offset
    assert state_of(partition) == (0, 0, None, [])
    partition.append(txn_batch(P2))
    crash(manager)
    assert state_of(managers().partition("t", 0)) == (0, 0, partition.log_end_offset - 3, [])


def test_an_open_transaction_deleted_by_retention_survives_a_restart(managers):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    partition.append(txn_batch(P1))
    for i in range(20):
        partition.append(plain(seed=i))
    partition.delete_records_before(40)
    assert partition.segments[0].base_offset > 3
    manager.close()
    partition = managers().partition("t", 0)
    # The snapshots remember what the deleted segments held (Kafka's do too).
    assert partition.ongoing_transaction(P1) == 0
    assert partition.last_stable_offset == 40


def test_retention_forgets_aborted_transactions_below_the_log_start(managers):
    partition = managers().create_topic("t", 1, SMALL).partitions[0]
    for i in range(6):
        pid = P1 if i % 2 == 0 else P2
        partition.append(txn_batch(pid, 3 * (i // 2)))
        partition.append_marker(pid, 0, commit=False)
    # Transactions at 0, 4, 8, ... each ended by the marker three offsets on.
    everything = [(P1 if i % 2 == 0 else P2, 4 * i) for i in range(6)]
    assert partition.aborted_transactions(0, 24) == everything
    partition.delete_records_before(11)
    assert partition.log_start_offset == 11
    assert partition.aborted_transactions(0, 24) == everything[2:]
    assert len(partition._producers._aborted) == 4
    partition.delete_records_before(12)
    assert partition.aborted_transactions(0, 24) == everything[3:]


def test_retention_by_size_forgets_them_too(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.bytes": "1000"}).partitions[0]
    for i in range(12):
        partition.append(txn_batch(P1, 3 * i))
        partition.append_marker(P1, 0, commit=False)
    assert manager.enforce_retention(clock.ms) > 0
    start = partition.log_start_offset
    kept = partition.aborted_transactions(0, partition.log_end_offset)
    assert kept == [(P1, first) for first in range(0, 48, 4) if first + 3 >= start]
    assert len(kept) < 12


def test_an_open_transaction_below_the_log_start_holds_the_lso_there(managers):
    partition = managers().create_topic("t", 1, SMALL).partitions[0]
    partition.append(txn_batch(P1))
    for i in range(20):
        partition.append(plain(seed=i))
    partition.delete_records_before(40)
    # The segment of the transaction's only batch is gone, the transaction stays open.
    assert partition._segments[0].base_offset > 3
    assert partition.ongoing_transaction(P1) == 0
    assert partition.last_stable_offset == 40
    partition.append_marker(P1, 0, commit=False)
    assert partition.last_stable_offset == partition.log_end_offset == 64
    assert partition.aborted_transactions(40, 64) == [(P1, 0)]


def test_the_producer_state_files_do_not_block_orphan_handling(managers):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(txn_batch(P1))
    manager.close()
    # Partition directories no topic owns: one a deletion renamed, one not.
    deleted = partition.directory.with_name("gone-0.x-delete")
    shutil.copytree(partition.directory, deleted)
    unclaimed = partition.directory.with_name("lost-0")
    shutil.copytree(partition.directory, unclaimed)
    manager = managers()
    manager.close()
    assert not deleted.exists() and not unclaimed.exists()
    assert (manager.data_dir / LOST_AND_FOUND / "lost-0").is_dir()
