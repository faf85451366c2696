"""Fetch 4-16, with real long-polling.

A fetch that finds fewer than min_bytes waits up to max_wait_ms and is
woken by the first append to one of its partitions. Records are whole
batches from the one containing the fetch offset, handed to the server as
file ranges it sends with sendfile. The first partition that has data may
exceed the size limits by one batch (KIP-74), so a consumer always makes
progress.

Fetch sessions (KIP-227) are answered sessionless (session id 0), which
every client accepts and falls back to full fetches.

Every partition reports its last stable offset (LSO). A read_committed
fetch (isolation level 1) reads only batches below it, and is told of the
aborted transactions overlapping what it got, so the consumer can drop
their records (Kafka's collectAbortedTransactions, bounded by the offset
after the last batch returned). A fetch waiting below the LSO is woken by
the marker's append like by any other, and finds the records then.
"""

import functools
import logging

import trio

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import FETCH

from ..broker import Broker
from ..errors import KafkaError
from ..log import FileRecords
from ..responses import SENDFILE_MIN
from . import Later, RequestContext, handles
from .results import each_answered

log = logging.getLogger("kgw.fetch")

Response = FETCH.Response
TopicResult = Response.FetchableTopicResponse
PartitionResult = TopicResult.PartitionData
AbortedTransaction = PartitionResult.AbortedTransaction

READ_COMMITTED = 1
ISOLATION_LEVELS = (0, READ_COMMITTED)
# Kafka's FetchRequest.INVALID_SESSION_ID and the epochs of a full fetch
# (0 opens a session, -1 asks for none), which kgw answers sessionless.
NO_SESSION = 0
SESSIONLESS_EPOCHS = (0, -1)
# The first version with the epoch of the last batch fetched (KIP-595).
FIRST_WITH_LAST_FETCHED_EPOCH = 12


@handles(FETCH)
async def fetch(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    if body.isolation_level not in ISOLATION_LEVELS:
        # Kafka cannot read the isolation level and fails the request: its
        # error answer names every partition, each UNKNOWN_SERVER_ERROR.
        return _error_response(body, ErrorCode.UNKNOWN_SERVER_ERROR)
    if body.session_epoch not in SESSIONLESS_EPOCHS:
        # An incremental fetch, in a session kgw never opened (it answers
        # every full fetch sessionless, whatever session it names).
        return _top_level_error(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    deadline = trio.current_time() + max(body.max_wait_ms, 0) / 1000
    read = _Read(broker, request)
    if _enough(read, deadline):
        broker.metrics.fetched(read.sent)
        return read.response

    async def long_poll():
        nonlocal read
        while not _enough(read, deadline):
            woken = trio.Event()
            broker.notifier.register(read.keys, woken)
            try:
                with trio.move_on_at(deadline):
                    await woken.wait()
            finally:
                broker.notifier.unregister(read.keys, woken)
            read = _Read(broker, request)
        broker.metrics.fetched(read.sent)
        return read.response

    # The connection goes on with its next request while this one waits.
    return Later(long_poll)


def _enough(read: "_Read", deadline: float) -> bool:
    return (read.size >= read.min_bytes or read.errors
            or trio.current_time() >= deadline)


def _diverging_epoch(partition_log, p):
    """Kafka's check of a consumer's last fetched epoch (Partition.readRecords):
    an epoch the partition never had, or an offset before its start, is out
    of range; an offset beyond the end of that epoch diverges, and the
    consumer is told where the epoch ended instead of given records."""
    end = partition_log.epoch_end_offset(p.last_fetched_epoch)
    if end is None or p.fetch_offset < partition_log.log_start_offset:
        raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                         f"offset {p.fetch_offset} in leader epoch {p.last_fetched_epoch} is out of range")
    if end < p.fetch_offset:
        return PartitionResult.EpochEndOffset(epoch=p.last_fetched_epoch, end_offset=end)
    return None


def _error_response(body, code: ErrorCode):
    """Kafka's FetchRequest.getErrorResponse: the request's error on every partition."""
    response = _top_level_error(code)
    response.responses = [TopicResult(topic=t.topic, topic_id=t.topic_id, partitions=[
        PartitionResult(partition_index=p.partition, error_code=code, high_watermark=-1, last_stable_offset=-1,
                        log_start_offset=-1, aborted_transactions=[], preferred_read_replica=-1, records=b"")
        for p in t.partitions]) for t in body.topics]
    return response


def _top_level_error(code: ErrorCode):
    return Response(throttle_time_ms=0, error_code=code, session_id=NO_SESSION, responses=[])


# The tagged fields' defaults, shared by every partition answered: a Fetch
# of thousands of partitions would otherwise build three objects for each
# (most of the cost of a result). Never mutated: a partition that has one
# of these to say gets an object of its own.
_UNSET_TAGGED = {"diverging_epoch": PartitionResult.EpochEndOffset._default(),
                 "current_leader": PartitionResult.LeaderIdAndEpoch._default(),
                 "snapshot_id": PartitionResult.SnapshotId._default()}


class _Read:
    """One pass over a Fetch's partitions, within its byte budget."""

    def __init__(self, broker, request):
        body = request.body
        self.broker = broker
        self.version = request.api_version
        self.by_id = request.api_version >= 13
        self.min_bytes = body.min_bytes
        self.committed = body.isolation_level == READ_COMMITTED
        self.remaining = body.max_bytes
        self.size = 0
        self.errors = False
        # The partitions read, for the notifier to wake a long poll.
        self.keys: list[tuple[str, int]] = []
        # (topic, bytes, records) of each partition answered with records.
        self.sent: list[tuple[str, int, int]] = []
        self.response = Response(throttle_time_ms=0, error_code=ErrorCode.NONE,
                                 session_id=NO_SESSION, responses=[
                                     self._topic(wanted) for wanted in body.topics])

    def _topic(self, wanted):
        log = self.broker.log
        topic = log.topic_by_id(wanted.topic_id) if self.by_id else log.topic(wanted.topic)
        return TopicResult(topic=wanted.topic, topic_id=wanted.topic_id, partitions=each_answered(
            wanted.partitions, functools.partial(self._partition, topic), self._failed))

    def _partition(self, topic, p):
        result = PartitionResult(partition_index=p.partition, error_code=ErrorCode.NONE,
                                 high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                                 aborted_transactions=[] if self.committed else None,
                                 preferred_read_replica=-1, records=b"", **_UNSET_TAGGED)
        if topic is None and self.by_id:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, "unknown topic id")
        partition_log = self.broker.log.serving(topic.name if topic else "", p.partition)
        self.keys.append((topic.name, p.partition))
        result.high_watermark = partition_log.high_watermark
        result.log_start_offset = partition_log.log_start_offset
        result.last_stable_offset = stable = partition_log.last_stable_offset
        limit = min(p.partition_max_bytes, self.remaining)
        try:
            if limit < 0:
                # Kafka's log read refuses a negative size (an
                # IllegalArgumentException, so UNKNOWN_SERVER_ERROR).
                raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"invalid read size {limit}")
            if p.current_leader_epoch >= 0:
                partition_log.check_leader_epoch(p.current_leader_epoch)
            if self.version >= FIRST_WITH_LAST_FETCHED_EPOCH and p.last_fetched_epoch >= 0:
                diverging = _diverging_epoch(partition_log, p)
                if diverging is not None:
                    result.diverging_epoch = diverging
                    result.aborted_transactions = None
                    return result
            if limit <= 0 and self.size:
                return result
            read = partition_log.read(p.fetch_offset, max(limit, 1),
                                      max_offset=stable if self.committed else None)
            found = read.records
            if found and len(found) > limit and self.size:
                # Only the first partition with data may go over the limits.
                found = None
            records: FileRecords | bytes | None = found
            if found and len(found) < SENDFILE_MIN:
                # Copied now, as the writer would copy it anyway: a FileRange
                # holds its segment's descriptor until the response is
                # written, and a fetch of thousands of partitions would hold
                # thousands.
                records = found.read_bytes()
        except KafkaError as exc:
            # Kafka's read that fails (an offset out of range) reports no
            # offsets and no aborted transactions (createLogReadResult).
            self.errors = True
            return _failed_read(p.partition, exc.code)
        except OSError as exc:
            log.error("cannot read %s-%d: %s", topic.name, p.partition, exc)
            self.errors = True
            return _failed_read(p.partition, ErrorCode.KAFKA_STORAGE_ERROR)
        result.high_watermark = read.high_watermark
        result.log_start_offset = read.log_start_offset
        if records:
            if self.committed:
                result.aborted_transactions = [
                    AbortedTransaction(producer_id=producer_id, first_offset=first_offset)
                    for producer_id, first_offset in partition_log.aborted_transactions(
                        p.fetch_offset, read.next_offset)]
            result.records = records
            self.size += len(records)
            self.remaining = max(self.remaining - len(records), 0)
            self.sent.append((topic.name, len(records), read.record_count))
        return result

    def _failed(self, p, error: KafkaError):
        # A partition Kafka refuses before reading (unknown topic or
        # partition) is answered with FetchResponse.partitionResponse, whose
        # aborted transactions are an empty list, not null.
        self.errors = True
        return PartitionResult(partition_index=p.partition, error_code=error.code,
                               high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                               aborted_transactions=[], preferred_read_replica=-1, records=b"")


def _failed_read(index: int, code: ErrorCode):
    return PartitionResult(partition_index=index, error_code=code, high_watermark=-1, last_stable_offset=-1,
                           log_start_offset=-1, aborted_transactions=None, preferred_read_replica=-1,
                           records=b"")
