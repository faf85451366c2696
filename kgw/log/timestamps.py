"""ListOffsets by time: the first record at or after a timestamp, and the newest record.

These are the only log paths that decode records (Kafka answers with the
exact record, not its batch), and ListOffsets by time is rare.  The time
index narrows the search to one index interval of one segment.
"""

import logging

from protocol.errors import DecodeError
from protocol.records import RecordBatch

from .files import pread_exact
from .scan import BatchHeader
from .segment import Segment

log = logging.getLogger("kgw.log")


def first_at_or_after(segments: list[Segment], timestamp: int,
                      start: int) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record at offset >= `start` with a timestamp >= `timestamp`.

    As Kafka's fetchOffsetByTimestamp: the first segment whose largest
    timestamp reaches it, then the first batch there whose max timestamp
    does, then the first such record in it.
    """
    for segment in segments:
        if segment.max_timestamp < timestamp or segment.next_offset <= start:
            continue
        older = segment.time_index.offset_before(timestamp)
        from_offset = max(segment.base_offset if older is None else older, start)
        for header in segment.batches(segment.offset_index.lookup(from_offset)):
            if header.last_offset < start or header.max_timestamp < timestamp:
                continue
            found = _first_record(segment, header,
                                  lambda r: r.timestamp >= timestamp and r.offset >= start,
                                  (max(header.base_offset, start), header.max_timestamp))
            if found is not None:
                return found
    return None


def first_with_max_timestamp(segments: list[Segment]) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record carrying the log's largest timestamp."""
    candidates = [s for s in segments if not s.is_empty]
    if not candidates:
        return None
    segment = max(candidates, key=lambda s: s.max_timestamp)
    top = segment.max_timestamp
    for header in segment.batches(segment.offset_index.lookup(segment.max_timestamp_offset)):
        if header.max_timestamp == top:
            fallback = (header.last_offset, top)
            return _first_record(segment, header, lambda r: r.timestamp == top, fallback) or fallback
    return None


def _first_record(segment: Segment, header: BatchHeader, wanted,
                  fallback: tuple[int, int]) -> tuple[int, int] | None:
    """The first record of the batch at `header` that `wanted` accepts.

    A batch kgw cannot decode (a codec it lacks) is answered from its
    header alone: `fallback`.
    """
    data = pread_exact(segment.file.fd, header.size, header.position)
    try:
        records = RecordBatch(data).records()
    except DecodeError as exc:
        log.warning("%s: cannot decode the batch at offset %d for a timestamp lookup (%s); "
                    "answering from its header", segment.path, header.base_offset, exc)
        return fallback
    for record in records:
        if wanted(record):
            return record.offset, record.timestamp
    return None
