"""The log's descriptors: opened on use, bounded by the cache, never closed under a reader."""

import errno
import gc
import os
import weakref

import pytest

from kgw.log import BrokerDefaults
from kgw.log.descriptors import CachedFile, DescriptorCache
from kgw.log.files import OpenFile

from .helpers import SMALL, make_batch, payload, read_all

PARTITIONS = 200
CACHE = 16


def open_descriptors() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def test_many_partitions_hold_no_more_descriptors_than_the_cache(managers):
    before = open_descriptors()
    manager = managers(defaults=BrokerDefaults(max_open_files=CACHE))
    topics = [manager.create_topic(f"t{i}", PARTITIONS // 4, SMALL) for i in range(4)]
    assert open_descriptors() - before <= CACHE + 2
    partitions = [p for t in topics for p in t.partitions]
    for round_ in range(3):
        for partition in partitions:
            partition.append(make_batch(seed=round_))
        for partition in partitions:
            partition.flush()
        assert open_descriptors() - before <= CACHE + 2
    for partition in partitions:
        assert [payload(b.memory) for b in read_all(partition)] == [
            payload(make_batch(seed=s)) for s in range(3)]
    assert open_descriptors() - before <= CACHE + 2
    assert len(manager.files) == CACHE and manager.files.evicted > 0
    manager.close()
    assert open_descriptors() <= before


def test_a_reopened_directory_opens_nothing_until_used(managers):
    manager = managers()
    for partition in manager.create_topic("t", 50).partitions:
        partition.append(make_batch())
    manager.close()
    before = open_descriptors()
    again = managers(defaults=BrokerDefaults(max_open_files=CACHE))
    assert open_descriptors() - before <= CACHE + 2
    assert [len(read_all(again.partition("t", i))) for i in range(50)] == [1] * 50


def test_an_evicted_file_stays_readable_for_whoever_holds_it(managers):
    manager = managers(defaults=BrokerDefaults(max_open_files=2))
    held = manager.create_topic("held", 1).partitions[0]
    held.append(make_batch(seed=7))
    records = held.read(0, 1 << 20).records
    others = manager.create_topic("others", 10).partitions
    for partition in others:
        partition.append(make_batch())
    assert not any(f is records.ranges[0].file for f in manager.files._open.values())
    # Deleted as well: the range holds the descriptor, not the path.
    manager.delete_topic("held")
    assert payload(records.read_bytes()) == payload(make_batch(seed=7))


def test_a_scan_keeps_its_file_open_while_others_are_opened(managers):
    manager = managers(defaults=BrokerDefaults(max_open_files=1))
    topic = manager.create_topic("t", 3)
    for partition in topic.partitions:
        for seed in range(3):
            partition.append(make_batch(seed=seed))
    seen = []
    for header in topic.partitions[0].batches_from(0):
        # Each read of another partition evicts the file being scanned.
        read_all(topic.partitions[1 + len(seen) % 2])
        seen.append(header.base_offset)
    assert seen == [0, 3, 6]


class _Exhausting:
    """OpenFile, but the process has room for `room` descriptors of the log."""

    def __init__(self, room: int):
        self.room = room
        self.live: list = []

    def __call__(self, path, flags):
        self.live = [f for f in self.live if f() is not None]
        if len(self.live) >= self.room:
            raise OSError(errno.EMFILE, "Too many open files")
        file = OpenFile(path, flags)
        self.live.append(weakref.ref(file))
        return file


def test_out_of_descriptors_the_cache_gives_its_own_back(tmp_path, monkeypatch, caplog):
    exhausting = _Exhausting(room=3)
    monkeypatch.setattr("kgw.log.descriptors.OpenFile", exhausting)
    cache = DescriptorCache(10)
    handles = []
    for i in range(8):
        (tmp_path / str(i)).write_bytes(b"x")
        handles.append(CachedFile(cache, tmp_path / str(i), os.O_RDONLY))
    read = [os.pread(handle.get().fd, 1, 0) for handle in handles]
    assert read == [b"x"] * 8
    assert len(cache) <= 3 and "out of file descriptors" in caplog.text
    held = [h.get() for h in handles[:3]]
    with pytest.raises(OSError) as err:
        handles[3].get()
    assert err.value.errno == errno.EMFILE
    del held
