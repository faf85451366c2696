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

import trio

from protocol.error_codes import ErrorCode
from protocol.messages import FETCH

from ..log import LogError
from . import handles

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
async def fetch(broker, request):
    body = request.body
    if body.session_id != NO_SESSION:
        return _top_level_error(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    if body.session_epoch not in SESSIONLESS_EPOCHS:
        return _top_level_error(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
    deadline = trio.current_time() + max(body.max_wait_ms, 0) / 1000
    while True:
        response, size, errors, keys, sent = _read(broker, request)
        if size >= body.min_bytes or errors or trio.current_time() >= deadline:
            broker.metrics.fetched(sent)
            return response
        woken = trio.Event()
        broker.notifier.register(keys, woken)
        try:
            with trio.move_on_at(deadline):
                await woken.wait()
        finally:
            broker.notifier.unregister(keys, woken)


def _top_level_error(code: ErrorCode):
    return Response(throttle_time_ms=0, error_code=code, session_id=NO_SESSION, responses=[])


def _read(broker, request):
    body = request.body
    by_id = request.api_version >= 13
    committed = body.isolation_level == READ_COMMITTED
    remaining = body.max_bytes
    size = 0
    errors = False
    keys = []
    # (topic, bytes, records) of each partition answered with records.
    sent = []
    responses = []
    for wanted in body.topics:
        topic = broker.log.topic_by_id(wanted.topic_id) if by_id else broker.log.topic(wanted.topic)
        results = []
        responses.append(TopicResult(topic=wanted.topic, topic_id=wanted.topic_id, partitions=results))
        for p in wanted.partitions:
            result = PartitionResult(partition_index=p.partition, error_code=ErrorCode.NONE,
                                     high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                                     aborted_transactions=[] if committed else None,
                                     preferred_read_replica=-1, records=b"")
            results.append(result)
            partition_log = topic.partitions[p.partition] if (
                topic is not None and 0 <= p.partition < len(topic.partitions)) else None
            if partition_log is None:
                result.error_code = (ErrorCode.UNKNOWN_TOPIC_ID if by_id and topic is None
                                     else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                errors = True
                continue
            keys.append((topic.name, p.partition))
            limit = min(p.partition_max_bytes, remaining)
            result.last_stable_offset = stable = partition_log.last_stable_offset
            if limit <= 0 and size:
                result.high_watermark = partition_log.high_watermark
                result.log_start_offset = partition_log.log_start_offset
                continue
            try:
                read = partition_log.read(p.fetch_offset, max(limit, 1),
                                          max_offset=stable if committed else None)
            except LogError as exc:
                result.error_code = exc.code
                result.high_watermark = partition_log.high_watermark
                result.log_start_offset = partition_log.log_start_offset
                errors = True
                continue
            result.high_watermark = read.high_watermark
            result.log_start_offset = read.log_start_offset
            records = read.records
            if records and len(records) > limit and size:
                # Only the first partition with data may go over the limits.
                records = None
            if records:
                if committed:
                    result.aborted_transactions = [
                        AbortedTransaction(producer_id=producer_id, first_offset=first_offset)
                        for producer_id, first_offset in partition_log.aborted_transactions(
                            p.fetch_offset, read.next_offset)]
                result.records = records
                size += len(records)
                remaining = max(remaining - len(records), 0)
                sent.append((topic.name, len(records), read.record_count))
    response = Response(throttle_time_ms=0, error_code=ErrorCode.NONE, session_id=NO_SESSION,
                        responses=responses)
    return response, size, errors, keys, sent
