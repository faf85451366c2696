"""Tests for protocol.primitives: round trips, known vectors, and hostile input.

Readers take untrusted bytes from the network, so beyond round trips the
tests insist that every failure is a DecodeError pointing at the right byte,
and that no length read from the wire is ever allocated before it is checked.
"""

import math
import struct
import tracemalloc
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import primitives as p
from protocol.errors import DecodeError

# Deadlines only make CI flaky on a loaded machine; the example count keeps
# the whole file well under the 15 s budget.
FAST = settings(deadline=None, max_examples=80,
                suppress_health_check=[HealthCheck.too_slow])

INT8 = (-(2**7), 2**7 - 1)
INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT16 = (0, 2**16 - 1)
UINT32 = (0, 2**32 - 1)


def _int_range(bounds):
    return st.integers(*bounds)


def _uvarint_len(encoded: bytes) -> int:
    return p.read_unsigned_varint(encoded, 0)[1]


def _as_bytes(value):
    """Records come back as memoryviews; compare them by content."""
    return None if value is None else bytes(value)


@dataclass(frozen=True)
class Spec:
    name: str
    read: Callable
    write: Callable
    values: st.SearchStrategy
    # Bytes of the length prefix at the front of an encoding (None: the value
    # has no separate payload, so any truncation is reported at its start).
    prefix_len: Optional[Callable[[bytes], int]] = None
    normalize: Callable = staticmethod(lambda v: v)


_texts = st.text(max_size=40)
_blobs = st.binary(max_size=40)

SPECS = [
    Spec("int8", p.read_int8, p.write_int8, _int_range(INT8)),
    Spec("int16", p.read_int16, p.write_int16, _int_range(INT16)),
    Spec("int32", p.read_int32, p.write_int32, _int_range(INT32)),
    Spec("int64", p.read_int64, p.write_int64, _int_range(INT64)),
    Spec("uint16", p.read_uint16, p.write_uint16, _int_range(UINT16)),
    Spec("uint32", p.read_uint32, p.write_uint32, _int_range(UINT32)),
    Spec("float64", p.read_float64, p.write_float64,
         st.floats(allow_nan=False)),
    Spec("bool", p.read_bool, p.write_bool, st.booleans()),
    Spec("unsigned_varint", p.read_unsigned_varint, p.write_unsigned_varint,
         _int_range(UINT32)),
    Spec("varint", p.read_varint, p.write_varint, _int_range(INT32)),
    Spec("varlong", p.read_varlong, p.write_varlong, _int_range(INT64)),
    Spec("string", p.read_string, p.write_string, _texts, lambda e: 2),
    Spec("nullable_string", p.read_nullable_string, p.write_nullable_string,
         st.none() | _texts, lambda e: 2),
    Spec("compact_string", p.read_compact_string, p.write_compact_string,
         _texts, _uvarint_len),
    Spec("compact_nullable_string", p.read_compact_nullable_string,
         p.write_compact_nullable_string, st.none() | _texts, _uvarint_len),
    Spec("bytes", p.read_bytes, p.write_bytes, _blobs, lambda e: 4),
    Spec("nullable_bytes", p.read_nullable_bytes, p.write_nullable_bytes,
         st.none() | _blobs, lambda e: 4),
    Spec("compact_bytes", p.read_compact_bytes, p.write_compact_bytes,
         _blobs, _uvarint_len),
    Spec("compact_nullable_bytes", p.read_compact_nullable_bytes,
         p.write_compact_nullable_bytes, st.none() | _blobs, _uvarint_len),
    Spec("records", p.read_records, p.write_nullable_bytes,
         st.none() | _blobs, lambda e: 4, _as_bytes),
    Spec("compact_records", p.read_compact_records,
         p.write_compact_nullable_bytes, st.none() | _blobs, _uvarint_len,
         _as_bytes),
    Spec("uuid", p.read_uuid, p.write_uuid, st.uuids()),
]
SPEC_IDS = [s.name for s in SPECS]
READERS = [s.read for s in SPECS]

_buffer_type = st.sampled_from([bytes, bytearray, lambda b: memoryview(bytearray(b))])


# --- round trips -----------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@FAST
@given(data=st.data(), pad=st.binary(max_size=6), tail=st.binary(max_size=6),
       wrap=_buffer_type)
def test_round_trip_at_any_position(spec, data, pad, tail, wrap):
    value = data.draw(spec.values)
    encoded = spec.write(value)
    assert isinstance(encoded, bytes)
    buf = wrap(pad + encoded + tail)
    got, end = spec.read(buf, len(pad))
    assert spec.normalize(got) == value
    assert end == len(pad) + len(encoded)


@FAST
@given(st.binary(min_size=8, max_size=8))
def test_float64_bits_survive_a_round_trip_including_nan_payloads(raw):
    value, end = p.read_float64(raw, 0)
    assert end == 8
    assert p.write_float64(value) == raw


def test_float64_nan_infinities_and_signed_zero():
    nan, _ = p.read_float64(p.write_float64(math.nan), 0)
    assert math.isnan(nan)
    assert p.read_float64(p.write_float64(math.inf), 0)[0] == math.inf
    assert p.read_float64(p.write_float64(-math.inf), 0)[0] == -math.inf
    neg_zero, _ = p.read_float64(p.write_float64(-0.0), 0)
    assert math.copysign(1.0, neg_zero) == -1.0


def test_write_uuid_none_is_the_null_uuid():
    assert p.write_uuid(None) == bytes(16)
    assert p.read_uuid(bytes(16), 0) == (p.NULL_UUID, 16)


def test_any_nonzero_byte_reads_as_true():
    assert p.read_bool(b"\x00", 0) == (False, 1)
    for byte in (1, 2, 0x7F, 0x80, 0xFF):
        assert p.read_bool(bytes([byte]), 0) == (True, 1)
    assert p.write_bool(5) == b"\x01" and p.write_bool(0) == b"\x00"


# --- known vectors ---------------------------------------------------------

VECTORS = [
    (p.write_int8, p.read_int8, -1, "ff"),
    (p.write_int16, p.read_int16, -2, "fffe"),
    (p.write_int32, p.read_int32, 1, "00000001"),
    (p.write_int64, p.read_int64, -2, "fffffffffffffffe"),
    (p.write_uint16, p.read_uint16, 65535, "ffff"),
    (p.write_uint32, p.read_uint32, 2**32 - 1, "ffffffff"),
    (p.write_float64, p.read_float64, 1.0, "3ff0000000000000"),
    (p.write_bool, p.read_bool, True, "01"),
    (p.write_varint, p.read_varint, 0, "00"),
    (p.write_varint, p.read_varint, -1, "01"),
    (p.write_varint, p.read_varint, 1, "02"),
    (p.write_varint, p.read_varint, -2, "03"),
    (p.write_varint, p.read_varint, 63, "7e"),
    (p.write_varint, p.read_varint, -64, "7f"),
    (p.write_varint, p.read_varint, 64, "8001"),
    (p.write_varint, p.read_varint, 2**31 - 1, "feffffff0f"),
    (p.write_varint, p.read_varint, -(2**31), "ffffffff0f"),
    (p.write_varlong, p.read_varlong, -1, "01"),
    (p.write_varlong, p.read_varlong, 2**63 - 1, "feffffffffffffffff01"),
    (p.write_varlong, p.read_varlong, -(2**63), "ffffffffffffffffff01"),
    (p.write_unsigned_varint, p.read_unsigned_varint, 0, "00"),
    (p.write_unsigned_varint, p.read_unsigned_varint, 127, "7f"),
    (p.write_unsigned_varint, p.read_unsigned_varint, 128, "8001"),
    (p.write_unsigned_varint, p.read_unsigned_varint, 300, "ac02"),
    (p.write_unsigned_varint, p.read_unsigned_varint, 2**32 - 1, "ffffffff0f"),
    (p.write_string, p.read_string, "", "0000"),
    (p.write_string, p.read_string, "abc", "0003616263"),
    # Lengths count UTF-8 bytes, not characters.
    (p.write_string, p.read_string, "\u20ac", "0003e282ac"),
    (p.write_nullable_string, p.read_nullable_string, None, "ffff"),
    (p.write_compact_string, p.read_compact_string, "", "01"),
    (p.write_compact_string, p.read_compact_string, "abc", "04616263"),
    (p.write_compact_string, p.read_compact_string, "\u00e9", "03c3a9"),
    (p.write_compact_nullable_string, p.read_compact_nullable_string, None, "00"),
    (p.write_bytes, p.read_bytes, b"", "00000000"),
    (p.write_bytes, p.read_bytes, b"\x01\x02", "000000020102"),
    (p.write_nullable_bytes, p.read_nullable_bytes, None, "ffffffff"),
    (p.write_compact_bytes, p.read_compact_bytes, b"", "01"),
    (p.write_compact_bytes, p.read_compact_bytes, b"\xaa", "02aa"),
    (p.write_compact_nullable_bytes, p.read_compact_nullable_bytes, None, "00"),
    (p.write_uuid, p.read_uuid, uuid.UUID("00010203-0405-0607-0809-0a0b0c0d0e0f"),
     "000102030405060708090a0b0c0d0e0f"),
]


@pytest.mark.parametrize("write, read, value, hexed", VECTORS,
                         ids=[f"{w.__name__}({v!r})" for w, _, v, _ in VECTORS])
def test_known_vector(write, read, value, hexed):
    raw = bytes.fromhex(hexed)
    assert write(value) == raw
    assert read(raw, 0) == (value, len(raw))


def test_length_prefixed_records_vectors():
    view, end = p.read_records(bytes.fromhex("00000002abcd"), 0)
    assert bytes(view) == b"\xab\xcd" and end == 6
    assert p.read_records(b"\xff\xff\xff\xff", 0) == (None, 4)
    view, end = p.read_compact_records(bytes.fromhex("03abcd"), 0)
    assert bytes(view) == b"\xab\xcd" and end == 3
    assert p.read_compact_records(b"\x00", 0) == (None, 1)


def test_non_canonical_varints_are_accepted_as_java_does():
    # Java's ByteUtils does not insist on the shortest form either.
    assert p.read_unsigned_varint(b"\x80\x00", 0) == (0, 2)
    assert p.read_varint(b"\x81\x80\x80\x80\x00", 0) == (-1, 5)


# --- records are views, never copies ---------------------------------------

@pytest.mark.parametrize("read, prefix", [
    (p.read_records, b"\x00\x00\x00\x04"),
    (p.read_compact_records, b"\x05"),
])
def test_records_share_memory_with_a_bytearray(read, prefix):
    buf = bytearray(b"\x99" + prefix + b"abcd" + b"\x99")
    view, end = read(buf, 1)
    assert isinstance(view, memoryview)
    assert view.obj is buf
    assert end == len(buf) - 1
    buf[1 + len(prefix)] = ord("Z")
    assert bytes(view) == b"Zbcd"


@pytest.mark.parametrize("read, prefix", [
    (p.read_records, b"\x00\x00\x00\x04"),
    (p.read_compact_records, b"\x05"),
])
def test_records_share_memory_through_a_memoryview_and_with_bytes(read, prefix):
    backing = bytearray(prefix + b"abcd")
    view, _ = read(memoryview(backing), 0)
    backing[-1] = ord("!")
    assert bytes(view) == b"abc!"

    frozen = bytes(prefix + b"abcd")
    view, _ = read(frozen, 0)
    assert isinstance(view, memoryview) and view.obj is frozen


# --- truncated input -------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@FAST
@given(data=st.data(), pad=st.binary(max_size=4), wrap=_buffer_type)
def test_every_truncation_raises_decode_error_at_the_right_offset(
        spec, data, pad, wrap):
    encoded = spec.write(data.draw(spec.values))
    header = spec.prefix_len(encoded) if spec.prefix_len else len(encoded)
    for cut in range(len(encoded)):
        buf = wrap(pad + encoded[:cut])
        with pytest.raises(DecodeError) as info:
            spec.read(buf, len(pad))
        # A short length prefix is reported where the field starts; a short
        # payload where the payload starts.
        expected = len(pad) if cut < header else len(pad) + header
        assert info.value.offset == expected, (cut, info.value)
        assert info.value.reason


@pytest.mark.parametrize("read", READERS, ids=SPEC_IDS)
def test_reading_at_or_past_the_end_raises(read):
    for buf, pos in [(b"", 0), (b"\x01\x02", 2), (b"\x01\x02", 7)]:
        with pytest.raises(DecodeError) as info:
            read(buf, pos)
        assert info.value.offset == pos


# --- malformed input -------------------------------------------------------

@pytest.mark.parametrize("read, raw", [
    (p.read_unsigned_varint, b"\x80\x80\x80\x80\x80\x00"),
    (p.read_unsigned_varint, b"\xff\xff\xff\xff\xff\xff\xff"),
    (p.read_varint, b"\x80\x80\x80\x80\x80\x00"),
    (p.read_varlong, b"\x80" * 10 + b"\x00"),
    (p.read_varlong, b"\xff" * 12),
    (p.read_compact_string, b"\x80\x80\x80\x80\x80\x01"),
    (p.read_compact_bytes, b"\x80\x80\x80\x80\x80\x01"),
    (p.read_compact_records, b"\x80\x80\x80\x80\x80\x01"),
])
def test_overlong_varints_raise(read, raw):
    with pytest.raises(DecodeError) as info:
        read(b"\x00\x00" + raw, 2)
    assert info.value.offset == 2


def test_longest_legal_varints_are_read():
    assert p.read_varint(b"\x80\x80\x80\x80\x00", 0) == (0, 5)
    assert p.read_varlong(b"\x80" * 9 + b"\x00", 0) == (0, 10)


_BAD_UTF8 = [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80b", b"\xf8\x88\x80\x80\x80"]


@pytest.mark.parametrize("bad", _BAD_UTF8, ids=lambda b: b.hex())
@pytest.mark.parametrize("read, frame, header", [
    (p.read_string, lambda b: struct.pack(">h", len(b)) + b, 2),
    (p.read_nullable_string, lambda b: struct.pack(">h", len(b)) + b, 2),
    (p.read_compact_string, lambda b: bytes([len(b) + 1]) + b, 1),
    (p.read_compact_nullable_string, lambda b: bytes([len(b) + 1]) + b, 1),
], ids=["string", "nullable_string", "compact_string", "compact_nullable_string"])
def test_invalid_utf8_raises_decode_error(read, frame, header, bad):
    with pytest.raises(DecodeError) as info:
        read(b"\x00" + frame(bad), 1)
    assert info.value.offset == 1 + header


@pytest.mark.parametrize("read, raw", [
    (p.read_string, b"\xff\xff"),          # null in a non-nullable field
    (p.read_string, b"\xff\xfe"),
    (p.read_string, b"\x80\x00"),
    (p.read_nullable_string, b"\xff\xfe"),
    (p.read_nullable_string, b"\x80\x00"),
    (p.read_bytes, b"\xff\xff\xff\xff"),
    (p.read_bytes, b"\xff\xff\xff\xfe"),
    (p.read_bytes, b"\x80\x00\x00\x00"),
    (p.read_nullable_bytes, b"\xff\xff\xff\xfe"),
    (p.read_nullable_bytes, b"\x80\x00\x00\x00"),
    (p.read_records, b"\xff\xff\xff\xfe"),
    (p.read_records, b"\x80\x00\x00\x00"),
    (p.read_compact_string, b"\x00"),        # compact null where not nullable
    (p.read_compact_bytes, b"\x00"),
])
def test_negative_or_null_lengths_in_non_nullable_fields_raise(read, raw):
    # Trailing bytes make sure the failure is about the length, not the end.
    with pytest.raises(DecodeError) as info:
        read(b"\x00\x00\x00" + raw + b"\x00" * 16, 3)
    assert info.value.offset == 3


HUGE_LENGTHS = [
    (p.read_string, b"\x7f\xff"),
    (p.read_nullable_string, b"\x7f\xff"),
    (p.read_bytes, b"\x7f\xff\xff\xff"),
    (p.read_nullable_bytes, b"\x7f\xff\xff\xff"),
    (p.read_records, b"\x7f\xff\xff\xff"),
    (p.read_compact_string, b"\xff\xff\xff\xff\x0f"),
    (p.read_compact_nullable_string, b"\xff\xff\xff\xff\x0f"),
    (p.read_compact_bytes, b"\xff\xff\xff\xff\x0f"),
    (p.read_compact_nullable_bytes, b"\xff\xff\xff\xff\x0f"),
    (p.read_compact_records, b"\xff\xff\xff\xff\x0f"),
]


@pytest.mark.parametrize("read, raw", HUGE_LENGTHS,
                         ids=[r.__name__ for r, _ in HUGE_LENGTHS])
def test_lengths_beyond_the_buffer_raise_without_allocating(read, raw):
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError) as info:
            read(raw + b"only a few bytes", 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024, f"reader allocated {peak} bytes for a bogus length"
    assert info.value.offset == len(raw)


# --- fuzz ------------------------------------------------------------------

def _check_decoded(spec, buf, pos, value, end):
    assert pos < end <= len(buf)
    if spec.name in ("records", "compact_records"):
        assert value is None or isinstance(value, memoryview)
        return
    if spec.name in ("unsigned_varint", "varint", "varlong"):
        # Range is covered by the dedicated tests further down.
        assert isinstance(value, int)
        return
    again, _ = spec.read(spec.write(value), 0)
    if spec.name == "float64":
        assert p.write_float64(again) == bytes(buf[pos:end])
    else:
        assert again == value


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(deadline=None, max_examples=150)
@given(data=st.data(), raw=st.binary(max_size=48), wrap=_buffer_type)
def test_fuzz_readers_return_a_value_or_raise_decode_error(spec, data, raw, wrap):
    pos = data.draw(st.integers(0, len(raw) + 1), label="pos")
    buf = wrap(raw)
    try:
        value, end = spec.read(buf, pos)
    except DecodeError as exc:
        assert isinstance(exc.offset, int) and exc.offset >= pos
        return
    _check_decoded(spec, buf, pos, value, end)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(deadline=None, max_examples=60)
@given(data=st.data(), flips=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)),
                                      min_size=1, max_size=3))
def test_fuzz_corrupted_valid_encodings(spec, data, flips):
    # Random bytes rarely look like a valid frame; damaging a real one reaches
    # the checks past the length prefix.
    raw = bytearray(spec.write(data.draw(spec.values)))
    for index, byte in flips:
        if raw:
            raw[index % len(raw)] = byte
    try:
        value, end = spec.read(bytes(raw), 0)
    except DecodeError:
        return
    _check_decoded(spec, bytes(raw), 0, value, end)


# --- writers refuse what the wire cannot carry -----------------------------

RANGED_WRITERS = [
    (p.write_int8, INT8), (p.write_int16, INT16), (p.write_int32, INT32),
    (p.write_int64, INT64), (p.write_uint16, UINT16), (p.write_uint32, UINT32),
    (p.write_varint, INT32), (p.write_varlong, INT64),
]


@pytest.mark.parametrize("write, bounds", RANGED_WRITERS,
                         ids=[w.__name__ for w, _ in RANGED_WRITERS])
@FAST
@given(data=st.data())
def test_writers_reject_out_of_range_integers(write, bounds, data):
    low, high = bounds
    assert write(low) and write(high)
    bad = data.draw(st.integers(max_value=low - 1) | st.integers(min_value=high + 1))
    with pytest.raises(ValueError):
        write(bad)


@pytest.mark.parametrize("write, value", [
    (p.write_int8, 200), (p.write_int8, -129), (p.write_int16, 2**15),
    (p.write_int32, 2**31), (p.write_int64, 2**63), (p.write_uint16, -1),
    (p.write_uint32, 2**32), (p.write_varint, 2**31), (p.write_varint, -(2**31) - 1),
    (p.write_varlong, 2**63), (p.write_unsigned_varint, -1),
])
def test_writer_out_of_range_examples(write, value):
    with pytest.raises(ValueError):
        write(value)


def test_string_writer_limits_count_utf8_bytes():
    assert len(p.write_string("a" * 0x7FFF)) == 2 + 0x7FFF
    assert len(p.write_string("\u00e9" * 16383 + "a")) == 2 + 0x7FFF
    for too_long in ("a" * 0x8000, "\u00e9" * 16384):
        with pytest.raises(ValueError):
            p.write_string(too_long)
        with pytest.raises(ValueError):
            p.write_nullable_string(too_long)


@pytest.mark.parametrize("write", [
    p.write_string, p.write_nullable_string,
    p.write_compact_string, p.write_compact_nullable_string,
])
def test_string_writers_reject_lone_surrogates(write):
    # UnicodeEncodeError is a ValueError: such a str has no UTF-8 form.
    with pytest.raises(ValueError):
        write("a\ud800b")


# --- values never leave their type (Java's ByteUtils drops the extra bits) --

def test_read_varint_never_returns_a_value_outside_int32():
    for last in range(0x80):
        try:
            value, _ = p.read_varint(b"\xff\xff\xff\xff" + bytes([last]), 0)
        except DecodeError:
            continue
        assert INT32[0] <= value <= INT32[1], (hex(last), value)


def test_read_unsigned_varint_never_returns_a_value_outside_uint32():
    for last in range(0x80):
        try:
            value, _ = p.read_unsigned_varint(b"\xff\xff\xff\xff" + bytes([last]), 0)
        except DecodeError:
            continue
        assert UINT32[0] <= value <= UINT32[1], (hex(last), value)


def test_read_varlong_never_returns_a_value_outside_int64():
    for last in range(0x80):
        try:
            value, _ = p.read_varlong(b"\xff" * 9 + bytes([last]), 0)
        except DecodeError:
            continue
        assert INT64[0] <= value <= INT64[1], (hex(last), value)


def test_write_unsigned_varint_rejects_values_past_uint32():
    with pytest.raises(ValueError):
        p.write_unsigned_varint(2**32)


def test_compact_strings_are_limited_to_32767_bytes():
    # Kafka's generated readers refuse longer strings, compact ones included.
    with pytest.raises(ValueError):
        p.write_compact_string("x" * 0x8000)
    too_long = p.write_unsigned_varint(0x8000 + 1) + b"x" * 0x8000
    for read in (p.read_compact_string, p.read_compact_nullable_string):
        with pytest.raises(DecodeError):
            read(too_long, 0)
    assert p.read_compact_string(p.write_compact_string("x" * 0x7FFF), 0)[0] == "x" * 0x7FFF
