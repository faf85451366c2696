"""ListOffsets by time: the first record at or after a timestamp, and the newest record.

These are the only log paths that decode records (Kafka answers with the
exact record, not its batch).  The work is split in two: finding the
batches that may hold the answer (`probes_at_or_after`,
`probe_max_timestamp`) reads indexes and headers on the caller's thread,
where the log lives; looking inside one batch (`resolve`) reads, inflates
and decodes it, touches nothing but the batch's open file, and may run on
any thread, so the broker runs it off the event loop.  How far a batch is
inflated is bounded (`LOOKUP_MAX_INFLATED`): a batch that inflates further
(a decompression bomb) is answered from its header, as one kgw cannot
decode is.
"""

import logging
from typing import Callable, Iterator, NamedTuple

from protocol.errors import DecodeError
from protocol.records import Record, RecordBatch

from .files import OpenFile, pread_exact
from .scan import BatchHeader
from .segment import Segment

log = logging.getLogger("kgw.log")

# The most a lookup inflates one batch to; a legitimate batch of
# max.message.bytes (1 MiB) compresses far less than this.
LOOKUP_MAX_INFLATED = 32 << 20


class Probe(NamedTuple):
    """A batch that may hold the answer, and how to judge its records."""

    file: OpenFile
    header: BatchHeader
    wanted: Callable[[Record], bool]
    # The answer from the header alone, for a batch that cannot be decoded.
    fallback: tuple[int, int]


def probes_at_or_after(segments: list[Segment], timestamp: int, start: int) -> Iterator[Probe]:
    """The batches that may hold the first record at offset >= `start` with a
    timestamp >= `timestamp`, in offset order.

    As Kafka's fetchOffsetByTimestamp: the first segment whose largest
    timestamp reaches it, then the batches there whose max timestamp does.
    """
    for segment in list(segments):
        if segment.max_timestamp < timestamp or segment.next_offset <= start:
            continue
        older = segment.time_index.offset_before(timestamp)
        from_offset = max(segment.base_offset if older is None else older, start)
        for header in segment.batches(segment.offset_index.lookup(from_offset)):
            if header.last_offset < start or header.max_timestamp < timestamp:
                continue
            yield Probe(segment.open_file(), header,
                        lambda r: r.timestamp >= timestamp and r.offset >= start,
                        (max(header.base_offset, start), header.max_timestamp))


def probe_max_timestamp(segments: list[Segment]) -> Probe | None:
    """The batch holding the first record that carries the log's largest timestamp."""
    candidates = [s for s in segments if not s.is_empty]
    if not candidates:
        return None
    segment = max(candidates, key=lambda s: s.max_timestamp)
    top = segment.max_timestamp
    for header in segment.batches(segment.offset_index.lookup(segment.max_timestamp_offset)):
        if header.max_timestamp == top:
            return Probe(segment.open_file(), header, lambda r: r.timestamp == top,
                         (header.last_offset, top))
    return None


def resolve(probe: Probe) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record of the probed batch that it
    wants, or None; safe on any thread."""
    header = probe.header
    data = pread_exact(probe.file.fd, header.size, header.position)
    try:
        records = RecordBatch(data).records(LOOKUP_MAX_INFLATED)
    except DecodeError as exc:
        log.warning("%s: cannot decode the batch at offset %d for a timestamp lookup (%s); "
                    "answering from its header", probe.file.path, header.base_offset, exc)
        return probe.fallback
    for record in records:
        if probe.wanted(record):
            return record.offset, record.timestamp
    return None


def first_resolved(probes: Iterator[Probe]) -> tuple[int, int] | None:
    """The answer of the first probe that has one, resolved on this thread."""
    for probe in probes:
        found = resolve(probe)
        if found is not None:
            return found
    return None
