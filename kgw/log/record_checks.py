"""Checking the records inside batches whose headers and CRCs already passed.

One function, `walk_batch`, decides whether a batch's records are sound,
for every path that needs to know: a Produce before anything is written
(`RecordsCheck`), and the offline tools (`kgw log check`, `kgw log dump`,
through `check_batch`), so that they agree with each other and with what
the broker would accept.  What is checked is `protocol.record_walk`'s;
here the batch is inflated first when compressed, as a stream
(`protocol.compression.inflate_chunks`) of at most `INFLATE_LIMIT` bytes,
so a decompression bomb costs a chunk of memory and the CPU of inflating
the limit, then fails.

The answers, as Apache Kafka 4.4 gives them where it refuses the same
batch: INVALID_RECORD for records that do not match their batch
(Kafka's InvalidRecordException), and for a record longer than the
topic's max.decompressed.message.bytes.  Kafka answers
UNKNOWN_SERVER_ERROR where its validation fails with an unexpected
exception (a codec id it does not know, data that does not inflate),
which says nothing to a client; kgw answers INVALID_RECORD there too.
A batch inflating past INFLATE_LIMIT, which Kafka would accept, gets
MESSAGE_TOO_LARGE (the Java producer then splits the batch and retries).
"""

from typing import Generator, Iterator

from protocol.compression import CHUNK_SIZE, Codec, InflateLimitExceeded, inflate_chunks
from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.record_walk import ACCELERATED, RecordWalk, WalkSummary
from protocol.records import RECORDS_OFFSET

from .errors import LogError
from .scan import BatchHeader

# The most a compressed batch is inflated to check its records.  Producers
# fill batches to batch.size (16 KiB in Java, 1 MB in librdkafka, of
# compressed or uncompressed bytes), so a legitimate batch inflates to a
# few MiB at most; a batch past this is a bomb or a mistake.
INFLATE_LIMIT = 64 << 20
# How many record bytes a Produce walks on the event loop before the rest
# of the walk moves to a worker thread: about a millisecond of work.
INLINE_BUDGET = (1 << 20) if ACCELERATED else (64 << 10)


def walk_batch(batch: memoryview, header: BatchHeader,
               max_record: int | None = None) -> Generator[int, None, WalkSummary]:
    """Walk the records of `batch` (exactly one batch's bytes), yielding the
    record bytes walked after each piece and returning the walk's summary;
    LogError at the first problem.
    `max_record` bounds each record of a compressed batch (Kafka's
    max.decompressed.message.bytes)."""
    codec_id = header.codec
    try:
        codec = Codec(codec_id)
    except ValueError:
        raise _invalid(f"unknown compression codec {codec_id}") from None
    walk = RecordWalk(header.record_count, None if codec is Codec.NONE else max_record)
    payload = batch[RECORDS_OFFSET:]
    try:
        if codec is Codec.NONE:
            for start in range(0, len(payload), CHUNK_SIZE):
                piece = payload[start:start + CHUNK_SIZE]
                walk.feed(piece)
                yield len(piece)
        else:
            for inflated in inflate_chunks(codec, payload, INFLATE_LIMIT):
                walk.feed(inflated)
                yield len(inflated)
        return walk.finish()
    except InflateLimitExceeded:
        raise LogError(ErrorCode.MESSAGE_TOO_LARGE,
                       f"the {codec.name.lower()} batch at offset {header.base_offset} inflates "
                       f"past {INFLATE_LIMIT} bytes, the most kgw inflates a batch to check it") from None
    except DecodeError as exc:
        what = "records" if codec is Codec.NONE else f"{codec.name.lower()} records"
        raise _invalid(f"{what} of the batch at offset {header.base_offset}: {exc}") from None


def check_batch(batch: memoryview, header: BatchHeader, max_record: int | None = None) -> WalkSummary:
    """`walk_batch` to the end, at once; for the tools."""
    steps = walk_batch(batch, header, max_record)
    while True:
        try:
            next(steps)
        except StopIteration as end:
            return end.value


class RecordsCheck:
    """The records of a Produce's batches (validated headers, positions in
    `view`), walked a budget at a time: `run(budget)` walks on until about
    `budget` more bytes are walked and says whether it is done; `run(None)`
    finishes, on any thread (nothing but the buffer is touched)."""

    def __init__(self, view: memoryview, headers: list[BatchHeader], max_record: int):
        self._steps = self._walk(view, headers, max_record)
        self.done = False

    @staticmethod
    def _walk(view: memoryview, headers: list[BatchHeader], max_record: int) -> Iterator[int]:
        for header in headers:
            yield from walk_batch(view[header.position:header.end], header, max_record)

    def run(self, budget: int | None) -> bool:
        walked = 0
        for size in self._steps:
            walked += size
            if budget is not None and walked >= budget:
                return False
        self.done = True
        return True


def _invalid(message: str) -> LogError:
    return LogError(ErrorCode.INVALID_RECORD, message)
