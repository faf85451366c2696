"""Open files whose descriptors outlive unlinking, and the ranges Fetch sends.

A segment's descriptor belongs to an `OpenFile`, which closes it when the
last Python reference goes away (CPython's reference counting makes that
immediate).  Retention or a topic deletion may unlink a segment while a
fetch response still holds a `FileRange` of it: the response keeps the
`OpenFile` alive, so the bytes stay readable and the descriptor number
cannot be reused under it.  Nothing ever closes a descriptor by number.
"""

import itertools
import json
import os
import weakref
from dataclasses import dataclass
from pathlib import Path


class OpenFile:
    """Owns one descriptor; `fd` is valid for as long as this object lives."""

    __slots__ = ("fd", "path", "__weakref__")

    def __init__(self, path: Path, flags: int, mode: int = 0o644):
        self.path = path
        self.fd = os.open(path, flags | os.O_CLOEXEC, mode)
        weakref.finalize(self, os.close, self.fd)

    def __repr__(self) -> str:
        return f"OpenFile({str(self.path)!r}, fd={self.fd})"


def pread_exact(fd: int, length: int, position: int) -> bytes:
    """Exactly `length` bytes or fewer only at end of file."""
    data = os.pread(fd, length, position)
    if len(data) == length or not data:
        return data
    parts = [data]
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, position + got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class FileRange:
    """`length` bytes of `file` from `position`: whole batches, ready for sendfile."""

    file: OpenFile
    position: int
    length: int

    def read_bytes(self) -> bytes:
        return pread_exact(self.file.fd, self.length, self.position)


class FileRecords:
    """A Fetch partition's records as file ranges.

    The protocol encoder appends it to the response as it is and calls
    `len()` on it; the server writes each range with `os.sendfile`, or
    `read_bytes()` where that is not available.
    """

    __slots__ = ("ranges",)

    def __init__(self, ranges: list[FileRange]):
        self.ranges = ranges

    def __len__(self) -> int:
        return sum(r.length for r in self.ranges)

    def __repr__(self) -> str:
        return f"FileRecords({self.ranges!r})"

    def read_bytes(self) -> bytes:
        return b"".join(r.read_bytes() for r in self.ranges)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (created, renamed, unlinked files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data, position: int) -> None:
    """pwrite all of `data` at `position`; short writes are retried, errors raised."""
    write_all_v(fd, [data], position)


def write_all_v(fd: int, buffers: list, position: int) -> None:
    """pwritev all of `buffers` (bytes-like, byte-sized items) at `position`.

    One syscall in the usual case; short writes are resumed where they
    stopped; errors are raised.
    """
    pending = list(buffers)
    while pending:
        written = os.pwritev(fd, pending[:_IOV_MAX], position)
        position += written
        while pending and written >= len(pending[0]):
            written -= len(pending.pop(0))
        if written:
            pending[0] = memoryview(pending[0])[written:]


def atomic_write(path: Path, data: bytes, *, sync: bool = True,
                 sync_directory: bool = True) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file.

    The classic sequence: a temporary file written and fsynced, renamed
    over the target, then the directory fsynced so the rename survives a
    power loss.  The temporary name carries the pid and a counter so two
    writers never share one.  Without `sync`, the fsyncs are left to the
    caller (a process crash still finds the old or the new file); without
    `sync_directory`, only the directory's (one fsync for many files).
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{next(_tmp_counter)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        write_all(fd, data, 0)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if sync and sync_directory:
        fsync_dir(path.parent)


def metadata_bytes(format_version: int, fields: dict) -> bytes:
    """One of kgw's small metadata files: versioned JSON."""
    return json.dumps({"format_version": format_version, **fields}).encode()


def write_metadata(path: Path, format_version: int, fields: dict, *, sync: bool = True) -> None:
    """Write one of kgw's small metadata files, replaced atomically."""
    atomic_write(path, metadata_bytes(format_version, fields), sync=sync)


def read_metadata(path: Path, format_version: int) -> dict | None:
    """The fields of a metadata file, None if there is none; ValueError if it
    is unreadable or of another format version."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    meta = json.loads(data)
    if not isinstance(meta, dict):
        raise ValueError("not a JSON object")
    if meta.get("format_version") != format_version:
        raise ValueError(f"format_version {meta.get('format_version')!r}, expected {format_version}")
    del meta["format_version"]
    return meta


_tmp_counter = itertools.count(1)
_IOV_MAX = os.sysconf("SC_IOV_MAX")
