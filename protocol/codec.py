"""Encoders and decoders built from message declarations.

`build(struct, version, flexible)` walks a `Struct` once and returns a
`MessageCodec` whose functions are plain closures, so the per-message cost
is a loop over prepared steps.  Runs of consecutive fixed-size fields are
merged into one `struct.Struct`, which is most of what makes the hot
messages (Produce, Fetch) cheap.

Decoders have the shape `decode(buf, pos) -> (value, pos)` over a
memoryview and raise only `DecodeError`.  Encoders have the shape
`encode(value, out)` and append to the list `out`; a RECORDS value is
appended as it is (bytes, memoryview, or any object with `__len__` that the
caller knows how to send, such as a file range), so record data is never
copied by the encoder.
"""

import operator
import struct as _struct
from dataclasses import dataclass
from typing import Any, Callable

from . import primitives as p
from .errors import DecodeError
from .schema import (
    Array, BOOL, BYTES, FLOAT64, INT8, INT16, INT32, INT64, RECORDS, STRING,
    Struct, UINT16, UINT32, UUID, Primitive, default_setters,
)

Decoder = Callable[[Any, int], tuple[Any, int]]
Encoder = Callable[[Any, list], None]

_FIXED_FORMATS = {
    INT8: "b", INT16: "h", INT32: "i", INT64: "q",
    UINT16: "H", UINT32: "I", FLOAT64: "d", BOOL: "?",
}

# (classic, compact) x (not nullable, nullable) readers and writers.
_VARIABLE = {
    STRING: ((p.read_string, p.read_nullable_string, p.write_string, p.write_nullable_string),
             (p.read_compact_string, p.read_compact_nullable_string,
              p.write_compact_string, p.write_compact_nullable_string)),
    BYTES: ((p.read_bytes, p.read_nullable_bytes, p.write_bytes, p.write_nullable_bytes),
            (p.read_compact_bytes, p.read_compact_nullable_bytes,
             p.write_compact_bytes, p.write_compact_nullable_bytes)),
}


@dataclass(frozen=True)
class MessageCodec:
    decode: Decoder
    encode: Encoder

    def to_bytes(self, value) -> bytes:
        """Encode into one bytes object (copies records: for tests and tools)."""
        out: list = []
        self.encode(value, out)
        return b"".join(bytes(part) if not isinstance(part, (bytes, bytearray, memoryview)) else part
                        for part in out)

    def from_bytes(self, data) -> Any:
        value, _ = self.decode(memoryview(data), 0)
        return value


def build(struct: Struct, version: int, flexible: bool) -> MessageCodec:
    return MessageCodec(_struct_decoder(struct, version, flexible),
                        _struct_encoder(struct, version, flexible))


# --- decoding -------------------------------------------------------------

def _struct_decoder(struct: Struct, version: int, flexible: bool) -> Decoder:
    new = struct.cls.__new__
    cls = struct.cls
    steps: list[tuple[str | None, Callable]] = []
    shared, fresh = default_setters([f for f in struct.fields
                                     if version not in f.versions or (flexible and f.is_tagged(version))])
    tagged = {f.tag: (f.name, _type_decoder(f.type, f.is_nullable(version), version, flexible))
              for f in struct.fields
              if flexible and version in f.versions and f.is_tagged(version)}

    # A step is (field name, decoder) or, for a run of fixed-size fields,
    # (None, run decoder) that sets the attributes itself.
    for run in _field_runs(struct, version, flexible):
        if isinstance(run, list):
            steps.append((None, _run_decoder(run, struct.name)))
        else:
            steps.append((run.name, _type_decoder(run.type, run.is_nullable(version), version, flexible)))

    def decode(buf, pos):
        obj = new(cls)
        for name, decoder in steps:
            if name is None:
                pos = decoder(buf, pos, obj)
            else:
                value, pos = decoder(buf, pos)
                setattr(obj, name, value)
        for name, value in shared:
            setattr(obj, name, value)
        for name, make in fresh:
            setattr(obj, name, make())
        if flexible:
            pos = read_tagged_fields(buf, pos, obj, tagged)
        return obj, pos

    return decode


def _run_decoder(run, struct_name):
    st = _struct.Struct(">" + "".join(_FIXED_FORMATS[f.type] for f in run))
    names = [f.name for f in run]
    unpack_from = st.unpack_from
    size = st.size

    def step(buf, pos, obj):
        try:
            values = unpack_from(buf, pos)
        except _struct.error:
            raise DecodeError(f"{struct_name} truncated in {names[0]}..{names[-1]}", pos) from None
        for name, value in zip(names, values):
            setattr(obj, name, value)
        return pos + size

    return step


def read_tagged_fields(buf, pos, obj, known):
    count, pos = p.read_unsigned_varint(buf, pos)
    for _ in range(count):
        tag, pos = p.read_unsigned_varint(buf, pos)
        size, pos = p.read_unsigned_varint(buf, pos)
        end = pos + size
        if end > len(buf):
            raise DecodeError(f"tagged field {tag} of {size} bytes runs past the end", pos)
        if tag in known:
            name, decoder = known[tag]
            # The field may not read past its declared size.
            value, _ = decoder(buf[:end], pos)
            setattr(obj, name, value)
        pos = end
    return pos


def _type_decoder(typ, nullable: bool, version: int, flexible: bool) -> Decoder:
    if isinstance(typ, Struct):
        if nullable:
            raise NotImplementedError(f"nullable struct {typ.name} is not supported")
        return _struct_decoder(typ, version, flexible)
    if isinstance(typ, Array):
        return _array_decoder(_type_decoder(typ.element, False, version, flexible), nullable, flexible)
    if typ in _FIXED_FORMATS:
        return getattr(p, f"read_{typ.name}")
    if typ is UUID:
        return p.read_uuid
    if typ is RECORDS:
        return p.read_compact_records if flexible else p.read_records
    readers = _VARIABLE[typ][flexible]
    return readers[1] if nullable else readers[0]


def _array_decoder(element: Decoder, nullable: bool, flexible: bool) -> Decoder:
    def decode(buf, pos):
        start = pos
        if flexible:
            count, pos = p.read_unsigned_varint(buf, pos)
            count -= 1
        else:
            count, pos = p.read_int32(buf, pos)
        if count < 0:
            if count == -1 and nullable:
                return None, pos
            raise DecodeError(f"array has length {count}", start)
        # Every element takes at least one byte: an impossible count is
        # refused before looping on it.
        if count > len(buf) - pos:
            raise DecodeError(f"array of {count} elements cannot fit in {len(buf) - pos} bytes", start)
        items: list = []
        append = items.append
        for _ in range(count):
            value, pos = element(buf, pos)
            append(value)
        return items, pos

    return decode


# --- encoding -------------------------------------------------------------

def _struct_encoder(struct: Struct, version: int, flexible: bool) -> Encoder:
    # As for decoding: (field name, encoder), or (None, run encoder).
    steps: list[tuple[str | None, Callable]] = []
    for run in _field_runs(struct, version, flexible):
        if isinstance(run, list):
            steps.append((None, _run_encoder(run, struct.name)))
        else:
            steps.append((run.name, _type_encoder(
                run.type, run.is_nullable(version), version, flexible, f"{struct.name}.{run.name}")))
    tagged = sorted(
        (f.tag, f.name, f.make_default(),
         _type_encoder(f.type, f.is_nullable(version), version, flexible, f"{struct.name}.{f.name}"))
        for f in struct.fields
        if flexible and version in f.versions and f.is_tagged(version))

    def encode(obj, out):
        for name, encoder in steps:
            if name is None:
                encoder(obj, out)
            else:
                encoder(getattr(obj, name), out)
        if flexible:
            _write_tagged_fields(obj, out, tagged)

    return encode


def _run_encoder(run, struct_name):
    st = _struct.Struct(">" + "".join(_FIXED_FORMATS[f.type] for f in run))
    names = [f.name for f in run]
    get = operator.attrgetter(*names)
    pack = st.pack
    single = len(names) == 1

    def step(obj, out):
        try:
            out.append(pack(get(obj)) if single else pack(*get(obj)))
        except _struct.error as exc:
            raise ValueError(f"{struct_name}.{'/'.join(names)}: {exc}") from None

    return step


def _write_tagged_fields(obj, out, tagged):
    present = []
    for tag, name, default, encoder in tagged:
        value = getattr(obj, name)
        # Kafka writes a tagged field only when it differs from its default;
        # librdkafka < 2.2 mis-skips tagged fields, so kgw never writes more.
        if value != default:
            parts: list = []
            encoder(value, parts)
            present.append((tag, b"".join(parts)))
    out.append(p.write_unsigned_varint(len(present)))
    for tag, data in present:
        out.append(p.write_unsigned_varint(tag))
        out.append(p.write_unsigned_varint(len(data)))
        out.append(data)


def _type_encoder(typ, nullable: bool, version: int, flexible: bool, where: str) -> Encoder:
    if isinstance(typ, Struct):
        return _struct_encoder(typ, version, flexible)
    if isinstance(typ, Array):
        return _array_encoder(_type_encoder(typ.element, False, version, flexible, where),
                              nullable, flexible, where)
    if isinstance(typ, Primitive) and typ is RECORDS:
        return _records_encoder(flexible)
    if typ in _FIXED_FORMATS or typ is UUID:
        write = getattr(p, f"write_{typ.name}")
    else:
        writers = _VARIABLE[typ][flexible]
        write = writers[3] if nullable else writers[2]
        if not nullable:
            return _non_null(write, where)

    def encode(value, out):
        out.append(write(value))

    return encode


def _non_null(write, where):
    def encode(value, out):
        if value is None:
            raise ValueError(f"{where} is not nullable in this version")
        out.append(write(value))
    return encode


def _records_encoder(flexible: bool) -> Encoder:
    def encode(value, out):
        if value is None:
            out.append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            return
        size = len(value)
        out.append(p.write_unsigned_varint(size + 1) if flexible else p.write_int32(size))
        if size:
            out.append(value)
    return encode


def _array_encoder(element: Encoder, nullable: bool, flexible: bool, where: str) -> Encoder:
    def encode(value, out):
        if value is None:
            if not nullable:
                raise ValueError(f"{where} is not nullable in this version")
            out.append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            return
        out.append(p.write_unsigned_varint(len(value) + 1) if flexible else p.write_int32(len(value)))
        for item in value:
            element(item, out)
    return encode


# --- shared ---------------------------------------------------------------

def _field_runs(struct: Struct, version: int, flexible: bool):
    """The fields present in `version`, in order, outside the tagged section;
    consecutive fixed-size ones grouped into lists."""
    run: list = []
    for f in struct.fields:
        if version not in f.versions or (flexible and f.is_tagged(version)):
            continue
        if f.type in _FIXED_FORMATS:
            run.append(f)
            continue
        if run:
            yield run
            run = []
        yield f
    if run:
        yield run
