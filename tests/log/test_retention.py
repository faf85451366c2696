"""Retention by time, size and log start offset; DeleteRecords; the background task."""

import os

import pytest
import trio
import trio.testing

from kgw.log import LogError
from kgw.log.retention import run_retention
from protocol.error_codes import ErrorCode

from .helpers import SMALL, crash, make_batch, read_all, segment_files

DAY = 86_400_000


def _fill(partition, batches, timestamp):
    for i in range(batches):
        partition.append(make_batch(seed=i, timestamp=timestamp + i), now_ms=timestamp + i)


def test_retention_ms_deletes_closed_segments_by_their_newest_timestamp(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": str(DAY)}).partitions[0]
    _fill(partition, 25, clock.ms - 3 * DAY)
    _fill(partition, 20, clock.ms)
    expired = [s for s in partition._segments if s.max_timestamp < clock.ms - DAY]
    assert 0 < len(expired) < partition.segment_count - 1
    assert manager.enforce_retention(clock.ms) == len(expired)
    # The segment holding both old and new batches stays, and so does everything after it.
    first = read_all(partition)[0]
    assert partition.log_start_offset == first.base_offset == partition._segments[0].base_offset
    assert first.max_timestamp < clock.ms - DAY
    assert partition.log_end_offset == 135
    assert manager.enforce_retention(clock.ms) == 0


def test_when_every_segment_expired_a_new_one_is_rolled(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": "1000"}).partitions[0]
    _fill(partition, 20, clock.ms - 5_000)
    segments = partition.segment_count
    assert manager.enforce_retention(clock.ms) == segments
    assert partition.segment_count == 1 and partition.active.is_empty
    assert partition.log_start_offset == partition.log_end_offset == 60
    assert partition.read(60, 100).records is None
    assert partition.append(make_batch()).base_offset == 60
    assert segment_files(partition) == ["00000000000000000060.log"]


def test_retention_minus_one_and_compact_keep_everything(managers, clock):
    manager = managers()
    forever = manager.create_topic("a", 1, {**SMALL, "retention.ms": "-1"}).partitions[0]
    compact = manager.create_topic("b", 1, {**SMALL, "retention.ms": "1",
                                            "cleanup.policy": "compact"}).partitions[0]
    for partition in (forever, compact):
        _fill(partition, 20, 5)
    assert manager.enforce_retention(clock.ms) == 0
    assert forever.log_start_offset == compact.log_start_offset == 0


def test_retention_bytes_keeps_the_newest_segments_within_the_limit(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.bytes": "3000"}).partitions[0]
    _fill(partition, 40, clock.ms)
    sizes = [s.size for s in partition._segments]
    deleted = manager.enforce_retention(clock.ms)
    assert deleted > 0
    assert partition.size_bytes == sum(sizes[deleted:])
    assert partition.size_bytes - 3000 < partition._segments[0].size
    assert partition.log_start_offset == partition._segments[0].base_offset
    assert read_all(partition)[-1].last_offset == 119


def test_segments_without_timestamps_age_by_file_time(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": str(DAY)}).partitions[0]
    for i in range(20):
        partition.append(make_batch(timestamps=[-1, -1], seed=i))
    closed = partition._segments[:-1]
    assert manager.enforce_retention(clock.ms) == 0
    old = (clock.ms - 2 * DAY) / 1000
    for segment in closed:
        os.utime(segment.path, (old, old))
    assert manager.enforce_retention(clock.ms) == len(closed)


def test_file_range_stays_readable_after_retention_deletes_its_segment(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": "1000"}).partitions[0]
    _fill(partition, 20, clock.ms - 10_000)
    held = partition.read(0, 1 << 20).records
    expected = held.read_bytes()
    assert manager.enforce_retention(clock.ms) > 0
    assert not held.ranges[0].file.path.exists()
    assert held.read_bytes() == expected
    r, w = os.pipe()
    try:
        assert os.sendfile(w, held.ranges[0].file.fd, held.ranges[0].position, 100) == 100
        assert os.read(r, 100) == expected[:100]
    finally:
        os.close(r)
        os.close(w)


def test_delete_records(managers):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    _fill(partition, 30, 1_000)
    assert partition.delete_records_before(50) == 50
    assert partition.log_start_offset == 50
    assert all(s.next_offset > 50 for s in partition._segments)
    assert read_all(partition)[0].base_offset == 48
    assert partition.delete_records_before(10) == 50
    for bad in (91, -2):
        with pytest.raises(LogError) as err:
            partition.delete_records_before(bad)
        assert err.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    assert partition.delete_records_before(-1) == 90 == partition.log_end_offset
    assert partition.read(90, 100).records is None
    assert partition.append(make_batch()).log_start_offset == 90


def test_delete_records_needs_the_delete_policy(managers):
    """Kafka's Partition.deleteRecordsOnLeader: POLICY_VIOLATION unless the
    topic's cleanup.policy includes delete (checked before the offset)."""
    log = managers()
    compacted = log.create_topic("c", 1, {"cleanup.policy": "compact"}).partitions[0]
    compacted.append(make_batch())
    for offset in (2, -1, 99):
        with pytest.raises(LogError) as err:
            compacted.delete_records_before(offset)
        assert err.value.code == ErrorCode.POLICY_VIOLATION
    assert compacted.log_start_offset == 0
    both = log.create_topic("b", 1, {"cleanup.policy": "compact,delete"}).partitions[0]
    both.append(make_batch())
    assert both.delete_records_before(2) == 2


@pytest.mark.parametrize("clean", [True, False])
def test_delete_records_survives_restart(managers, clean):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    _fill(partition, 10, 1_000)
    partition.delete_records_before(13)
    (manager.close if clean else lambda: crash(manager))()
    partition = managers().partition("t", 0)
    assert (partition.log_start_offset, partition.log_end_offset) == (13, 30)
    with pytest.raises(LogError):
        partition.read(12, 100)


def test_retention_survives_restart(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": "1000"}).partitions[0]
    _fill(partition, 20, clock.ms - 5_000)
    manager.enforce_retention(clock.ms)
    crash(manager)
    partition = managers().partition("t", 0)
    assert partition.log_start_offset == partition.log_end_offset == 60


def test_background_retention_task(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, {**SMALL, "retention.ms": "1000"}).partitions[0]
    _fill(partition, 20, clock.ms - 5_000)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(run_retention, manager, 300.0)
            await trio.sleep(299)
            assert partition.log_start_offset == 0
            await trio.sleep(2)
            assert partition.log_start_offset == 60
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
