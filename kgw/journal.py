"""A journal: an append-only file of checksummed records.

The committed offsets (kgw.groups.offsets) and the transaction coordinator's
state (kgw.transactions) each keep one. Layout: an 8-byte header, a 4-byte
magic naming what the journal holds and a big-endian uint32 format version,
then frames of `uint32 length, uint32 CRC-32C of the payload, payload`, the
payload being one record as compact JSON. A crash can leave a torn last frame; opening the journal keeps
every frame before the first one that is short or fails its CRC and cuts the
rest off, as Kafka's log recovery truncates at the first invalid batch.

Appends are plain `os.write`s; `sync()` makes them durable with fsync, and
callers that arrive while an fsync is running wait for the next one, so any
number of concurrent commits share one fsync (group commit).
"""

import json
import logging
import os
import struct
from pathlib import Path

import crc32c
import trio

from .log.files import atomic_write

log = logging.getLogger("kgw.journal")

FORMAT_VERSION = 1
_HEADER = struct.Struct(">4sI")
_FRAME = struct.Struct(">II")


class JournalError(Exception):
    """The journal cannot be read: not kgw's, a newer format, or corrupt
    inside a checksummed frame (a bug, not a crash)."""


def encode_frame(record: dict) -> bytes:
    payload = json.dumps(record, separators=(",", ":")).encode()
    return _FRAME.pack(len(payload), crc32c.crc32c(payload)) + payload


def _header(magic: bytes) -> bytes:
    return _HEADER.pack(magic, FORMAT_VERSION)


def _read_records(path: Path, data: bytes, expected_magic: bytes) -> tuple[list[dict], int]:
    """The records of a journal's bytes, and where its valid part ends."""
    magic, version = _HEADER.unpack_from(data)
    if magic != expected_magic:
        raise JournalError(f"{path} is not a kgw journal of kind {expected_magic.decode()}")
    if version != FORMAT_VERSION:
        raise JournalError(f"{path} has format version {version}; this kgw reads {FORMAT_VERSION}")
    records = []
    position = _HEADER.size
    while position + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, position)
        start = position + _FRAME.size
        payload = data[start:start + length]
        if len(payload) < length or crc32c.crc32c(payload) != crc:
            break
        try:
            records.append(json.loads(payload))
        except ValueError as exc:
            raise JournalError(f"{path}: undecodable record at byte {position}: {exc}") from None
        position = start + length
    return records, position


class Journal:
    def __init__(self, path: Path, magic: bytes, fd: int, end: int):
        self.path = path
        self._magic = magic
        self._fd = fd
        self._end = end
        self._synced = end
        self._round: trio.Event | None = None
        self._failed: OSError | None = None

    @classmethod
    def open(cls, path: Path, magic: bytes) -> tuple["Journal", list[dict]]:
        """Open (or create) the journal at `path`, holding records of the kind
        `magic` names; returns it and its records."""
        data = path.read_bytes() if path.exists() else b""
        if len(data) < _HEADER.size:
            # New, or a crash while it was being created: nothing was in it.
            atomic_write(path, _header(magic))
            records, end = [], _HEADER.size
        else:
            records, end = _read_records(path, data, magic)
            if end < len(data):
                log.warning("%s: dropping %d bytes after the last whole record (a torn write)",
                            path, len(data) - end)
                os.truncate(path, end)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        if end < len(data):
            os.fsync(fd)
        return cls(path, magic, fd, end), records

    @property
    def size(self) -> int:
        return self._end

    @property
    def synced(self) -> int:
        """Everything before this position is on disk."""
        return self._synced

    def append(self, record: dict) -> int:
        """Write one record; returns the position that `sync` must reach."""
        if self._failed is not None:
            raise OSError(f"{self.path}: an earlier fsync failed: {self._failed}")
        frame = encode_frame(record)
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

    def rewrite(self, records: list[dict]) -> None:
        """Replace the whole journal with `records`, atomically."""
        atomic_write(self.path, _header(self._magic) + b"".join(encode_frame(r) for r in records))
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._end = self._synced = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
