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
from . import RequestContext, handles
from .results import each_answered

log = logging.getLogger("kgw.fetch")

Response = FETCH.Response
TopicResult = Response.FetchableTopicResponse
PartitionResult = TopicResult.PartitionData
AbortedTransaction = PartitionResult.AbortedTransaction

READ_COMMITTED = 1
# Kafka's FetchRequest.INVALID_SESSION_ID and the epochs a session-less
# client may send (0 opens a session, -1 asks for none).
NO_SESSION = 0
SESSIONLESS_EPOCHS = (0, -1)


@handles(FETCH)
async def fetch(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    if body.session_id != NO_SESSION:
        return _top_level_error(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    if body.session_epoch not in SESSIONLESS_EPOCHS:
        return _top_level_error(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
    deadline = trio.current_time() + max(body.max_wait_ms, 0) / 1000
    while True:
        read = _Read(broker, request)
        if read.size >= body.min_bytes or read.errors or trio.current_time() >= deadline:
            broker.metrics.fetched(read.sent)
            return read.response
        context.release()
        woken = trio.Event()
        broker.notifier.register(read.keys, woken)
        try:
            with trio.move_on_at(deadline):
                await woken.wait()
        finally:
            broker.notifier.unregister(read.keys, woken)


def _top_level_error(code: ErrorCode):
    return Response(throttle_time_ms=0, error_code=code, session_id=NO_SESSION, responses=[])


class _Read:
    """One pass over a Fetch's partitions, within its byte budget."""

    def __init__(self, broker, request):
        body = request.body
        self.broker = broker
        self.by_id = request.api_version >= 13
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
                                 preferred_read_replica=-1, records=b"")
        if topic is None and self.by_id:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, "unknown topic id")
        partition_log = self.broker.log.serving(topic.name if topic else "", p.partition)
        self.keys.append((topic.name, p.partition))
        # The offsets first: a read that fails still reports them.
        result.high_watermark = partition_log.high_watermark
        result.log_start_offset = partition_log.log_start_offset
        result.last_stable_offset = stable = partition_log.last_stable_offset
        limit = min(p.partition_max_bytes, self.remaining)
        if limit <= 0 and self.size:
            return result
        try:
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
            self.errors = True
            result.error_code = exc.code
            return result
        except OSError as exc:
            log.error("cannot read %s-%d: %s", topic.name, p.partition, exc)
            self.errors = True
            result.error_code = ErrorCode.KAFKA_STORAGE_ERROR
            return result
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
        self.errors = True
        return PartitionResult(partition_index=p.partition, error_code=error.code,
                               high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                               aborted_transactions=[] if self.committed else None,
                               preferred_read_replica=-1, records=b"")
