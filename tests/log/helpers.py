"""Helpers for the log tests: batches, reading back, a fake clock, crashes."""

import gc
import os

from kgw.log import LogManager
from protocol.records import ATTRIBUTES_OFFSET, Record, RecordBatch, build_batch, iter_batches

# A small-segment topic: every few appends roll, indexes get many entries.
SMALL = {"internal.segment.bytes": "1500", "index.interval.bytes": "200"}


def make_batch(count: int = 3, timestamp: int = 1_000, value_size: int = 20, *, seed: int = 0,
               timestamps=None, base_offset: int = 0, **kwargs) -> bytes:
    timestamps = timestamps or [timestamp + i for i in range(count)]
    records = [Record(base_offset + i, ts, b"k%d" % i, bytes([(seed + i) % 256]) * value_size)
               for i, ts in enumerate(timestamps)]
    return build_batch(records, base_offset=base_offset, **kwargs)


def payload(batch) -> bytes:
    """The part of a batch kgw must store unchanged (everything the CRC covers)."""
    return bytes(RecordBatch(batch).memory[ATTRIBUTES_OFFSET:])


def read_all(partition, start: int | None = None) -> list[RecordBatch]:
    """Every batch from `start` (default: the log start) to the end, read back via read()."""
    offset = partition.log_start_offset if start is None else start
    batches = []
    while offset < partition.log_end_offset:
        result = partition.read(offset, 1 << 20)
        assert result.records is not None
        data = result.records.read_bytes()
        assert len(data) == len(result.records)
        chunk = list(iter_batches(data))
        assert chunk, "a read below the end returned nothing"
        batches.extend(chunk)
        offset = chunk[-1].last_offset + 1
    return batches


def crash(manager: LogManager) -> None:
    """Drop a manager as kill -9 would: no flush, no marker; its descriptors close."""
    manager._topics.clear()
    manager._by_id.clear()
    manager.files.clear()
    manager._lock = None
    gc.collect()


class Clock:
    def __init__(self, ms: int = 1_700_000_000_000):
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def segment_files(partition, suffix=".log"):
    return sorted(p for p in os.listdir(partition.directory) if p.endswith(suffix))
