"""One segment: a `.log` file of RecordBatches and its two indexes.

Only the active (last) segment of a partition grows; every other one is
closed and changes only by being deleted whole.  A segment holds no
descriptor of its own: its files are opened through the log's
`DescriptorCache` when used, and stay open while the cache keeps them.
"""

import logging
import os
from pathlib import Path

from .descriptors import CachedFile, DescriptorCache, create_empty
from .files import OpenFile, write_all_v
from .index import OffsetIndex, TimeIndex
from .scan import RECOVERY_WINDOW, BatchHeader, SegmentScan

log = logging.getLogger("kgw.log")

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"


def segment_stem(base_offset: int) -> str:
    """Kafka's file name: the base offset as 20 zero-padded digits."""
    return f"{base_offset:020d}"


def parse_stem(name: str) -> int | None:
    stem = name.split(".", 1)[0]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


class Segment:
    def __init__(self, directory: Path, base_offset: int, files: DescriptorCache, size: int,
                 now_ms: int):
        stem = segment_stem(base_offset)
        self.base_offset = base_offset
        self.path = directory / (stem + LOG_SUFFIX)
        self._file = CachedFile(files, self.path, os.O_RDWR)
        self.size = size
        self.next_offset = base_offset
        self.offset_index = OffsetIndex(directory / (stem + INDEX_SUFFIX), base_offset, files)
        self.time_index = TimeIndex(directory / (stem + TIME_INDEX_SUFFIX), base_offset, files)
        # Largest batch max timestamp and the last offset of the first batch
        # that carried it (what ListOffsets MAX_TIMESTAMP and the time index
        # point at), as Kafka tracks maxTimestampAndOffsetSoFar.
        self.max_timestamp = -1
        self.max_timestamp_offset = -1
        # segment.ms counts from the first batch's timestamp (Kafka's
        # rollingBasedTimestamp), or from creation when that has none.
        self.first_batch_timestamp: int | None = None
        self.created_ms = now_ms
        self.roll_jitter_ms = 0
        self.bytes_since_index = 0

    @classmethod
    def create(cls, directory: Path, base_offset: int, now_ms: int,
               files: DescriptorCache) -> "Segment":
        """A new empty segment: its files are created and left closed.

        Safe on a worker thread: nothing but the new files is touched.
        """
        segment = cls(directory, base_offset, files, 0, now_ms)
        create_empty(segment.path)
        # Empty index files from the start, so a segment on disk always has
        # all three and a missing index means damage, not youth.
        create_empty(segment.offset_index.path)
        create_empty(segment.time_index.path)
        return segment

    @classmethod
    def open(cls, path: Path, now_ms: int, files: DescriptorCache) -> "Segment":
        base_offset = parse_stem(path.name)
        if base_offset is None:
            raise ValueError(f"{path.name} is not named by a base offset")
        return cls(path.parent, base_offset, files, os.stat(path).st_size, now_ms)

    def __repr__(self) -> str:
        return f"Segment({str(self.path)!r}, offsets {self.base_offset}..{self.next_offset - 1})"

    @property
    def is_empty(self) -> bool:
        return self.size == 0

    def open_file(self) -> OpenFile:
        """The `.log` file's OpenFile, opened if the cache does not hold it."""
        return self._file.get()

    # --- growing ------------------------------------------------------------

    def write(self, buffers: list, position: int) -> None:
        """Put `buffers` at the end of the file; on OSError the file is cut
        back first (or was never opened)."""
        file = self.open_file()
        try:
            write_all_v(file.fd, buffers, position)
        except OSError:
            os.ftruncate(file.fd, position)
            raise

    def note_batch(self, position: int, size: int, last_offset: int, max_timestamp: int,
                   index_interval: int) -> None:
        """Account for a batch now stored at `position` (append and rebuild alike)."""
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.max_timestamp_offset = last_offset
        if self.first_batch_timestamp is None:
            self.first_batch_timestamp = max_timestamp
        if self.bytes_since_index > index_interval:
            self.offset_index.append(last_offset, position)
            self.time_index.maybe_append(self.max_timestamp, self.max_timestamp_offset)
            self.bytes_since_index = 0
        self.bytes_since_index += size
        self.size = position + size
        self.next_offset = last_offset + 1

    def seal_time_index(self) -> None:
        """Give the time index an entry for the largest timestamp so far.

        Kafka does this when a segment stops being active; kgw also does it
        at shutdown and after recovery, so a loaded segment's last time
        index entry is always its largest timestamp.
        """
        if self.max_timestamp_offset >= 0:
            self.time_index.maybe_append(self.max_timestamp, self.max_timestamp_offset)

    def index_files_for_flush(self) -> list[Path]:
        """Write index entries not yet on disk; the index files an fsync must cover."""
        self.offset_index.write_pending()
        self.time_index.write_pending()
        return [self.offset_index.path, self.time_index.path]

    def release_index_files(self) -> None:
        self.offset_index.release()
        self.time_index.release()

    # --- reading ------------------------------------------------------------

    def batches(self, position: int = 0, end: int | None = None) -> SegmentScan:
        file = self.open_file()
        return SegmentScan(file.fd, position, self.size if end is None else end, owner=file)

    def find_batch(self, offset: int) -> BatchHeader | None:
        """The first batch whose last offset is >= `offset`, if this segment has one."""
        for header in self.batches(self.offset_index.lookup(offset)):
            if header.last_offset >= offset:
                return header
        return None

    def read_extent(self, first: BatchHeader, max_bytes: int) -> tuple[int, int]:
        """How many bytes from `first` to return: whole batches within `max_bytes`,
        but never less than `first` itself (KIP-74); and the offset after them.

        Indexed batch starts bound the header walk to one index interval.
        """
        limit = first.position + max(max_bytes, first.size)
        if self.size <= limit:
            return self.size - first.position, self.next_offset
        end = max(self.offset_index.start_at_or_before(limit), first.end)
        for header in self.batches(end):
            if header.end > limit:
                return end - first.position, header.base_offset
            end = header.end
        return end - first.position, self.next_offset

    def delete_files(self) -> None:
        """Unlink the three files; descriptors readers hold keep working."""
        for path in (self.path, self.offset_index.path, self.time_index.path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.release_files()

    def release_files(self) -> None:
        """Give the cache's descriptors of this segment back (it is deleted or closed)."""
        self._file.release()
        self.release_index_files()

    # --- loading ------------------------------------------------------------

    def recover(self, index_interval: int) -> None:
        """Rebuild everything from the bytes, CRCs checked; cut off the first bad batch."""
        file_size = self.size
        self._reset()
        file = self.open_file()
        scan = SegmentScan(file.fd, 0, file_size, first_offset=self.base_offset,
                           verify_crc=True, window=RECOVERY_WINDOW, owner=file)
        for h in scan:
            self.note_batch(h.position, h.size, h.last_offset, h.max_timestamp, index_interval)
        truncated = file_size - scan.position
        if scan.problem is not None:
            log.warning("truncating %s at position %d, dropping %d bytes: %s",
                        self.path, scan.position, truncated, scan.problem)
            os.ftruncate(file.fd, scan.position)
        self.size = scan.position
        self.seal_time_index()
        self._rewrite_indexes()

    def load_closed(self, next_offset: int) -> bool:
        """Take a closed segment's indexes as they are; False if they are not plausible."""
        next_relative = next_offset - self.base_offset
        if (not self.offset_index.load(self.size, next_relative)
                or not self.time_index.load(next_relative)):
            return False
        last = self.time_index.last
        if last is None and self.size:
            return False
        self.next_offset = next_offset
        if last is not None:
            self.max_timestamp, self.max_timestamp_offset = last
        return True

    def load_active(self, index_interval: int) -> bool:
        """Take the active segment's indexes and check the bytes after the last entry.

        A cheap check after a clean shutdown: the batches after the last
        index entry must frame cleanly up to the end of the file.  False if
        anything is off; the caller then recovers the segment.
        """
        if not self.offset_index.load(self.size, None):
            return False
        start = self.offset_index.last_position
        expected_last = (self.base_offset + self.offset_index.relative[-1]
                         if len(self.offset_index) else None)
        file = self.open_file()
        scan = SegmentScan(file.fd, start, self.size,
                           first_offset=None if start else self.base_offset, owner=file)
        headers = list(scan)
        if scan.problem is not None or (headers and expected_last is not None
                                        and headers[0].last_offset != expected_last):
            return False
        next_offset = headers[-1].next_offset if headers else self.base_offset
        if not self.time_index.load(next_offset - self.base_offset):
            return False
        self.next_offset = next_offset
        last = self.time_index.last
        if last is not None:
            self.max_timestamp, self.max_timestamp_offset = last
        for header in headers:
            if header.max_timestamp > self.max_timestamp:
                self.max_timestamp = header.max_timestamp
                self.max_timestamp_offset = header.last_offset
        self.bytes_since_index = self.size - start
        first = next(iter(self.batches(0)), None)
        self.first_batch_timestamp = first.max_timestamp if first else None
        return True

    def _reset(self) -> None:
        self.offset_index.clear()
        self.time_index.clear()
        self.next_offset = self.base_offset
        self.max_timestamp = self.max_timestamp_offset = -1
        self.first_batch_timestamp = None
        self.bytes_since_index = 0

    def _rewrite_indexes(self) -> None:
        self.offset_index.rewrite()
        self.time_index.rewrite()
        self.index_files_for_flush()
