"""RecordBatch v2: decoding the clients' batches, the clients decoding ours, fuzzing.

kafka-python and aiokafka are the oracles.  kafka-python finds no snappy,
lz4 or zstd library in this venv, so the `kafka_python_codecs` fixture lends
it aiokafka's codec functions: the batch framing under test is still
kafka-python's own.
"""

import struct

import aiokafka.codec as aiokafka_codec
import crc32c
import kafka.codec as kafka_codec
import kafka.record.default_records as kp_records
import pytest
from aiokafka.record.default_records import DefaultRecordBatch as AioBatch
from aiokafka.record.default_records import DefaultRecordBatchBuilder as AioBuilder
from aiokafka.record.memory_records import MemoryRecords as AioMemoryRecords
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.record import MemoryRecords as KpMemoryRecords
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from protocol import records as R
from protocol.compression import Codec
from protocol.errors import DecodeError
from protocol.records import (
    BATCH_HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC_V2,
    ControlRecord,
    ControlType,
    Record,
    RecordBatch,
    build_batch,
    build_control_batch,
    iter_batches,
    peek_magic,
    set_base_offset,
    set_log_append_time,
    set_partition_leader_epoch,
)

T0 = 1_700_000_000_000
FILLER = b"the quick brown fox jumps over the lazy dog " * 8


def sample_records(base_offset=0):
    """Keys, null keys, null values, empty values, headers, timestamps out of order."""
    shapes = [
        (b"key-0", b"value-0 " + FILLER, []),
        (None, b"null key " + FILLER, [("trace-id", b"abc123"), ("empty", b"")]),
        (b"tombstone", None, [("null-value", None)]),
        (b"", b"", [("\u00fcn\u00efc\u00f8de", b"\x00\xff")]),
        (None, None, []),
    ] + [(b"k%d" % i, FILLER + b"%d" % i, [("i", b"%d" % i)]) for i in range(15)]
    timestamps = [T0 + (7 * i if i != 3 else -250) for i in range(len(shapes))]
    return [Record(base_offset + i, ts, key, value, headers)
            for i, (ts, (key, value, headers)) in enumerate(zip(timestamps, shapes))]


@pytest.fixture
def kafka_python_codecs(monkeypatch):
    for name in ("snappy", "lz4", "zstd"):
        monkeypatch.setattr(kafka_codec, f"has_{name}", lambda: True)
        for direction in ("encode", "decode"):
            fn = getattr(aiokafka_codec, f"{name}_{direction}")
            monkeypatch.setattr(kp_records, f"{name}_{direction}", fn)


PRODUCERS = {
    "plain": dict(is_transactional=False, producer_id=-1, producer_epoch=-1, base_sequence=-1),
    "idempotent": dict(is_transactional=False, producer_id=4242, producer_epoch=3, base_sequence=17),
    "transactional": dict(is_transactional=True, producer_id=99, producer_epoch=0, base_sequence=0),
}


def assert_header(batch, expected, producer):
    assert batch.magic == MAGIC_V2
    assert batch.base_offset == 0
    assert batch.record_count == len(expected)
    assert batch.last_offset_delta == len(expected) - 1
    assert batch.last_offset == expected[-1].offset
    assert batch.base_timestamp == expected[0].timestamp
    assert batch.max_timestamp == max(r.timestamp for r in expected)
    assert batch.timestamp_type == 0
    assert batch.is_transactional == producer["is_transactional"]
    assert not batch.is_control
    assert batch.producer_id == producer["producer_id"]
    assert batch.producer_epoch == producer["producer_epoch"]
    assert batch.base_sequence == producer["base_sequence"]
    assert batch.size == batch.batch_length + LOG_OVERHEAD == len(batch.memory)
    assert batch.crc_ok() and batch.compute_crc() == batch.crc


# --- the clients' batches, decoded here -------------------------------------

@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("codec", list(Codec))
def test_kafka_python_batches_decode(codec, producer, kafka_python_codecs):
    expected = sample_records()
    builder = kp_records.DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, batch_size=1 << 20, **PRODUCERS[producer])
    for r in expected:
        builder.append(r.offset, r.timestamp, r.key, r.value, r.headers)
    buf = bytes(builder.build())
    batch = RecordBatch(buf)
    assert batch.compression is codec  # a builder that found no gain would have sent NONE
    assert_header(batch, expected, PRODUCERS[producer])
    theirs = kp_records.DefaultRecordBatch(buf)
    assert (batch.crc, batch.attributes, batch.size, batch.partition_leader_epoch) == (
        theirs.crc, theirs.attributes, theirs.size_in_bytes, theirs.leader_epoch)
    assert batch.records() == expected


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("codec", list(Codec))
def test_aiokafka_batches_decode(codec, producer):
    expected = sample_records()
    p = PRODUCERS[producer]
    builder = AioBuilder(2, codec, p["is_transactional"], p["producer_id"], p["producer_epoch"],
                         p["base_sequence"], 1 << 20)
    for r in expected:
        builder.append(r.offset, r.timestamp, r.key, r.value, r.headers)
    batch = RecordBatch(builder.build())
    assert batch.compression is codec
    assert batch.partition_leader_epoch == -1
    assert_header(batch, expected, p)
    assert batch.records() == expected


def aiokafka_batch(records, codec=Codec.NONE):
    builder = AioBuilder(2, codec, False, -1, -1, -1, 1 << 20)
    for r in records:
        builder.append(r.offset, r.timestamp, r.key, r.value, r.headers)
    return bytes(builder.build())


def test_base_offset_assigned_by_the_log_shifts_every_record():
    buf = bytearray(aiokafka_batch(sample_records()))
    set_base_offset(buf, 0, 1_000_000)
    batch = RecordBatch(buf)
    assert batch.crc_ok()
    assert [r.offset for r in batch.records()] == list(range(1_000_000, 1_000_020))
    assert batch.last_offset == 1_000_019


# --- our batches, decoded by the clients -----------------------------------

def client_view(client_batch):
    return [Record(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in client_batch]


@pytest.mark.parametrize("codec", list(Codec))
def test_our_batches_decode_in_kafka_python(codec, kafka_python_codecs):
    first = sample_records(base_offset=500)
    second = sample_records(base_offset=520)
    buf = (build_batch(first, base_offset=500, codec=codec, producer_id=7, producer_epoch=2,
                       base_sequence=40, partition_leader_epoch=5)
           + build_batch(second, base_offset=520, codec=codec))
    theirs = list(KpMemoryRecords(buf))
    assert len(theirs) == 2
    for batch, expected in zip(theirs, (first, second)):
        assert batch.validate_crc()
        assert batch.compression_type == codec
        assert batch.base_offset == expected[0].offset
        assert batch.last_offset_delta == len(expected) - 1
        assert batch.max_timestamp == max(r.timestamp for r in expected)
        assert client_view(batch) == expected
    assert (theirs[0].producer_id, theirs[0].producer_epoch, theirs[0].base_sequence) == (7, 2, 40)
    assert theirs[0].leader_epoch == 5


@pytest.mark.parametrize("codec", list(Codec))
def test_our_batches_decode_in_aiokafka(codec):
    expected = sample_records(base_offset=3)
    buf = build_batch(expected, base_offset=3, codec=codec, producer_id=11, producer_epoch=1,
                      base_sequence=0, is_transactional=True)
    batch = AioMemoryRecords(buf).next_batch()
    assert batch.validate_crc()
    assert (batch.compression_type, batch.is_transactional, batch.producer_id) == (codec, True, 11)
    assert client_view(batch) == expected


@pytest.mark.parametrize("kind", list(ControlType))
def test_control_batch_reads_as_a_marker_in_both_clients(kind):
    buf = build_control_batch(kind, producer_id=77, producer_epoch=4, base_offset=12, timestamp=T0)
    ours = RecordBatch(buf)
    assert ours.is_control and ours.is_transactional and ours.crc_ok()
    assert ours.control_record() == ControlRecord(0, kind)
    (marker,) = list(kp_records.DefaultRecordBatch(buf))
    assert (marker.version, marker.type, marker.offset, marker.timestamp) == (0, kind, 12, T0)
    aio = AioBatch(buf)
    assert aio.is_control_batch and aio.validate_crc() and aio.producer_id == 77
    (record,) = list(aio)
    assert struct.unpack(">hh", record.key) == (0, kind)
    assert struct.unpack(">hi", record.value) == (0, 0)


def test_control_record_errors():
    with pytest.raises(DecodeError, match="not a control batch"):
        RecordBatch(build_batch(sample_records())).control_record()
    short_key = build_batch([Record(0, T0, b"\x00", None)], is_control=True)
    with pytest.raises(DecodeError, match="key"):
        RecordBatch(short_key).control_record()
    negative = build_batch([Record(0, T0, b"\xff\xff\x00\x01", None)], is_control=True)
    with pytest.raises(DecodeError, match="version"):
        RecordBatch(negative).control_record()
    with pytest.raises(DecodeError, match="no record"):
        RecordBatch(build_batch([], is_control=True)).control_record()


def test_header_constants_match_kafka_python():
    assert BATCH_HEADER_SIZE == kp_records.DefaultRecordBase.HEADER_STRUCT.size == 61
    assert R.CRC_OFFSET == kp_records.DefaultRecordBase.CRC_OFFSET
    assert R.ATTRIBUTES_OFFSET == kp_records.DefaultRecordBase.ATTRIBUTES_OFFSET
    assert LOG_OVERHEAD == kp_records.DefaultRecordBase.AFTER_LEN_OFFSET == 12


# --- the view ----------------------------------------------------------------

def test_view_is_zero_copy_and_sees_patches():
    buf = bytearray(b"\x00" * 7 + build_batch(sample_records()) + b"tail")
    batch = RecordBatch(memoryview(buf), 7)
    assert batch.memory.obj is buf
    assert len(batch.memory) == len(buf) - 11
    set_base_offset(buf, 7, 42)
    set_partition_leader_epoch(buf, 7, 9)
    assert (batch.base_offset, batch.partition_leader_epoch) == (42, 9)
    assert batch.crc_ok()
    buf[7 + BATCH_HEADER_SIZE] ^= 1
    assert not batch.crc_ok()


def test_log_append_time_stamps_max_timestamp_and_recomputes_crc(kafka_python_codecs):
    buf = bytearray(build_batch(sample_records(), codec=Codec.LZ4))
    old_crc = RecordBatch(buf).crc
    set_log_append_time(buf, 0, T0 + 10**6)
    batch = RecordBatch(buf)
    assert batch.crc_ok() and batch.crc != old_crc
    assert (batch.timestamp_type, batch.max_timestamp, batch.base_timestamp) == (1, T0 + 10**6, T0)
    assert batch.compression is Codec.LZ4
    assert {r.timestamp for r in batch.records()} == {T0 + 10**6}
    theirs = kp_records.DefaultRecordBatch(bytes(buf))
    assert theirs.validate_crc() and theirs.timestamp_type == 1
    assert {r.timestamp for r in theirs} == {T0 + 10**6}


def test_magic_is_readable_for_old_formats():
    for magic in (0, 1):
        builder = LegacyRecordBatchBuilder(magic=magic, compression_type=0, batch_size=1 << 16)
        builder.append(0, T0 if magic else None, None, b"v")
        short = bytes(builder.build())
        assert peek_magic(short) == magic
        with pytest.raises(DecodeError):
            RecordBatch(short)
        builder = LegacyRecordBatchBuilder(magic=magic, compression_type=0, batch_size=1 << 16)
        builder.append(0, T0 if magic else None, b"key", FILLER)
        batch = RecordBatch(bytes(builder.build()))
        assert batch.magic == magic
        with pytest.raises(DecodeError, match="magic"):
            batch.records()


def test_peek_magic_bounds():
    assert peek_magic(b"\x00" * 16 + b"\x02") == 2
    assert peek_magic(b"..." + b"\x00" * 16 + b"\x02", 3) == 2
    for buf, pos in ((b"\x00" * 16, 0), (b"\x00" * 20, 5), (b"\x00" * 20, -1)):
        with pytest.raises(DecodeError):
            peek_magic(buf, pos)


def with_length(buf, length):
    out = bytearray(buf)
    struct.pack_into(">i", out, 8, length)
    return bytes(out)


def test_framing_errors():
    good = build_batch(sample_records()[:2])
    cases = {
        "short header": good[:BATCH_HEADER_SIZE - 1],
        "length below 49": with_length(good, 48),
        "negative length": with_length(good, -1),
        "length past the end": with_length(good, len(good) - 11),
        "truncated": good[:-1],
        "empty": b"",
    }
    for buf in cases.values():
        with pytest.raises(DecodeError):
            RecordBatch(buf)
    with pytest.raises(DecodeError):
        RecordBatch(good, len(good) + 1)
    with pytest.raises(DecodeError):
        RecordBatch(good, -1)
    assert RecordBatch(with_length(good, 49)[:61]).record_count == 2  # header-only view is fine


def patched(buf, offset, fmt, value):
    """Overwrite one header field; the CRC goes stale, which records() does not check."""
    out = bytearray(buf)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize("codec", [Codec.NONE, Codec.ZSTD])
def test_record_count_must_match(codec):
    buf = build_batch(sample_records(), codec=codec)
    for count in (19, 21, -1, 2**31 - 1):
        with pytest.raises(DecodeError):
            RecordBatch(patched(buf, R.RECORD_COUNT_OFFSET, ">i", count)).records()


def test_unknown_codec_bits():
    buf = patched(build_batch(sample_records()), R.ATTRIBUTES_OFFSET, ">h", 5)
    batch = RecordBatch(buf)
    assert batch.attributes & 7 == 5
    with pytest.raises(DecodeError, match="codec"):
        batch.compression
    with pytest.raises(DecodeError, match="codec"):
        batch.records()


def test_records_respects_max_size():
    batch = RecordBatch(build_batch([Record(0, T0, None, bytes(2 << 20))], codec=Codec.ZSTD))
    with pytest.raises(DecodeError, match="limit"):
        batch.records(max_size=1 << 20)
    assert batch.records()[0].value == bytes(2 << 20)


def raw_batch(records_bytes, count, attributes=0):
    """A v2 header with a valid CRC around hand-written record bytes."""
    tail = struct.pack(">hiqqqhii", attributes, max(count - 1, 0), T0, T0, -1, -1, -1, count)
    crc = crc32c.crc32c(tail + records_bytes)
    return struct.pack(">qiibI", 0, 49 + len(records_bytes), -1, 2, crc) + tail + records_bytes


def framed(fields):
    """Prefix record fields with their varint length."""
    return bytes([len(fields) * 2]) + fields


# attrs 0, timestamp delta +1, offset delta 0, null key, value "v", two headers:
# "h" -> null and "key" -> empty.
GOOD_FIELDS = b"\x00\x02\x00\x01\x02v\x04\x02h\x01\x06key\x00"


def test_hand_written_record_decodes_per_the_layout():
    (record,) = RecordBatch(raw_batch(framed(GOOD_FIELDS), 1)).records()
    assert record == Record(0, T0 + 1, None, b"v", [("h", None), ("key", b"")])


@pytest.mark.parametrize("body", [
    bytes([2 * (len(GOOD_FIELDS) + 1)]) + GOOD_FIELDS,  # length runs past the data
    bytes([2 * (len(GOOD_FIELDS) - 1)]) + GOOD_FIELDS,  # fields run past the record
    framed(GOOD_FIELDS + b"\x00"),  # a stray byte after the headers
    framed(GOOD_FIELDS) + b"\x00",  # a stray byte after the last record
    framed(GOOD_FIELDS.replace(b"\x00\x01\x02v", b"\x00\x03\x02v")),  # key length -2
    framed(GOOD_FIELDS.replace(b"\x02v", b"\x7fv")),  # value longer than the record
    framed(GOOD_FIELDS.replace(b"\x02h", b"\x01h")),  # null header key
    framed(GOOD_FIELDS.replace(b"\x04\x02h", b"\xfe\xff\xff\xff\x0f\x02h")),  # 2**31-1 headers
    framed(GOOD_FIELDS.replace(b"\x04\x02h", b"\x03\x02h")),  # -2 headers
    framed(b"\x00\x02\x00\x01\x02v\x04\x02h\x01"),  # second header missing
    framed(b"\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  # varlong too long
    b"",  # no record at all
])
def test_malformed_records(body):
    with pytest.raises(DecodeError):
        RecordBatch(raw_batch(body, 1)).records()


# --- iter_batches --------------------------------------------------------------

def test_iter_batches():
    a, b, c = (build_batch(sample_records(n), base_offset=n) for n in (0, 20, 40))
    stream = a + b + c
    assert [x.base_offset for x in iter_batches(stream)] == [0, 20, 40]
    assert [x.base_offset for x in iter_batches(memoryview(stream))] == [0, 20, 40]
    assert list(iter_batches(b"")) == []
    for cut in (1, 11, 12, 60, len(c) - 1):
        truncated = stream[:-cut]
        with pytest.raises(DecodeError, match="truncated"):
            list(iter_batches(truncated))
        assert [x.base_offset for x in iter_batches(truncated, allow_partial_tail=True)] == [0, 20]
    corrupt = a + with_length(b, 3)
    with pytest.raises(DecodeError, match="below"):
        list(iter_batches(corrupt, allow_partial_tail=True))


def test_iter_batches_is_zero_copy():
    stream = bytearray(build_batch(sample_records()) * 3)
    batches = list(iter_batches(stream))
    assert all(x.memory.obj is stream for x in batches)
    assert sum(x.size for x in batches) == len(stream)


# --- building ------------------------------------------------------------------

def test_build_rejects_bad_offsets_and_types():
    with pytest.raises(ValueError):
        build_batch([Record(1, T0, None, b""), Record(1, T0, None, b"")])
    with pytest.raises(ValueError):
        build_batch([Record(4, T0, None, b"")], base_offset=5)
    with pytest.raises(ValueError):
        build_batch([Record(0, T0, None, b"")], timestamp_type=2)


def test_empty_batch():
    batch = RecordBatch(build_batch([], base_offset=8))
    assert (batch.record_count, batch.last_offset, batch.max_timestamp) == (0, 8, -1)
    assert batch.records() == [] and batch.crc_ok()


def test_build_leaves_offset_gaps_as_given():
    records = [Record(10, T0, b"a", b"1"), Record(13, T0 - 5, b"b", b"2"), Record(20, T0 + 5, None, None)]
    batch = RecordBatch(build_batch(records, base_offset=10, base_timestamp=T0 - 100))
    assert (batch.last_offset_delta, batch.base_timestamp, batch.max_timestamp) == (10, T0 - 100, T0 + 5)
    assert batch.records() == records


# --- round trips -----------------------------------------------------------------

headers = st.lists(st.tuples(st.text(max_size=6), st.none() | st.binary(max_size=8)), max_size=3)
record_shapes = st.lists(
    st.tuples(st.none() | st.binary(max_size=24), st.none() | st.binary(max_size=60), headers,
              st.integers(-10**9, 10**9), st.integers(1, 1000)),
    max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=record_shapes, codec=st.sampled_from(list(Codec)), base_offset=st.integers(0, 2**50),
       t0=st.integers(0, 2**42), new_base=st.integers(0, 2**62), epoch=st.integers(-1, 2**31 - 1),
       append_time=st.integers(0, 2**42))
def test_round_trip(shapes, codec, base_offset, t0, new_base, epoch, append_time):
    records, offset = [], base_offset
    for key, value, hdrs, dt, gap in shapes:
        records.append(Record(offset, t0 + dt, key, value, hdrs))
        offset += gap
    buf = bytearray(build_batch(records, base_offset=base_offset, codec=codec))
    batch = RecordBatch(buf)
    assert batch.crc_ok() and batch.compression is codec
    assert batch.records() == records
    assert batch.record_count == len(records)
    if records:
        assert batch.last_offset == records[-1].offset
        assert batch.max_timestamp == max(r.timestamp for r in records)

    set_base_offset(buf, 0, new_base)
    set_partition_leader_epoch(buf, 0, epoch)
    assert batch.crc_ok() and batch.partition_leader_epoch == epoch
    shift = new_base - base_offset
    assert [r.offset for r in batch.records()] == [r.offset + shift for r in records]

    set_log_append_time(buf, 0, append_time)
    assert batch.crc_ok() and batch.timestamp_type == 1
    assert all(r.timestamp == append_time for r in batch.records())


# --- fuzz ------------------------------------------------------------------------

def exercise(buf):
    """Drive every decoding entry point; anything but DecodeError fails the test."""
    for partial in (False, True):
        try:
            for batch in iter_batches(buf, allow_partial_tail=partial):
                touch(batch)
        except DecodeError:
            pass
    try:
        peek_magic(buf)
        touch(RecordBatch(buf))
    except DecodeError:
        pass


def touch(batch):
    for name in ("base_offset", "batch_length", "size", "partition_leader_epoch", "magic", "crc",
                 "attributes", "timestamp_type", "is_transactional", "is_control",
                 "last_offset_delta", "last_offset", "base_timestamp", "max_timestamp",
                 "producer_id", "producer_epoch", "base_sequence", "record_count"):
        assert isinstance(getattr(batch, name), int)
    batch.crc_ok()
    for method in (lambda: batch.compression, lambda: batch.records(max_size=1 << 22),
                   batch.control_record):
        try:
            method()
        except DecodeError:
            pass


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(buf):
    exercise(buf)


@settings(max_examples=1500, deadline=None)
@given(attributes=st.integers(0, 0x7F), count=st.integers(-2, 40), body=st.binary(max_size=300))
def test_fuzz_random_records_under_a_valid_header(attributes, count, body):
    exercise(raw_batch(body, count, attributes))


SEEDS = [build_batch(sample_records(5)[:6], codec=c, base_offset=5) for c in Codec] + [
    build_control_batch(ControlType.ABORT, producer_id=1, producer_epoch=1, timestamp=T0)]


@settings(max_examples=2000, deadline=None)
@given(data=st.data())
def test_fuzz_damaged_batches(data):
    buf = bytearray(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(0, 4))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    buf = buf[:data.draw(st.integers(0, len(buf)))]
    exercise(bytes(buf))
