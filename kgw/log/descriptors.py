"""The log's open descriptors: opened on first use, at most so many, least
recently used closed first.

A partition holds no descriptor of its own: each segment's `.log` and
index files are `CachedFile`s, opened through the one `DescriptorCache` of
their LogManager when something reads or writes them.  So a broker with
50,000 partitions holds no more descriptors than the cache allows, however
many partitions clients touch (Kafka keeps every segment open and asks for
a large `ulimit -n` instead).

Evicting a file only drops the cache's reference to its `OpenFile`.
Whoever still holds one (a Fetch response's FileRange waiting for its
sendfile, a scan in progress) keeps the descriptor valid until it lets
go; only then does the `OpenFile` close it.  So the descriptors open are
the cache's plus those in flight.  Everything here runs on the event
loop's thread.
"""

import errno
import logging
import os
import resource
from collections import OrderedDict
from pathlib import Path

from .files import OpenFile

log = logging.getLogger("kgw.log")

# Out of descriptors (the process's limit, or the system's).
_EXHAUSTED = (errno.EMFILE, errno.ENFILE)


def default_max_open_files() -> int:
    """Half the process's soft limit on open files, at most 10,000: the
    rest is left to connections and everything else."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(1, min(10_000, soft // 2))


class DescriptorCache:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"the descriptor cache needs room for one file, not {capacity}")
        self.capacity = capacity
        self._open: OrderedDict[CachedFile, OpenFile] = OrderedDict()
        # Files opened and evicted so far, for tests and benchmarks.
        self.opened = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def get(self, handle: "CachedFile") -> OpenFile:
        file = self._open.get(handle)
        if file is not None:
            self._open.move_to_end(handle)
            return file
        file = self._open_file(handle)
        self._open[handle] = file
        self.opened += 1
        while len(self._open) > self.capacity:
            self._evict_oldest()
        return file

    def is_open(self, handle: "CachedFile") -> bool:
        return handle in self._open

    def forget(self, handle: "CachedFile") -> None:
        self._open.pop(handle, None)

    def clear(self) -> None:
        self._open.clear()

    def _open_file(self, handle: "CachedFile") -> OpenFile:
        """Open it; when the process is out of descriptors, give back the
        cache's oldest ones and try again while there are any to give."""
        warned = False
        while True:
            try:
                return OpenFile(handle.path, handle.flags)
            except OSError as exc:
                if exc.errno not in _EXHAUSTED or not self._open:
                    raise
                if not warned:
                    # The error's text, not the error: a log record keeping
                    # its traceback would keep the OpenFiles of its frames.
                    log.warning("out of file descriptors opening %s (%s): closing the log's "
                                "least recently used files; %d are cached (--max-open-files %d)",
                                handle.path, exc.strerror, len(self._open), self.capacity)
                    warned = True
                for _ in range(max(1, len(self._open) // 4)):
                    self._evict_oldest()

    def _evict_oldest(self) -> None:
        self._open.popitem(last=False)
        self.evicted += 1


class CachedFile:
    """A file of the log, opened through the cache when used.

    `get()` returns its OpenFile; hold that reference for as long as its
    descriptor is used (across an `await` or a thread especially), not the
    bare descriptor number.
    """

    __slots__ = ("path", "flags", "_cache")

    def __init__(self, cache: DescriptorCache, path: Path, flags: int):
        self.path = path
        self.flags = flags
        self._cache = cache

    def __repr__(self) -> str:
        return f"CachedFile({str(self.path)!r})"

    def get(self) -> OpenFile:
        return self._cache.get(self)

    @property
    def is_open(self) -> bool:
        return self._cache.is_open(self)

    def release(self) -> None:
        """Drop the cache's descriptor now (the file is done with, or gone)."""
        self._cache.forget(self)


def create_empty(path: Path) -> None:
    """Create `path` as an empty file, FileExistsError if it holds bytes already."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size:
        raise FileExistsError(f"{path} already holds {size} bytes")
