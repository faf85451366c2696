"""Validating a kgw data directory offline, for `kgw log check`.

What is checked: every topic metadata file reads; every partition a topic
declares has its directory; in each partition, every segment frames
cleanly with valid CRC-32Cs, its offsets are dense and continue the
previous segment's, its offset and time indexes point at the batches they
name, and the stored log start offset lies within the log.  These are the
properties kgw's own start-up relies on (see kgw.log.recovery), checked
read-only and reported instead of repaired.  The records inside each batch
are checked as a Produce checks them (`kgw.log.record_checks.check_batch`,
which `kgw log dump` uses too), so a batch an older kgw let in with a
valid CRC around malformed records is reported, batch by batch.
"""

import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kgw.log.errors import LogError
from kgw.log.files import pread_exact, read_metadata
from kgw.log.manager import CLEAN_SHUTDOWN_MARKER
from kgw.log.record_checks import check_batch
from kgw.log.recovery import LOG_START_OFFSET_FILE, LOG_START_OFFSET_FORMAT
from kgw.log.scan import RECOVERY_WINDOW, BatchHeader, SegmentScan
from kgw.log.segment import INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, parse_stem
from kgw.log.topic import META_DIR, read_meta

_PARTITION_DIR = re.compile(r"(.+)-(\d+)")
_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


@dataclass
class Totals:
    topics: int = 0
    partitions: int = 0
    segments: int = 0
    batches: int = 0
    bytes: int = 0
    problems: int = 0


@dataclass
class _Partition:
    path: Path
    segments: list[tuple[int, Path]] = field(default_factory=list)


class DataDirCheck:
    """Finds what to check up front (`plan`), so a caller can show progress
    by bytes, then checks it (`run`), reporting through `problem` and `note`."""

    def __init__(self, data_dir: Path, emit: Callable[[str], None]):
        self.data_dir = data_dir
        self.emit = emit
        self.totals = Totals()
        self._partitions: list[_Partition] = []

    def _problem(self, path: Path, what: str) -> None:
        self.totals.problems += 1
        self.emit(f"{path}: {what}")

    def _note(self, what: str) -> None:
        self.emit(f"note: {what}")

    def plan(self) -> int:
        """Read the topics and find the segments; the bytes `run` will read."""
        declared = self._read_topics()
        found = {}
        for entry in sorted(os.scandir(self.data_dir), key=lambda e: e.name):
            match = _PARTITION_DIR.fullmatch(entry.name)
            if match and entry.is_dir():
                found[match[1], int(match[2])] = Path(entry.path)
        for key in sorted(declared.keys() - found.keys()):
            self._problem(self.data_dir / f"{key[0]}-{key[1]}",
                          f"missing: topic {key[0]!r} has {declared[key]} partition(s)")
        for key in sorted(found.keys() - declared.keys()):
            self._note(f"{found[key]} belongs to no topic (left over from a deletion?); "
                       "checked all the same")
        if not (self.data_dir / CLEAN_SHUTDOWN_MARKER).exists():
            self._note(f"{self.data_dir} has no clean-shutdown marker: a kgw is using it or "
                       "did not stop cleanly, and its newest data may be in flight")
        total = 0
        for key in sorted(found):
            partition = _Partition(found[key])
            for entry in os.scandir(found[key]):
                base = parse_stem(entry.name)
                if base is not None and entry.name.endswith(LOG_SUFFIX):
                    partition.segments.append((base, Path(entry.path)))
                    total += entry.stat().st_size
            partition.segments.sort()
            self._partitions.append(partition)
        self.totals.partitions = len(self._partitions)
        return total

    def _read_topics(self) -> dict[tuple[str, int], int]:
        declared = {}
        for path in sorted((self.data_dir / META_DIR).glob("*.json")):
            try:
                name, _, count, _ = read_meta(path)
            except ValueError as exc:
                self._problem(path, f"topic metadata {exc}")
                continue
            self.totals.topics += 1
            for index in range(count):
                declared[name, index] = count
        return declared

    def run(self, advance: Callable[[int], None]) -> Totals:
        for partition in self._partitions:
            self._check_partition(partition, advance)
        return self.totals

    def _check_partition(self, partition: _Partition, advance: Callable[[int], None]) -> None:
        next_offset = None
        first_offset = partition.segments[0][0] if partition.segments else None
        for base, path in partition.segments:
            if next_offset is not None and base != next_offset:
                self._problem(path, f"starts at offset {base} but the segment before it ends "
                                    f"at {next_offset}")
            next_offset = self._check_segment(base, path, advance)
        self._check_log_start(partition.path, first_offset, next_offset)

    def _check_segment(self, base: int, path: Path, advance: Callable[[int], None]) -> int:
        self.totals.segments += 1
        stem = path.with_suffix("")
        # Indexes first: a running broker writes an entry only after the
        # batch it names, so entries read before the log's size stay within it.
        offsets = self._read_index(stem.with_suffix(INDEX_SUFFIX), _OFFSET_ENTRY)
        times = self._read_index(stem.with_suffix(TIME_INDEX_SUFFIX), _TIME_ENTRY)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            offset_check = _OffsetIndexCheck(base, offsets)
            time_check = _TimeIndexCheck(base, times)
            scan = SegmentScan(fd, 0, size, first_offset=base, verify_crc=True,
                               window=RECOVERY_WINDOW)
            done = 0
            for header in scan:
                self.totals.batches += 1
                offset_check.batch(header)
                time_check.batch(header)
                self._check_records(fd, path, header)
                advance(header.end - done)
                done = header.end
            advance(size - done)
        finally:
            os.close(fd)
        self.totals.bytes += size
        if scan.problem is not None:
            self._problem(path, scan.problem)
        for index_path, problem in ((stem.with_suffix(INDEX_SUFFIX), offset_check.finish()),
                                    (stem.with_suffix(TIME_INDEX_SUFFIX), time_check.finish())):
            if problem is not None:
                self._problem(index_path, problem)
        return base if scan.next_offset is None else scan.next_offset

    def _check_records(self, fd: int, path: Path, header: BatchHeader) -> None:
        batch = pread_exact(fd, header.size, header.position)
        try:
            check_batch(memoryview(batch), header)
        except LogError as exc:
            self._problem(path, f"the batch at offset {header.base_offset} (position "
                                f"{header.position}): {exc.message}")

    def _read_index(self, path: Path, entry: struct.Struct) -> list[tuple] | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._problem(path, "missing (kgw creates every segment with both indexes)")
            return None
        if len(data) % entry.size:
            self._problem(path, f"{len(data)} bytes are not whole {entry.size}-byte entries")
            return None
        return list(entry.iter_unpack(data))

    def _check_log_start(self, directory: Path, first: int | None, end: int | None) -> None:
        path = directory / LOG_START_OFFSET_FILE
        try:
            meta = read_metadata(path, LOG_START_OFFSET_FORMAT)
            if meta is None:
                return
            start = int(meta["log_start_offset"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self._problem(path, f"unreadable: {exc}")
            return
        if first is not None and end is not None and not first <= start <= end:
            self._problem(path, f"log start offset {start} lies outside the log's offsets "
                                f"{first} to {end}")


class _OffsetIndexCheck:
    """Each `.index` entry (relative offset, position) must sit at a batch
    start and name that batch's last offset; the first mismatch is reported."""

    def __init__(self, base: int, entries: list[tuple[int, int]] | None):
        self.base = base
        self.entries = entries or []
        self.i = 0
        self.problem: str | None = None

    def batch(self, header: BatchHeader) -> None:
        while self.problem is None and self.i < len(self.entries):
            relative, position = self.entries[self.i]
            if position > header.position:
                return
            if position < header.position:
                self.problem = f"entry {self.i} points at position {position}, inside a batch"
            elif self.base + relative != header.last_offset:
                self.problem = (f"entry {self.i} names offset {self.base + relative} at position "
                                f"{position}, where the batch ends at offset {header.last_offset}")
            self.i += 1

    def finish(self) -> str | None:
        if self.problem is None and self.i < len(self.entries):
            relative, position = self.entries[self.i]
            return (f"entry {self.i} (offset {self.base + relative}, position {position}) "
                    "points past the valid data")
        return self.problem


class _TimeIndexCheck:
    """Each `.timeindex` entry (timestamp, relative offset) must name the last
    offset of a batch whose largest timestamp it is, in increasing order."""

    def __init__(self, base: int, entries: list[tuple[int, int]] | None):
        self.base = base
        self.entries = entries or []
        self.j = 0
        self.problem = None
        for k in range(1, len(self.entries)):
            if (self.entries[k][0] <= self.entries[k - 1][0]
                    or self.entries[k][1] <= self.entries[k - 1][1]):
                self.problem = f"entries {k - 1} and {k} are not in increasing order"
                break

    def batch(self, header: BatchHeader) -> None:
        while self.problem is None and self.j < len(self.entries):
            timestamp, relative = self.entries[self.j]
            offset = self.base + relative
            if offset > header.last_offset:
                return
            if offset < header.last_offset:
                self.problem = f"entry {self.j} names offset {offset}, which ends no batch"
            elif timestamp != header.max_timestamp:
                self.problem = (f"entry {self.j} gives timestamp {timestamp} for offset {offset}, "
                                f"whose batch has max timestamp {header.max_timestamp}")
            self.j += 1

    def finish(self) -> str | None:
        if self.problem is None and self.j < len(self.entries):
            _, relative = self.entries[self.j]
            return f"entry {self.j} (offset {self.base + relative}) points past the valid data"
        return self.problem
