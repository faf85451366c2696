"""Kafka's primitive wire types.

Every reader has the shape `read(buf, pos) -> (value, new_pos)` over a
bytes-like object and raises only `DecodeError`; every writer returns the
encoded bytes.  Length fields read from the wire are checked against the
bytes actually present before anything is sliced, so no allocation is ever
sized by an untrusted length.
"""

import struct
import uuid

from .errors import DecodeError

_INT8 = struct.Struct(">b")
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_UINT16 = struct.Struct(">H")
_UINT32 = struct.Struct(">I")
_FLOAT64 = struct.Struct(">d")

NULL_UUID = uuid.UUID(int=0)
# Kafka's strings, compact ones included, are at most 32767 bytes.
_MAX_STRING = 0x7FFF


def _fixed(st: struct.Struct, name: str):
    unpack_from = st.unpack_from
    size = st.size

    def read(buf, pos):
        try:
            return unpack_from(buf, pos)[0], pos + size
        except struct.error:
            raise DecodeError(f"truncated {name}", pos) from None

    def write(value) -> bytes:
        try:
            return st.pack(value)
        except struct.error as exc:
            raise ValueError(f"{name} cannot hold {value!r}: {exc}") from None

    return read, write


read_int8, write_int8 = _fixed(_INT8, "int8")
read_int16, write_int16 = _fixed(_INT16, "int16")
read_int32, write_int32 = _fixed(_INT32, "int32")
read_int64, write_int64 = _fixed(_INT64, "int64")
read_uint16, write_uint16 = _fixed(_UINT16, "uint16")
read_uint32, write_uint32 = _fixed(_UINT32, "uint32")
read_float64, write_float64 = _fixed(_FLOAT64, "float64")


def read_bool(buf, pos):
    value, pos = read_int8(buf, pos)
    return value != 0, pos


def write_bool(value) -> bytes:
    return b"\x01" if value else b"\x00"


# --- varints (protobuf style; signed ones are zig-zag encoded) ---------------

def _read_uvarint(buf, pos, max_bytes, name, mask):
    """Bits beyond the type's width in the last byte are dropped, as Java's
    ByteUtils does, so a value never leaves its type's range."""
    result = 0
    shift = 0
    start = pos
    try:
        while True:
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result & mask, pos
            shift += 7
            if pos - start >= max_bytes:
                raise DecodeError(f"{name} longer than {max_bytes} bytes", start)
    except IndexError:
        raise DecodeError(f"truncated {name}", start) from None


_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def read_unsigned_varint(buf, pos):
    try:
        byte = buf[pos]
    except IndexError:
        raise DecodeError("truncated unsigned varint", pos) from None
    # Lengths and counts are nearly always below 128: one byte.
    if byte < 0x80:
        return byte, pos + 1
    return _read_uvarint(buf, pos, 5, "unsigned varint", _MASK32)


def read_varint(buf, pos):
    raw, pos = _read_uvarint(buf, pos, 5, "varint", _MASK32)
    return (raw >> 1) ^ -(raw & 1), pos


def read_varlong(buf, pos):
    raw, pos = _read_uvarint(buf, pos, 10, "varlong", _MASK64)
    return (raw >> 1) ^ -(raw & 1), pos


def write_unsigned_varint(value: int) -> bytes:
    if not 0 <= value <= _MASK32:
        raise ValueError(f"unsigned varint cannot hold {value}")
    return _write_uvarint(value)


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def _write_uvarint(value: int) -> bytes:
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_varint(value: int) -> bytes:
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"varint cannot hold {value}")
    return _write_uvarint(((value << 1) ^ (value >> 31)) & _MASK32)


def write_varlong(value: int) -> bytes:
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"varlong cannot hold {value}")
    return _write_uvarint(((value << 1) ^ (value >> 63)) & _MASK64)


# --- length-prefixed values ------------------------------------------------

def _take(buf, pos, length, what):
    """Slice `length` bytes at `pos` after checking they are really there."""
    end = pos + length
    if end > len(buf):
        raise DecodeError(f"{what} of {length} bytes runs past the end ({len(buf) - pos} left)", pos)
    return buf[pos:end], end


def _utf8(raw, pos):
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError:
        raise DecodeError("string is not valid UTF-8", pos) from None


def read_string(buf, pos):
    length, start = read_int16(buf, pos)
    if length < 0:
        raise DecodeError(f"non-nullable string has length {length}", pos)
    raw, end = _take(buf, start, length, "string")
    return _utf8(raw, start), end


def read_nullable_string(buf, pos):
    length, start = read_int16(buf, pos)
    if length == -1:
        return None, start
    if length < 0:
        raise DecodeError(f"string has length {length}", pos)
    raw, end = _take(buf, start, length, "string")
    return _utf8(raw, start), end


def read_compact_string(buf, pos):
    length, start = read_unsigned_varint(buf, pos)
    if length == 0:
        raise DecodeError("non-nullable compact string is null", pos)
    if length - 1 > _MAX_STRING:
        raise DecodeError(f"string of {length - 1} bytes is longer than {_MAX_STRING}", start)
    raw, end = _take(buf, start, length - 1, "compact string")
    return _utf8(raw, start), end


def read_compact_nullable_string(buf, pos):
    length, start = read_unsigned_varint(buf, pos)
    if length == 0:
        return None, start
    if length - 1 > _MAX_STRING:
        raise DecodeError(f"string of {length - 1} bytes is longer than {_MAX_STRING}", start)
    raw, end = _take(buf, start, length - 1, "compact string")
    return _utf8(raw, start), end


def read_bytes(buf, pos):
    length, start = read_int32(buf, pos)
    if length < 0:
        raise DecodeError(f"non-nullable bytes have length {length}", pos)
    raw, end = _take(buf, start, length, "bytes")
    return bytes(raw), end


def read_nullable_bytes(buf, pos):
    length, start = read_int32(buf, pos)
    if length == -1:
        return None, start
    if length < 0:
        raise DecodeError(f"bytes have length {length}", pos)
    raw, end = _take(buf, start, length, "bytes")
    return bytes(raw), end


def read_compact_bytes(buf, pos):
    length, start = read_unsigned_varint(buf, pos)
    if length == 0:
        raise DecodeError("non-nullable compact bytes are null", pos)
    raw, end = _take(buf, start, length - 1, "compact bytes")
    return bytes(raw), end


def read_compact_nullable_bytes(buf, pos):
    length, start = read_unsigned_varint(buf, pos)
    if length == 0:
        return None, start
    raw, end = _take(buf, start, length - 1, "compact bytes")
    return bytes(raw), end


def read_records(buf, pos):
    """Records are nullable bytes handed out as a memoryview: never copied."""
    length, start = read_int32(buf, pos)
    if length == -1:
        return None, start
    if length < 0:
        raise DecodeError(f"records have length {length}", pos)
    return _take(memoryview(buf), start, length, "records")


def read_compact_records(buf, pos):
    length, start = read_unsigned_varint(buf, pos)
    if length == 0:
        return None, start
    return _take(memoryview(buf), start, length - 1, "compact records")


def read_uuid(buf, pos):
    raw, end = _take(buf, pos, 16, "uuid")
    return uuid.UUID(bytes=bytes(raw)), end


def _string_bytes(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > _MAX_STRING:
        raise ValueError(f"string of {len(raw)} bytes is longer than {_MAX_STRING}")
    return raw


def write_string(value: str) -> bytes:
    raw = _string_bytes(value)
    return _INT16.pack(len(raw)) + raw


def write_nullable_string(value) -> bytes:
    return b"\xff\xff" if value is None else write_string(value)


def write_compact_string(value: str) -> bytes:
    raw = _string_bytes(value)
    return write_unsigned_varint(len(raw) + 1) + raw


def write_compact_nullable_string(value) -> bytes:
    return b"\x00" if value is None else write_compact_string(value)


def write_bytes(value) -> bytes:
    return _INT32.pack(len(value)) + bytes(value)


def write_nullable_bytes(value) -> bytes:
    return b"\xff\xff\xff\xff" if value is None else write_bytes(value)


def write_compact_bytes(value) -> bytes:
    return write_unsigned_varint(len(value) + 1) + bytes(value)


def write_compact_nullable_bytes(value) -> bytes:
    return b"\x00" if value is None else write_compact_bytes(value)


def write_uuid(value) -> bytes:
    return (value or NULL_UUID).bytes
