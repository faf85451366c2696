"""RecordWalk: every malformed record it must refuse, what it must accept, and
the C walk and the Python walk agreeing on everything, in any chunking."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import record_walk
from protocol.errors import DecodeError
from protocol.primitives import write_varint, write_varlong
from protocol.record_walk import RecordWalk
from protocol.records import RECORDS_OFFSET, Record, build_batch

WALKS = [pytest.param(True, id="python"),
         pytest.param(False, id="c", marks=pytest.mark.skipif(
             not record_walk.ACCELERATED, reason="protocol._recordwalk was not built"))]


def test_the_c_walk_is_built_where_ci_runs():
    # A missing C compiler would make every Produce ~100x slower to check:
    # CI must notice instead of falling back quietly.
    if os.environ.get("KGW_REQUIRE_CLIENTS") == "1":
        assert record_walk.ACCELERATED


def body(*, attributes=0, ts=0, offset=0, key: bytes | None = b"k", value: bytes | None = b"v",
         headers=(), key_length=None, value_length=None, header_count=None, extra=b"") -> bytes:
    """A record's bytes after its length, with any field forced to a value."""
    out = bytes([attributes]) + write_varlong(ts) + write_varint(offset)
    out += write_varint(key_length if key_length is not None else -1 if key is None else len(key))
    out += key or b""
    out += write_varint(value_length if value_length is not None else -1 if value is None else len(value))
    out += value or b""
    out += write_varint(len(headers) if header_count is None else header_count)
    for name, data in headers:
        out += write_varint(len(name)) + name
        out += write_varint(-1) if data is None else write_varint(len(data)) + data
    return out + extra


def record(length_change=0, **fields) -> bytes:
    data = body(**fields)
    return write_varint(len(data) + length_change) + data


def walk(records: bytes, count: int, python: bool, max_record=None, pieces=None):
    w = RecordWalk(count, max_record, force_python=python)
    if pieces is None:
        w.feed(records)
    else:
        for start, end in zip([0] + pieces, pieces + [len(records)]):
            w.feed(records[start:end])
    return w.finish()


# (records, count, what the error says) for each kind of malformed records.
MALFORMED = {
    "count above the records": (record(), 2, "end inside record 1 of the 2"),
    "count 2^31-1, one record": (record(), 2**31 - 1, "end inside record 1 of the 2147483647"),
    "count below the records": (record() + record(offset=1), 1, "follow the last of the 1 records"),
    "trailing bytes": (record() + b"\x00\x01\x02", 1, "follow the last of the 1 records"),
    "negative key length -2": (record(key=None, key_length=-2), 1, "key length -2"),
    "negative key length -5 before bytes": (record(key=b"abcde", key_length=-5), 1, "key length -5"),
    "negative value length": (record(value=None, value_length=-3), 1, "value length -3"),
    "key past the record": (record(key=b"abc", key_length=40), 1, "runs past the end"),
    "record length past the records": (record(length_change=5), 1, "5 bytes follow the headers"),
    "record length short": (record(length_change=-1), 1, "runs past the end of the record's"),
    "bytes after the headers": (record(extra=b"\x00"), 1, "1 bytes follow the headers"),
    "negative record length": (write_varint(-3) + body(), 1, "negative record length -3"),
    "negative header count": (record(header_count=-1), 1, "header count -1"),
    "header count past the record": (record(header_count=5), 1, "header count 5"),
    "null header key": (record(header_count=1, extra=write_varint(-1) + write_varint(1) + b"v"), 1,
                        "header key length -1"),
    "negative header value length": (record(header_count=1, extra=write_varint(1) + b"h" + write_varint(-4)),
                                     1, "header value length -4"),
    "varint too long": (write_varint(14) + b"\x00" + b"\xff" * 10 + b"\x01" + b"\x00\x01\x01\x00",
                        1, "varint is longer"),
    "offset deltas repeated": (record() + record(), 2, "offset delta 0 where 1 was due"),
    "offset delta skips": (record(offset=5), 1, "offset delta 5 where 0 was due"),
}


@pytest.mark.parametrize("python", WALKS)
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_records_are_refused(case, python):
    records, count, says = MALFORMED[case]
    with pytest.raises(DecodeError, match=says):
        walk(records, count, python)


@pytest.mark.parametrize("python", WALKS)
def test_a_record_longer_than_max_record_is_refused(python):
    records = record(value=b"x" * 5000)
    with pytest.raises(DecodeError, match="exceed the largest record allowed, 1000 bytes"):
        walk(records, 1, python, max_record=1000)
    assert walk(records, 1, python, max_record=5010).records == 1


@pytest.mark.parametrize("python", WALKS)
def test_what_kafka_accepts_and_clients_read_is_accepted(python):
    records = (record(ts=-5, key=None, value=None)
               + record(ts=7, offset=1, attributes=0x55, headers=[(b"\xff\xfe", b"x"), (b"h", None)])
               + record(ts=3, offset=2, key=b"", value=b""))
    summary = walk(records, 3, python)
    assert summary == (3, -5, 7, len(records))


def batch_records(records: list[Record]) -> bytes:
    return build_batch(records)[RECORDS_OFFSET:]


records_strategy = st.lists(st.builds(
    lambda ts, key, value, headers: (ts, key, value, headers),
    st.integers(-(1 << 40), 1 << 40), st.none() | st.binary(max_size=40),
    st.none() | st.binary(max_size=300),
    st.lists(st.tuples(st.text(max_size=8), st.none() | st.binary(max_size=20)), max_size=3)),
    min_size=1, max_size=30)


def build(records) -> tuple[bytes, int]:
    base = 1_700_000_000_000
    return batch_records([Record(i, base + ts, key, value, headers)
                          for i, (ts, key, value, headers) in enumerate(records)]), len(records)


@pytest.mark.parametrize("python", WALKS)
@settings(max_examples=150, deadline=None)
@given(records=records_strategy)
def test_every_batch_kgw_builds_walks_clean(records, python):
    data, count = build(records)
    deltas = [ts - records[0][0] for ts, _, _, _ in records]
    assert walk(data, count, python) == (count, min(deltas), max(deltas), len(data))


def verdict(data: bytes, count: int, python: bool, max_record=None, pieces=None):
    try:
        return walk(data, count, python, max_record, pieces)
    except DecodeError as exc:
        return str(exc)


@pytest.mark.skipif(not record_walk.ACCELERATED, reason="protocol._recordwalk was not built")
@settings(max_examples=1500, deadline=None)
@given(records=records_strategy, data=st.data())
def test_the_c_and_python_walks_agree_on_damaged_records_in_any_pieces(records, data):
    raw, count = build(records)
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 4))):
        kind = data.draw(st.sampled_from(["set", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(damaged) - 1, 0)))
        if kind == "set" and damaged:
            damaged[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del damaged[at:at + data.draw(st.integers(1, 8))]
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=6))
    count += data.draw(st.sampled_from([0, 0, 0, -1, 1, 1 << 20]))
    count = max(count, 0)
    max_record = data.draw(st.sampled_from([None, None, 8, 64, 400]))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(damaged)), max_size=6)))
    whole = verdict(bytes(damaged), count, True, max_record)
    assert verdict(bytes(damaged), count, False, max_record) == whole
    assert verdict(bytes(damaged), count, False, max_record, cuts) == whole
    assert verdict(bytes(damaged), count, True, max_record, cuts) == whole


@pytest.mark.skipif(not record_walk.ACCELERATED, reason="protocol._recordwalk was not built")
def test_a_large_piece_is_walked_without_the_gil():
    # Correctness of the GIL-free path: 1 MiB of records in one feed.
    data, count = build([(i, None, b"v" * 100, []) for i in range(9000)])
    assert len(data) > 64 << 10
    assert walk(data, count, False).records == 9000
