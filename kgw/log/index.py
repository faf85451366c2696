"""The sparse offset index and the time index of one segment.

Kafka's layouts, so its tools can read them: `.index` holds 8-byte
entries (offset relative to the segment base as int32, file position as
int32), `.timeindex` 12-byte entries (timestamp int64, relative offset
int32), big-endian, one entry per `index.interval.bytes` of log.  Entries
live in `array`s (a few bytes each, no Python object per entry) and reach
the file in batches: at a flush, a roll or a clean close, through the
log's descriptor cache.  The files are a cache: recovery rebuilds them from
the log, so they are never the only copy of anything.

An offset entry names the last offset of the batch that starts at its
position, as Kafka writes it; a time entry names the largest timestamp seen
so far in the segment and the last offset of the batch holding it.
"""

import bisect
import os
import struct
from abc import ABC, abstractmethod
from array import array
from pathlib import Path

from .descriptors import CachedFile, DescriptorCache
from .files import write_all

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
OFFSET_ENTRY_SIZE = _OFFSET_ENTRY.size


class _IndexFile(ABC):
    """The file behind an index: how many entries are on disk, and writing the rest.

    Subclasses keep the entries and provide `__len__` and `_pack(i)`.
    """

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _pack(self, i: int) -> bytes: ...

    def __init__(self, path: Path, entry: struct.Struct, files: DescriptorCache):
        self.path = path
        self.entry = entry
        # Entries on disk: the file holds exactly these, unless `_truncate`.
        self.persisted = 0
        self._truncate = False
        self._file = CachedFile(files, path, os.O_WRONLY | os.O_CREAT)

    def write_pending(self) -> None:
        """Write the entries not yet on disk (the file is then due an fsync)."""
        count = len(self)
        if not self._truncate and count == self.persisted:
            return
        file = self._file.get()
        if self._truncate:
            os.ftruncate(file.fd, self.persisted * self.entry.size)
            self._truncate = False
        if count > self.persisted:
            data = b"".join(self._pack(i) for i in range(self.persisted, count))
            write_all(file.fd, data, self.persisted * self.entry.size)
            self.persisted = count

    def release(self) -> None:
        """Drop the cache's descriptor; a later write reopens the file."""
        self._file.release()

    def rewrite(self) -> None:
        """Have the next write replace the whole file (after a rebuild)."""
        self.persisted = 0
        self._truncate = True


class OffsetIndex(_IndexFile):
    def __init__(self, path: Path, base_offset: int, files: DescriptorCache):
        super().__init__(path, _OFFSET_ENTRY, files)
        self.base_offset = base_offset
        self.relative = array("i")
        self.positions = array("i")

    def __len__(self) -> int:
        return len(self.relative)

    def _pack(self, i: int) -> bytes:
        return _OFFSET_ENTRY.pack(self.relative[i], self.positions[i])

    def append(self, last_offset: int, position: int) -> None:
        self.relative.append(last_offset - self.base_offset)
        self.positions.append(position)

    def clear(self) -> None:
        del self.relative[:]
        del self.positions[:]

    def lookup(self, offset: int) -> int:
        """A batch start at or before the batch holding `offset` (0 if none is indexed)."""
        i = bisect.bisect_right(self.relative, offset - self.base_offset) - 1
        return self.positions[i] if i >= 0 else 0

    def start_at_or_before(self, position: int) -> int:
        """The last indexed batch start at or before `position` (0 if none)."""
        i = bisect.bisect_right(self.positions, position) - 1
        return self.positions[i] if i >= 0 else 0

    @property
    def last_position(self) -> int:
        return self.positions[-1] if self.positions else 0

    def load(self, log_size: int, next_relative: int | None) -> bool:
        """Read the file; False (and nothing loaded) if it is missing or not plausible.

        Plausible: whole entries, relative offsets and positions strictly
        increasing, positions inside the log, offsets below `next_relative`
        when that is known.  Anything else means the file is torn, stale or
        foreign, and the caller rebuilds it.
        """
        data = _read_whole(self.path)
        if data is None or len(data) % _OFFSET_ENTRY.size:
            return False
        relative, positions = array("i"), array("i")
        last_rel = last_pos = -1
        for rel, pos in _OFFSET_ENTRY.iter_unpack(data):
            if (rel <= last_rel or pos <= last_pos or pos >= log_size
                    or (next_relative is not None and rel >= next_relative)):
                return False
            relative.append(rel)
            positions.append(pos)
            last_rel, last_pos = rel, pos
        self.relative, self.positions = relative, positions
        self.persisted = len(relative)
        return True


class TimeIndex(_IndexFile):
    def __init__(self, path: Path, base_offset: int, files: DescriptorCache):
        super().__init__(path, _TIME_ENTRY, files)
        self.base_offset = base_offset
        self.timestamps = array("q")
        self.relative = array("i")

    def __len__(self) -> int:
        return len(self.timestamps)

    def _pack(self, i: int) -> bytes:
        return _TIME_ENTRY.pack(self.timestamps[i], self.relative[i])

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add (timestamp, offset) if it raises the segment's largest timestamp."""
        if not self.timestamps or timestamp > self.timestamps[-1]:
            self.timestamps.append(timestamp)
            self.relative.append(offset - self.base_offset)

    def clear(self) -> None:
        del self.timestamps[:]
        del self.relative[:]

    def offset_before(self, timestamp: int) -> int | None:
        """The offset of the last entry whose timestamp is below `timestamp`.

        Every record up to that offset is older than `timestamp`, so a search
        for the first record at or after it may start at that offset's batch.
        """
        i = bisect.bisect_left(self.timestamps, timestamp) - 1
        return self.base_offset + self.relative[i] if i >= 0 else None

    @property
    def last(self) -> tuple[int, int] | None:
        if not self.timestamps:
            return None
        return self.timestamps[-1], self.base_offset + self.relative[-1]

    def load(self, next_relative: int) -> bool:
        """Read the file; False if missing or implausible (see OffsetIndex.load)."""
        data = _read_whole(self.path)
        if data is None or len(data) % _TIME_ENTRY.size:
            return False
        timestamps, relative = array("q"), array("i")
        last_ts, last_rel = None, -1
        for ts, rel in _TIME_ENTRY.iter_unpack(data):
            if (last_ts is not None and ts <= last_ts) or rel <= last_rel or rel >= next_relative:
                return False
            timestamps.append(ts)
            relative.append(rel)
            last_ts, last_rel = ts, rel
        self.timestamps, self.relative = timestamps, relative
        self.persisted = len(timestamps)
        return True


def _read_whole(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
