"""A journal: an append-only file of checksummed records.

The committed offsets (kgw.groups.offsets) and the transaction coordinator's
state (kgw.transactions) each keep one. Layout: an 8-byte header, a 4-byte
magic naming what the journal holds and a big-endian uint32 format version,
then frames of `uint32 length, uint32 CRC-32C of the payload, payload`.
A payload is one record: an int16 naming its kind, then the record as
`kgw.disk_records` encodes it (its own int16 version, then its fields), as
Kafka's coordinator records carry a key version naming the kind and a
versioned value.  Each journal declares its kinds (`JournalKinds`).  A
crash can leave a torn last frame; opening the journal keeps every frame
before the first one that is short or fails its CRC and cuts the rest off,
as Kafka's log recovery truncates at the first invalid batch.

Format version 1, written by kgw before 0.2, held JSON payloads; such a
journal is read through the kinds' `legacy` converter and rewritten at
once in the current format.

Appends are plain `os.write`s; `sync()` makes them durable with fsync, and
callers that arrive while an fsync is running wait for the next one, so any
number of concurrent commits share one fsync (group commit).
"""

import json
import logging
import os
import struct
from pathlib import Path
from typing import Any, Callable

import trio

from protocol import checksum

from .disk_records import DiskFormatError, DiskRecord
from .log.files import atomic_write

log = logging.getLogger("kgw.journal")

FORMAT_VERSION = 2
JSON_FORMAT_VERSION = 1
_HEADER = struct.Struct(">4sI")
_FRAME = struct.Struct(">II")
_KIND = struct.Struct(">h")


class JournalError(Exception):
    """The journal cannot be read: not kgw's, a newer format, or corrupt
    inside a checksummed frame (a bug, not a crash)."""


class JournalKinds:
    """The records one journal holds: `{kind number: DiskRecord}`, and
    `legacy(dict) -> record` for the JSON records of format version 1."""

    def __init__(self, magic: bytes, kinds: dict[int, DiskRecord],
                 legacy: Callable[[dict], Any] | None = None):
        self.magic = magic
        self._kinds = kinds
        self._by_class = {record.cls: (kind, record) for kind, record in kinds.items()}
        self.legacy = legacy

    def encode_frame(self, value: Any) -> bytes:
        kind, record = self._by_class[type(value)]
        payload = _KIND.pack(kind) + record.encode(value)
        return _FRAME.pack(len(payload), checksum.crc32c(payload)) + payload

    def decode(self, payload) -> Any:
        if len(payload) < _KIND.size:
            raise DiskFormatError("a record too short to name its kind")
        kind = _KIND.unpack_from(payload)[0]
        record = self._kinds.get(kind)
        if record is None:
            raise DiskFormatError(f"unknown record kind {kind}")
        return record.decode(memoryview(payload)[_KIND.size:])


def _header(magic: bytes) -> bytes:
    return _HEADER.pack(magic, FORMAT_VERSION)


def _read_records(path: Path, data: bytes, kinds: JournalKinds) -> tuple[list, int, int]:
    """The records of a journal's bytes, where its valid part ends, and its format version."""
    magic, version = _HEADER.unpack_from(data)
    if magic != kinds.magic:
        raise JournalError(f"{path} is not a kgw journal of kind {kinds.magic.decode()}")
    if version == JSON_FORMAT_VERSION and kinds.legacy is not None:
        decode = lambda payload: kinds.legacy(json.loads(payload))  # noqa: E731
    elif version == FORMAT_VERSION:
        decode = kinds.decode
    else:
        raise JournalError(f"{path} has format version {version}; this kgw reads {FORMAT_VERSION}")
    records: list[Any] = []
    position = _HEADER.size
    while position + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, position)
        start = position + _FRAME.size
        payload = data[start:start + length]
        if len(payload) < length or checksum.crc32c(payload) != crc:
            break
        try:
            records.append(decode(payload))
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"{path}: undecodable record at byte {position}: {exc}") from None
        position = start + length
    return records, position, version


class Journal:
    def __init__(self, path: Path, kinds: JournalKinds, fd: int, end: int, durable: bool = True):
        self.path = path
        self.kinds = kinds
        self.durable = durable
        self._fd = fd
        self._end = end
        self._synced = end
        self._round: trio.Event | None = None
        self._failed: OSError | None = None

    @classmethod
    def open(cls, path: Path, kinds: JournalKinds, *, durable: bool = True) -> tuple["Journal", list]:
        """Open (or create) the journal at `path`, holding `kinds` of
        records; returns it and its records.  Not `durable`, it is never
        fsynced: for a data directory that does not outlive the broker."""
        data = path.read_bytes() if path.exists() else b""
        version = FORMAT_VERSION
        if len(data) < _HEADER.size:
            # New, or a crash while it was being created: nothing was in it.
            atomic_write(path, _header(kinds.magic), sync=durable)
            records: list[Any] = []
            end = _HEADER.size
        else:
            records, end, version = _read_records(path, data, kinds)
            if end < len(data):
                log.warning("%s: dropping %d bytes after the last whole record (a torn write)",
                            path, len(data) - end)
                os.truncate(path, end)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        if end < len(data) and durable:
            os.fsync(fd)
        journal = cls(path, kinds, fd, end, durable)
        if version != FORMAT_VERSION:
            log.info("%s: rewriting %d record(s) in format version %d", path, len(records),
                     FORMAT_VERSION)
            journal.rewrite(records)
        return journal, records

    @property
    def size(self) -> int:
        return self._end

    @property
    def synced(self) -> int:
        """Everything before this position is on disk."""
        return self._synced

    def append(self, record: Any) -> int:
        """Write one record; returns the position that `sync` must reach."""
        if self._failed is not None:
            raise OSError(f"{self.path}: an earlier fsync failed: {self._failed}")
        frame = self.kinds.encode_frame(record)
        unwritten = memoryview(frame)
        try:
            while unwritten:
                unwritten = unwritten[os.write(self._fd, unwritten):]
        except OSError:
            # A partial frame would hide every later record at replay.
            try:
                os.ftruncate(self._fd, self._end)
            except OSError as exc:
                self._failed = exc
            raise
        self._end += len(frame)
        return self._end

    async def sync(self, position: int) -> None:
        if not self.durable:
            self._synced = max(self._synced, position)
            return
        while self._synced < position:
            if self._failed is not None:
                raise OSError(f"{self.path}: fsync failed: {self._failed}")
            if self._round is not None:
                await self._round.wait()
                continue
            this_round = self._round = trio.Event()
            target = self._end
            try:
                await self._fsync()
            except OSError as exc:
                # After a failed fsync the kernel may have dropped the dirty
                # pages: nothing written since can be trusted to be on disk.
                self._failed = exc
                raise
            finally:
                self._round = None
                this_round.set()
            self._synced = max(self._synced, target)

    async def _fsync(self) -> None:
        # In a thread: a slow disk must not stall every other connection.
        await trio.to_thread.run_sync(os.fsync, self._fd)

    def rewrite(self, records: list) -> None:
        """Replace the whole journal with `records`, atomically."""
        atomic_write(self.path, _header(self.kinds.magic)
                     + b"".join(self.kinds.encode_frame(r) for r in records), sync=self.durable)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._end = self._synced = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
