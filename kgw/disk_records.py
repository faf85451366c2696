"""Versioned binary records for kgw's own files, declared with protocol's schema.

Kafka keeps its coordinators' state as records whose fields are declared
once, with the versions each field exists in (OffsetCommitValue,
TransactionLogValue), so that a newer broker reads what an older one wrote.
kgw declares its own the same way, in `protocol.schema`'s language, and
writes them in the flexible encoding (compact strings and arrays, tagged
fields), which leaves room for fields added later as tagged ones.

An encoded record is its int16 version followed by its fields; decoding
checks the version and raises `DiskFormatError` for anything it cannot
read, never a bare struct or index error.
"""

import struct
from typing import Any

from protocol.codec import MessageCodec, build
from protocol.errors import DecodeError
from protocol.schema import Field, Struct, Versions, attach_nested

_VERSION = struct.Struct(">h")


class DiskFormatError(ValueError):
    """Bytes that are not a record kgw can read: another version, or damaged."""


class DiskRecord:
    """One kind of stored record: `DiskRecord("ProducerSnapshot", "0", [Field(...), ...])`.

    `cls` makes values (keyword arguments, defaults for the rest);
    `encode` writes the newest version unless told otherwise.
    """

    def __init__(self, name: str, versions: str, fields: list[Field]):
        self.name = name
        self.versions = Versions.of(versions)
        self.struct = Struct(name, fields)
        attach_nested(self.struct)
        self.cls = self.struct.cls
        self._codecs: dict[int, MessageCodec] = {
            version: build(self.struct, version, flexible=True)
            for version in range(self.versions.lo, self.versions.hi + 1)}

    @property
    def latest(self) -> int:
        return self.versions.hi

    def encode(self, value: Any, version: int | None = None) -> bytes:
        version = self.latest if version is None else version
        return _VERSION.pack(version) + self._codecs[version].to_bytes(value)

    def decode(self, data) -> Any:
        view = memoryview(data)
        if len(view) < _VERSION.size:
            raise DiskFormatError(f"{self.name}: {len(view)} bytes hold no version")
        version = _VERSION.unpack_from(view)[0]
        codec = self._codecs.get(version)
        if codec is None:
            raise DiskFormatError(f"{self.name} version {version} is not one this kgw reads "
                                  f"({self.versions})")
        try:
            value, end = codec.decode(view, _VERSION.size)
        except DecodeError as exc:
            raise DiskFormatError(f"{self.name} v{version}: {exc}") from None
        if end != len(view):
            raise DiskFormatError(f"{self.name} v{version}: {len(view) - end} bytes after the record")
        return value
