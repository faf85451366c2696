"""Property test: any sequence of appends, rolls, retention, DeleteRecords and restarts
(clean or not) keeps offsets dense and monotonic and every kept batch byte-exact."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kgw.log import AppendOrigin, LogManager
from protocol.records import iter_batches

from .helpers import crash, make_batch, payload

CONFIGS = {"internal.segment.bytes": "2500", "index.interval.bytes": "150",
           "retention.bytes": "5000"}


class PartitionMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="kgw-prop-"))
        self.manager = LogManager(self.dir)
        self.manager.open()
        self.manager.create_topic("t", 1, CONFIGS)
        # (base offset, record count, payload) of every batch appended, in order.
        self.model: list[tuple[int, int, bytes]] = []
        self.next_offset = 0
        self.start = 0

    @property
    def partition(self):
        return self.manager.partition("t", 0)

    def teardown(self):
        if self.manager._lock is not None:
            self.manager.close()
        shutil.rmtree(self.dir)

    @rule(batches=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 150), st.integers(0, 255)),
                           min_size=1, max_size=3))
    def append(self, batches):
        data = [make_batch(count, value_size=size, seed=seed) for count, size, seed in batches]
        result = self.partition.append(b"".join(data), AppendOrigin.REPLICATION)
        assert result.base_offset == self.next_offset
        for batch, (count, _, _) in zip(data, batches):
            self.model.append((self.next_offset, count, payload(batch)))
            self.next_offset += count
        assert result.last_offset == self.next_offset - 1

    @rule(fraction=st.floats(0, 1))
    def delete_records(self, fraction):
        target = self.start + int((self.next_offset - self.start) * fraction)
        assert self.partition.delete_records_before(target) == max(target, self.start)
        self.start = max(target, self.start)

    @rule()
    def retention(self):
        before = self.partition.log_start_offset
        self.manager.enforce_retention()
        after = self.partition.log_start_offset
        assert after >= before
        if after > before:
            assert after == self.partition._segments[0].base_offset
            assert self.partition.size_bytes < 5000 + self.partition._segments[0].size
        self.start = after

    @rule(clean=st.booleans())
    def restart(self, clean):
        if clean:
            self.manager.close()
        else:
            crash(self.manager)
        self.manager = LogManager(self.dir)
        self.manager.open()

    @invariant()
    def log_matches_model(self):
        partition = self.partition
        assert partition.log_end_offset == partition.high_watermark == self.next_offset
        assert partition.log_start_offset == self.start
        expected = [(b, c, p) for b, c, p in self.model if b + c > self.start]
        stored = []
        offset = self.start
        while offset < self.next_offset:
            batches = list(iter_batches(partition.read(offset, 700).records.read_bytes()))
            stored += batches
            offset = batches[-1].last_offset + 1
        assert [(b.base_offset, b.record_count, payload(b.memory)) for b in stored] == expected
        assert all(b.crc_ok() and b.partition_leader_epoch == 0 for b in stored)


PartitionMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=40,
                                              deadline=None)
TestPartitionProperties = PartitionMachine.TestCase
