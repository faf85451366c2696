"""The Flusher: group commit, the four modes, background flushes, fsync failure."""

import errno
import json
import os
import time

import pytest
import trio

from kgw.log import BrokerDefaults, LogError
from kgw.log.durability import Flusher
from kgw.log.manager import RECOVERY_CHECKPOINT
from protocol.error_codes import ErrorCode

from .helpers import SMALL, make_batch


@pytest.fixture
def fsyncs(monkeypatch):
    """Count os.fsync calls; each takes 20 ms, like a real disk flush."""
    calls = []
    real = os.fsync

    def slow_fsync(fd):
        calls.append(fd)
        time.sleep(0.02)
        real(fd)
    monkeypatch.setattr(os, "fsync", slow_fsync)
    return calls


def test_needs_fsync_by_mode(managers):
    manager = managers()
    assert [Flusher("acks", manager).needs_fsync(a) for a in (-1, 0, 1)] == [True, False, False]
    assert [Flusher("always", manager).needs_fsync(a) for a in (-1, 0, 1)] == [True, True, True]
    for mode in ("never", "interval:100"):
        assert not any(Flusher(mode, manager).needs_fsync(a) for a in (-1, 0, 1))
    with pytest.raises(ValueError):
        Flusher("sometimes", manager)


def test_group_commit_shares_fsyncs_between_concurrent_waiters(managers, fsyncs):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    flusher = Flusher("acks", manager)
    acknowledged = []
    del fsyncs[:]

    async def produce(i):
        await trio.sleep(i * 0.001)
        result = partition.append(make_batch(seed=i))
        await flusher.wait_durable(partition, result.last_offset + 1)
        assert partition.recovery_point > result.last_offset
        acknowledged.append(result.base_offset)

    async def main():
        async with trio.open_nursery() as nursery:
            for i in range(60):
                nursery.start_soon(produce, i)

    trio.run(main)
    assert sorted(acknowledged) == list(range(0, 180, 3))
    assert 1 <= flusher.rounds <= 10
    # One round fsyncs the active segment's log file, nothing else.
    assert len(fsyncs) == flusher.rounds


def test_a_waiter_whose_data_is_durable_does_not_fsync(managers, fsyncs):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(make_batch())
    partition.flush()
    count = len(fsyncs)
    flusher = Flusher("acks", manager)
    trio.run(flusher.wait_durable, partition, 3)
    assert len(fsyncs) == count and flusher.rounds == 0
    with pytest.raises(ValueError):
        trio.run(flusher.wait_durable, partition, 4)


def test_rolled_segments_and_new_directory_entries_are_fsynced(managers, fsyncs):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    for i in range(30):
        partition.append(make_batch(seed=i))
    flusher = Flusher("acks", manager)
    del fsyncs[:]
    trio.run(flusher.wait_durable, partition, partition.log_end_offset)
    # Every segment's log, the closed segments' indexes, the partition directory.
    assert len(fsyncs) == partition.segment_count + 2 * (partition.segment_count - 1) + 1
    assert partition.recovery_point == 90 and not partition.needs_flush


def test_interval_mode_flushes_in_the_background(managers, fsyncs):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    flusher = Flusher("interval:30", manager)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(flusher.run)
            partition.append(make_batch())
            assert partition.recovery_point == 0
            await trio.sleep(0.3)
            assert partition.recovery_point == 3
            partition.append(make_batch())
            await trio.sleep(0.3)
            assert partition.recovery_point == 6
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_acks_mode_background_flushes_rolled_segments_and_checkpoints(managers):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    flusher = Flusher("acks", manager, period_s=0.02, checkpoint_interval_s=0.1)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(flusher.run)
            for i in range(29):
                partition.append(make_batch(seed=i))
            await trio.sleep(0.2)
            # A round covers the active segment too, but only rolls trigger one.
            assert partition.recovery_point == 87
            assert not partition.needs_background_flush
            segments = partition.segment_count
            partition.append(make_batch())
            await trio.sleep(0.2)
            assert partition.segment_count == segments and partition.recovery_point == 87
            nursery.cancel_scope.cancel()

    trio.run(main)
    checkpoint = json.loads((manager.data_dir / RECOVERY_CHECKPOINT).read_text())
    assert checkpoint["partitions"]["t-0"]["offset"] == 87


def test_never_mode_does_not_fsync_until_close(managers, fsyncs):
    manager = managers(defaults=BrokerDefaults(flush="never"))
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    flusher = Flusher("never", manager, period_s=0.01, checkpoint_interval_s=0.01)
    before = len(fsyncs)

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(flusher.run)
            for i in range(30):
                partition.append(make_batch(seed=i))
            await trio.sleep(0.1)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert len(fsyncs) == before and partition.recovery_point == 0
    manager.close()
    assert len(fsyncs) > before


def test_failed_fsync_fails_every_waiter_and_takes_the_partition_offline(managers, monkeypatch):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    other = manager.create_topic("u", 1).partitions[0]
    flusher = Flusher("always", manager)

    def failing(fd):
        time.sleep(0.01)
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fsync", failing)
    errors = []

    async def produce(i):
        result = partition.append(make_batch(seed=i))
        try:
            await flusher.wait_durable(partition, result.last_offset + 1)
        except LogError as exc:
            errors.append(exc.code)

    async def main():
        async with trio.open_nursery() as nursery:
            for i in range(5):
                nursery.start_soon(produce, i)

    trio.run(main)
    assert errors == [ErrorCode.KAFKA_STORAGE_ERROR] * 5
    assert partition.offline is not None
    with pytest.raises(LogError) as err:
        partition.append(make_batch())
    assert err.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    monkeypatch.undo()
    assert other.append(make_batch()).base_offset == 0


def test_a_flush_that_cannot_open_its_files_leaves_the_partition_serving(managers, monkeypatch):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    flusher = Flusher("acks", manager)
    real = os.open

    def exhausted(path, flags, *args):
        raise OSError(errno.EMFILE, "Too many open files")
    end = partition.append(make_batch()).last_offset + 1
    monkeypatch.setattr(os, "open", exhausted)
    with pytest.raises(LogError) as err:
        trio.run(flusher.wait_durable, partition, end)
    assert err.value.code == ErrorCode.KAFKA_STORAGE_ERROR and "Too many open files" in err.value.message
    assert partition.offline is None and partition.recovery_point == 0
    monkeypatch.setattr(os, "open", real)
    trio.run(flusher.wait_durable, partition, end)
    assert partition.recovery_point == end


def test_waiting_on_a_deleted_partition(managers):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(make_batch())
    manager.delete_topic("t")
    with pytest.raises(LogError) as err:
        trio.run(Flusher("acks", manager).wait_durable, partition, 3)
    assert err.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
