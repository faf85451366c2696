"""Kafka's RecordBatch (message format v2): zero-copy views, decoding, building.

The broker path only needs `RecordBatch`'s header fields and `crc_ok()`: it
stores the producer's bytes as they came, patching the base offset and
leader epoch in place (both lie before the CRC'd range, so the CRC stays
valid).  `records()`, `build_batch()` and friends are for tools and tests.

Layout (Kafka protocol guide, "Record Batch"): a 61-byte header, then
`record_count` records, compressed as one stream when the codec bits of the
attributes are set.  The CRC is CRC-32C over everything from the attributes
to the end of the batch.
"""

import dataclasses
import enum
import struct
import time
from typing import NamedTuple

from . import checksum
from .compression import DEFAULT_MAX_SIZE, Codec, compress, decompress
from .errors import DecodeError
from .primitives import read_int8, read_varint, read_varlong, write_int8, write_varint, write_varlong

# Field offsets, named as in Kafka's DefaultRecordBatch.
BASE_OFFSET_OFFSET = 0
LENGTH_OFFSET = 8
PARTITION_LEADER_EPOCH_OFFSET = 12
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
LAST_OFFSET_DELTA_OFFSET = 23
BASE_TIMESTAMP_OFFSET = 27
MAX_TIMESTAMP_OFFSET = 35
PRODUCER_ID_OFFSET = 43
PRODUCER_EPOCH_OFFSET = 51
BASE_SEQUENCE_OFFSET = 53
RECORD_COUNT_OFFSET = 57
RECORDS_OFFSET = 61

BATCH_HEADER_SIZE = RECORDS_OFFSET
# baseOffset and batchLength: the framing shared by every message format.
LOG_OVERHEAD = 12
# batchLength counts from the leader epoch on, so a header alone is 49.
MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD
MAGIC_V2 = 2

CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

CREATE_TIME = 0
LOG_APPEND_TIME = 1
NO_TIMESTAMP = -1

# The smallest record: one byte each for length, attributes, timestamp
# delta, offset delta, key length, value length and header count.
_MIN_RECORD_SIZE = 7
# The smallest header: an empty key and a null value.
_MIN_HEADER_SIZE = 2

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_I8 = struct.Struct(">b")
# baseOffset .. crc, and attributes .. recordCount (the CRC'd header part).
_HEADER_HEAD = struct.Struct(">qiibI")
_HEADER_TAIL = struct.Struct(">hiqqqhii")
# Control record key (version, type) and end-transaction marker value
# (version, coordinator epoch), both at version 0.
_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_VALUE = struct.Struct(">hi")


class ControlType(enum.IntEnum):
    """Control record types a transactional log carries (Kafka's ControlRecordType)."""

    ABORT = 0
    COMMIT = 1


class ControlRecord(NamedTuple):
    """The key of a control record; `type` stays an int for unknown types."""

    version: int
    type: int


class EndTxnMarker(NamedTuple):
    """The value of an end-transaction control record."""

    version: int
    coordinator_epoch: int


def end_txn_marker(value: bytes | None) -> EndTxnMarker:
    """Decode the value of a COMMIT or ABORT control record."""
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise DecodeError("end-transaction marker value is shorter than version and "
                          "coordinator epoch", RECORDS_OFFSET)
    return EndTxnMarker(*_END_TXN_VALUE.unpack_from(value))


@dataclasses.dataclass(slots=True)
class Record:
    """One record with absolute offset and timestamp (ms).

    Passed to `build_batch`, `offset` is absolute too: the batch stores
    `offset - base_offset`, so with the default base offset 0 it is simply
    the record's index.
    """

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = dataclasses.field(default_factory=list)
    attributes: int = 0


def _byte_view(buf) -> memoryview:
    return memoryview(buf).cast("B")


def peek_magic(buf, pos: int = 0) -> int:
    """The magic byte of the batch at `pos`, which sits at byte 16 in v0, v1 and v2.

    Call this before `RecordBatch`: a v0/v1 message can be shorter than a
    v2 header, which the constructor refuses as malformed.
    """
    if pos < 0:
        raise DecodeError("negative batch position", pos)
    return read_int8(_byte_view(buf), pos + MAGIC_OFFSET)[0]


def _declared_size(view: memoryview, pos: int) -> int | None:
    """The size of the batch at `pos` from its length field; None if that is cut off."""
    if len(view) - pos < LOG_OVERHEAD:
        return None
    length = _I32.unpack_from(view, pos + LENGTH_OFFSET)[0]
    if length < MIN_BATCH_LENGTH:
        raise DecodeError(f"batch length {length} is below the {MIN_BATCH_LENGTH}-byte minimum",
                          pos + LENGTH_OFFSET)
    return LOG_OVERHEAD + length


def _field(st: struct.Struct, offset: int, doc: str) -> property:
    unpack_from = st.unpack_from
    return property(lambda self: unpack_from(self._mem, offset)[0], doc=doc)


def _flag(mask: int, doc: str) -> property:
    return property(lambda self: bool(self.attributes & mask), doc=doc)


class RecordBatch:
    """A zero-copy view of one v2 RecordBatch inside a larger buffer.

    The constructor checks only the framing every magic shares: at least a
    61-byte header is present, batchLength is >= 49, and the whole batch
    fits in the buffer.  It does not check `magic`, so a caller that built
    a view can still read `magic` to refuse an old format with a Kafka
    error code; `peek_magic` does the same for inputs too short to view.
    Fields other than `magic` and the framing are meaningful only when
    `magic == MAGIC_V2`.

    Fields are read from the buffer on each access, so in-place patches
    (`set_base_offset` and friends) show through a view made earlier.
    """

    __slots__ = ("_mem",)

    def __init__(self, buf, pos: int = 0):
        view = _byte_view(buf)
        if not 0 <= pos <= len(view):
            raise DecodeError(f"batch position {pos} is outside a {len(view)}-byte buffer", pos)
        size = _declared_size(view, pos)
        if size is None or size > len(view) - pos:
            raise DecodeError(f"truncated batch: {len(view) - pos} bytes left", pos)
        self._mem = view[pos:pos + size]

    base_offset = _field(_I64, BASE_OFFSET_OFFSET, "Offset of the first record.")
    batch_length = _field(_I32, LENGTH_OFFSET, "Bytes after the length field.")
    partition_leader_epoch = _field(_I32, PARTITION_LEADER_EPOCH_OFFSET, "Set by the leader.")
    magic = _field(_I8, MAGIC_OFFSET, "Message format version; 2 for a RecordBatch.")
    crc = _field(_U32, CRC_OFFSET, "CRC-32C as stored.")
    attributes = _field(_I16, ATTRIBUTES_OFFSET, "Codec, timestamp type and flags.")
    last_offset_delta = _field(_I32, LAST_OFFSET_DELTA_OFFSET, "last_offset - base_offset.")
    base_timestamp = _field(_I64, BASE_TIMESTAMP_OFFSET, "Timestamp the record deltas count from.")
    max_timestamp = _field(_I64, MAX_TIMESTAMP_OFFSET, "Largest timestamp, or the append time.")
    producer_id = _field(_I64, PRODUCER_ID_OFFSET, "-1 unless idempotent or transactional.")
    producer_epoch = _field(_I16, PRODUCER_EPOCH_OFFSET, "-1 unless idempotent or transactional.")
    base_sequence = _field(_I32, BASE_SEQUENCE_OFFSET, "-1 unless idempotent or transactional.")
    record_count = _field(_I32, RECORD_COUNT_OFFSET, "Number of records, as declared.")
    is_transactional = _flag(TRANSACTIONAL_MASK, "Part of a transaction.")
    is_control = _flag(CONTROL_MASK, "Holds a control record (transaction marker).")

    @property
    def size(self) -> int:
        return len(self._mem)

    @property
    def memory(self) -> memoryview:
        """Exactly this batch's bytes, sharing the caller's buffer."""
        return self._mem

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def timestamp_type(self) -> int:
        return LOG_APPEND_TIME if self.attributes & TIMESTAMP_TYPE_MASK else CREATE_TIME

    @property
    def compression(self) -> Codec:
        """The codec; DecodeError for the ids 5-7 that Kafka does not define."""
        codec_id = self.attributes & CODEC_MASK
        try:
            return Codec(codec_id)
        except ValueError:
            raise DecodeError(f"unknown compression codec {codec_id}", ATTRIBUTES_OFFSET) from None

    def compute_crc(self) -> int:
        return checksum.crc32c(self._mem[ATTRIBUTES_OFFSET:])

    def crc_ok(self) -> bool:
        return self.compute_crc() == self.crc

    def records(self, max_size: int = DEFAULT_MAX_SIZE) -> list[Record]:
        """Decode every record; DecodeError on anything malformed.

        The CRC is not checked here (that is `crc_ok()`).  `max_size` bounds
        the decompressed size.  DecodeError offsets count from the start of
        the batch, or of the decompressed records for a compressed batch.
        """
        if self.magic != MAGIC_V2:
            raise DecodeError(f"magic {self.magic} is not a v2 RecordBatch", MAGIC_OFFSET)
        count = self.record_count
        codec = self.compression
        if codec is Codec.NONE:
            data, pos = self._mem, RECORDS_OFFSET
        else:
            data = memoryview(decompress(codec, self._mem[RECORDS_OFFSET:], max_size))
            pos = 0
        if not 0 <= count <= (len(data) - pos) // _MIN_RECORD_SIZE:
            raise DecodeError(f"record count {count} cannot fit in {len(data) - pos} bytes",
                              RECORD_COUNT_OFFSET)
        # Kafka gives every record of a LogAppendTime batch the batch's
        # maxTimestamp, which the broker set to the append time.
        append_time = self.max_timestamp if self.timestamp_type == LOG_APPEND_TIME else None
        base_offset, base_timestamp = self.base_offset, self.base_timestamp
        records = []
        for _ in range(count):
            record, pos = _read_record(data, pos, base_offset, base_timestamp, append_time)
            records.append(record)
        if pos != len(data):
            raise DecodeError(f"{len(data) - pos} bytes follow the last of {count} records", pos)
        return records

    def control_record(self) -> ControlRecord:
        """The key of a control batch's record: (version, type), type 0 ABORT, 1 COMMIT."""
        if not self.is_control:
            raise DecodeError("not a control batch", ATTRIBUTES_OFFSET)
        records = self.records()
        if not records:
            raise DecodeError("control batch holds no record", RECORD_COUNT_OFFSET)
        key = records[0].key
        if key is None or len(key) < _CONTROL_KEY.size:
            raise DecodeError("control record key is shorter than version and type", RECORDS_OFFSET)
        version, kind = _CONTROL_KEY.unpack_from(key)
        if version < 0:
            raise DecodeError(f"control record key has version {version}", RECORDS_OFFSET)
        return ControlRecord(version, kind)


def iter_batches(buf, allow_partial_tail: bool = False):
    """Yield a RecordBatch view for each batch in concatenated `buf`.

    A truncated last batch raises DecodeError unless `allow_partial_tail`:
    Fetch responses may end in a partial batch, which consumers skip.  A
    corrupt length is an error either way.
    """
    view = _byte_view(buf)
    pos = 0
    while pos < len(view):
        size = _declared_size(view, pos)
        if size is None or size > len(view) - pos:
            if allow_partial_tail:
                return
            raise DecodeError(f"truncated batch: {len(view) - pos} bytes left", pos)
        yield RecordBatch(view, pos)
        pos += size


# --- record decoding -------------------------------------------------------

def _read_record(data: memoryview, pos: int, base_offset: int, base_timestamp: int,
                 append_time: int | None) -> tuple[Record, int]:
    length, body = read_varint(data, pos)
    end = body + length
    if not 0 <= length <= len(data) - body:
        raise DecodeError(f"record length {length} does not fit in {len(data) - body} bytes", pos)
    # Reading from a view that ends with the record keeps every field
    # inside it, while positions stay those of `data`.
    rec = data[:end]
    attributes, p = read_int8(rec, body)
    timestamp_delta, p = read_varlong(rec, p)
    offset_delta, p = read_varint(rec, p)
    key, p = _read_varbytes(rec, p, "key")
    value, p = _read_varbytes(rec, p, "value")
    headers, p = _read_headers(rec, p)
    if p != end:
        raise DecodeError(f"record has {end - p} bytes after its headers", p)
    timestamp = base_timestamp + timestamp_delta if append_time is None else append_time
    return Record(base_offset + offset_delta, timestamp, key, value, headers, attributes), end


def _read_varbytes(buf: memoryview, pos: int, what: str) -> tuple[bytes | None, int]:
    length, start = read_varint(buf, pos)
    if length == -1:
        return None, start
    if not 0 <= length <= len(buf) - start:
        raise DecodeError(f"{what} length {length} does not fit in its record", pos)
    return bytes(buf[start:start + length]), start + length


def _read_headers(buf: memoryview, pos: int) -> tuple[list[tuple[str, bytes | None]], int]:
    count, pos = read_varint(buf, pos)
    if not 0 <= count <= (len(buf) - pos) // _MIN_HEADER_SIZE:
        raise DecodeError(f"header count {count} does not fit in its record", pos)
    headers = []
    for _ in range(count):
        key_pos = pos
        key, pos = _read_varbytes(buf, pos, "header key")
        if key is None:
            raise DecodeError("header key is null", key_pos)
        # Kafka takes any bytes and its Java consumer decodes them with
        # replacement characters; so does this.
        name = str(key, "utf-8", "replace")
        value, pos = _read_varbytes(buf, pos, "header value")
        headers.append((name, value))
    return headers, pos


# --- building --------------------------------------------------------------

def build_batch(records, *, base_offset: int = 0, codec: Codec = Codec.NONE,
                base_timestamp: int | None = None, timestamp_type: int = CREATE_TIME,
                producer_id: int = -1, producer_epoch: int = -1, base_sequence: int = -1,
                is_transactional: bool = False, is_control: bool = False,
                partition_leader_epoch: int = -1, level: int | None = None) -> bytes:
    """Encode `records` (a sequence of Record, offsets absolute and increasing).

    `base_timestamp` defaults to the first record's timestamp; maxTimestamp
    is the largest record timestamp (-1 for an empty batch, as are the
    timestamps Kafka writes then).  The payload is compressed with `codec`
    (at `level`, see `compress`) even if that does not make it smaller, as
    the Java client does.
    """
    records = list(records)
    _check_offsets(records, base_offset)
    if base_timestamp is None:
        base_timestamp = records[0].timestamp if records else NO_TIMESTAMP
    if timestamp_type not in (CREATE_TIME, LOG_APPEND_TIME):
        raise ValueError(f"timestamp type must be 0 or 1, not {timestamp_type}")
    payload = b"".join(_encode_record(r, base_offset, base_timestamp) for r in records)
    codec = Codec(codec)
    if codec is not Codec.NONE:
        payload = compress(codec, payload, level)
    attributes = codec | timestamp_type << 3 | is_transactional << 4 | is_control << 5
    tail = _HEADER_TAIL.pack(
        attributes,
        records[-1].offset - base_offset if records else 0,
        base_timestamp,
        max((r.timestamp for r in records), default=NO_TIMESTAMP),
        producer_id, producer_epoch, base_sequence, len(records))
    crc = checksum.crc32c(payload, checksum.crc32c(tail))
    head = _HEADER_HEAD.pack(base_offset, MIN_BATCH_LENGTH + len(payload),
                             partition_leader_epoch, MAGIC_V2, crc)
    return b"".join((head, tail, payload))


def build_control_batch(kind: ControlType, *, producer_id: int, producer_epoch: int,
                        base_offset: int = 0, timestamp: int | None = None,
                        coordinator_epoch: int = 0, partition_leader_epoch: int = -1) -> bytes:
    """An end-transaction marker batch, as the transaction coordinator writes it.

    `timestamp` defaults to now.  Kafka marks these batches both control
    and transactional, with no base sequence.
    """
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    record = Record(offset=base_offset, timestamp=timestamp,
                    key=_CONTROL_KEY.pack(0, ControlType(kind)),
                    value=_END_TXN_VALUE.pack(0, coordinator_epoch))
    return build_batch([record], base_offset=base_offset, producer_id=producer_id,
                       producer_epoch=producer_epoch, is_transactional=True, is_control=True,
                       partition_leader_epoch=partition_leader_epoch)


def _check_offsets(records: list[Record], base_offset: int) -> None:
    previous = base_offset - 1
    for record in records:
        if record.offset <= previous:
            raise ValueError(f"record offset {record.offset} does not follow {previous} "
                             f"(offsets must increase from base_offset {base_offset})")
        previous = record.offset


def _encode_record(record: Record, base_offset: int, base_timestamp: int) -> bytes:
    parts = [
        write_int8(record.attributes),
        write_varlong(record.timestamp - base_timestamp),
        write_varint(record.offset - base_offset),
        _encode_varbytes(record.key),
        _encode_varbytes(record.value),
        write_varint(len(record.headers)),
    ]
    for name, value in record.headers:
        parts.append(_encode_varbytes(name.encode("utf-8")))
        parts.append(_encode_varbytes(value))
    body = b"".join(parts)
    return write_varint(len(body)) + body


def _encode_varbytes(value) -> bytes:
    if value is None:
        return write_varint(-1)
    return write_varint(len(value)) + bytes(value)


# --- in-place patching -----------------------------------------------------

def _header_view(buf, pos: int) -> memoryview:
    view = _byte_view(buf)
    if not 0 <= pos <= len(view) - BATCH_HEADER_SIZE:
        raise DecodeError(f"no {BATCH_HEADER_SIZE}-byte batch header at {pos}", pos)
    return view[pos:pos + BATCH_HEADER_SIZE]


def set_base_offset(buf, pos: int, offset: int) -> None:
    """Rewrite the base offset; it precedes the CRC'd range, so the CRC holds."""
    _I64.pack_into(_header_view(buf, pos), BASE_OFFSET_OFFSET, offset)


def set_partition_leader_epoch(buf, pos: int, epoch: int) -> None:
    """Rewrite the leader epoch; it precedes the CRC'd range, so the CRC holds."""
    _I32.pack_into(_header_view(buf, pos), PARTITION_LEADER_EPOCH_OFFSET, epoch)


def set_log_append_time(buf, pos: int, timestamp_ms: int) -> None:
    """Stamp a batch with the broker's append time, as Kafka's LogValidator does.

    Sets the LogAppendTime bit and writes the time into maxTimestamp (the
    base timestamp and record deltas are left as the producer sent them),
    then recomputes the CRC, which covers both fields.
    """
    batch = RecordBatch(buf, pos)
    mem = batch.memory
    _I16.pack_into(mem, ATTRIBUTES_OFFSET, batch.attributes | TIMESTAMP_TYPE_MASK)
    _I64.pack_into(mem, MAX_TIMESTAMP_OFFSET, timestamp_ms)
    _U32.pack_into(mem, CRC_OFFSET, batch.compute_crc())
