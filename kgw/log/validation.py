"""Checking a Produce partition's batch headers before anything is written.

Headers and CRCs (the records inside are walked after these checks, by
`record_checks`), unless the timestamp checks cannot be settled by a
batch's header (a topic that sets `message.timestamp.before.max.ms`, a
batch whose newest timestamp is too new, one a client marked
LogAppendTime): then its records are decoded to name each one at fault.
The checks and their error codes follow Kafka's
UnifiedLog.analyzeAndValidateRecords and LogValidator: framing and CRC
problems are CORRUPT_MESSAGE, an old message format
UNSUPPORTED_FOR_MESSAGE_FORMAT, inconsistent counts, control batches or
sequence numbers from a client INVALID_RECORD, an oversized batch
MESSAGE_TOO_LARGE, a timestamp out of bounds INVALID_TIMESTAMP with the
records at fault (RecordValidationError).
"""

import struct


from protocol import checksum
from protocol.errors import DecodeError
from protocol.error_codes import ErrorCode
from protocol.records import (
    ATTRIBUTES_OFFSET, CONTROL_MASK, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2,
    MIN_BATCH_LENGTH, TIMESTAMP_TYPE_MASK, RecordBatch,
)

from .config import INT64_MAX, LogConfig
from .errors import LogError, RecordValidationError
from .record_checks import INFLATE_LIMIT
from .scan import BatchHeader, parse_header

_I32 = struct.Struct(">i")
# A length must at least reach the magic byte for the format to be known.
_MIN_LENGTH_WITH_MAGIC = MAGIC_OFFSET + 1 - LOG_OVERHEAD


def validate_records(view: memoryview, config: LogConfig, now_ms: int,
                     client: bool) -> list[BatchHeader]:
    """The headers of the batches of `view` (positions within it), each checked;
    LogError on the first problem.

    A client's Produce carries exactly one v2 batch per partition (Kafka
    refuses more); the broker's own appends (`client=False`, e.g.
    transaction markers, tools) may carry several.
    """
    batches = []
    pos = 0
    total = len(view)
    if total == 0:
        raise LogError(ErrorCode.INVALID_RECORD, "the records hold no record batch")
    while pos < total:
        left = total - pos
        if left < LOG_OVERHEAD:
            raise _corrupt(f"{left} bytes at position {pos} are too few for a batch")
        length = _I32.unpack_from(view, pos + LENGTH_OFFSET)[0]
        if length < _MIN_LENGTH_WITH_MAGIC or LOG_OVERHEAD + length > left:
            raise _corrupt(f"batch length {length} at position {pos} is inconsistent with the "
                           f"{left} bytes left")
        magic = view[pos + MAGIC_OFFSET]
        if magic != MAGIC_V2:
            if magic in (0, 1):
                raise LogError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
                               f"message format v{magic} is not supported; use RecordBatch v2")
            raise _corrupt(f"unknown magic {magic - 256 if magic > 127 else magic} at position {pos}")
        if length < MIN_BATCH_LENGTH:
            raise _corrupt(f"batch length {length} is below the v2 minimum {MIN_BATCH_LENGTH}")
        header = parse_header(view, pos, pos)
        _check_batch(view, header, config, now_ms, client)
        batches.append(header)
        pos = header.end
    if client and len(batches) > 1:
        raise LogError(ErrorCode.INVALID_RECORD,
                       f"a produce request must carry one record batch per partition, "
                       f"not {len(batches)}")
    return batches


def _check_batch(view: memoryview, header: BatchHeader, config: LogConfig, now_ms: int,
                 client: bool) -> None:
    if header.size > config.max_message_bytes:
        raise LogError(ErrorCode.MESSAGE_TOO_LARGE,
                       f"the {header.size}-byte batch is larger than max.message.bytes "
                       f"{config.max_message_bytes}")
    # RecordBatch.crc_ok() without building the view: the hot path's one big cost.
    crc = checksum.crc32c(view[header.position + ATTRIBUTES_OFFSET:header.end])
    if crc != header.crc:
        raise _corrupt(f"CRC mismatch: stored {header.crc:#010x}, computed {crc:#010x}")
    count = header.record_count
    if count <= 0:
        raise LogError(ErrorCode.INVALID_RECORD, f"invalid record count {count}")
    if header.last_offset_delta != count - 1:
        raise LogError(ErrorCode.INVALID_RECORD,
                       f"last offset delta {header.last_offset_delta} does not match record count "
                       f"{count}")
    if client:
        if header.attributes & CONTROL_MASK:
            raise LogError(ErrorCode.INVALID_RECORD, "clients are not allowed to write control records")
        if header.producer_id >= 0 and header.base_sequence < 0:
            raise LogError(ErrorCode.INVALID_RECORD,
                           f"invalid sequence number {header.base_sequence} with producer id "
                           f"{header.producer_id}")
    _check_timestamps(view, header, config, now_ms, client)


def _check_timestamps(view: memoryview, header: BatchHeader, config: LogConfig, now_ms: int,
                      client: bool) -> None:
    """Kafka's LogValidator.validateTimestamp, record by record: on a
    CreateTime topic a timestamp must lie within KIP-937's bounds (-1,
    "none", is exempt); otherwise a client may not have marked its batch
    LogAppendTime. Each offending record is named, as Kafka names them."""
    claims_append_time = client and bool(header.attributes & TIMESTAMP_TYPE_MASK)
    unbounded = config.timestamp_before_max_ms == INT64_MAX
    earliest = now_ms - config.timestamp_before_max_ms
    latest = now_ms + config.timestamp_after_max_ms

    def problem(record) -> str | None:
        if config.log_append_time or record.timestamp == -1:
            if claims_append_time:
                return (f"Invalid timestamp type in message with offset {record.offset}. Producer "
                        "should not set timestamp type to LogAppendTime.")
            return None
        if (not unbounded and record.timestamp < earliest) or record.timestamp > latest:
            return (f"Timestamp {record.timestamp} of message with offset {record.offset} is out of "
                    f"range. The timestamp should be within [{earliest}, {latest}]")
        return None

    if config.log_append_time and not claims_append_time:
        return
    # The header settles the common case without decoding a record.
    if not config.log_append_time and header.max_timestamp <= latest and unbounded \
            and not claims_append_time:
        return
    try:
        records = RecordBatch(view, header.position).records(INFLATE_LIMIT)
    except DecodeError as exc:
        raise _corrupt(f"records cannot be decoded: {exc}") from None
    errors = [(index, why) for index, why in ((i, problem(r)) for i, r in enumerate(records)) if why]
    if errors:
        raise RecordValidationError(ErrorCode.INVALID_TIMESTAMP,
                                    "One or more records have been rejected due to invalid timestamp", errors)


def check_keys(view: memoryview, headers: list[BatchHeader], partition: str) -> None:
    """A compacted topic keeps the last record of each key, so Kafka's
    LogValidator refuses every record without one (an empty key is a key),
    and with them the batch.  Only topics whose cleanup.policy includes
    compact pay for decoding the records."""
    for header in headers:
        if header.is_control:
            continue
        try:
            records = RecordBatch(view, header.position).records(INFLATE_LIMIT)
        except DecodeError as exc:
            raise LogError(ErrorCode.INVALID_RECORD, f"records cannot be decoded: {exc}") from None
        keyless = [(index, f"Compacted topic cannot accept message without key in topic partition "
                           f"{partition}")
                   for index, record in enumerate(records) if record.key is None]
        if keyless:
            shown = ", ".join(f"RecordError(batchIndex={index}, message='{message}')"
                              for index, message in keyless[:3])
            raise RecordValidationError(
                ErrorCode.INVALID_RECORD,
                f"One or more records have been rejected due to {len(keyless)} record errors in "
                f"total, and only showing the first three errors at most: [{shown}]", keyless)


def _corrupt(message: str) -> LogError:
    return LogError(ErrorCode.CORRUPT_MESSAGE, message)
