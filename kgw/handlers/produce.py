"""Produce 0-10 and InitProducerId 0-4.

Produce v0-2 stay advertised because librdkafka < 2.11.1 turns compression
off unless Produce v0 is in range (census S2, KAFKA-18659), and are refused
per partition with UNSUPPORTED_VERSION as Kafka 4 does: they would carry
message format v0/v1, which kgw does not store.
"""

import functools

import trio

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import INIT_PRODUCER_ID, PRODUCE

from ..broker import Broker
from ..errors import KafkaError
from ..log.errors import RecordErrors
from ..log.partition import CheckedRecords
from ..log.producer_state import AppendOrigin
from ..log.record_checks import INLINE_BUDGET
from . import Later, RequestContext, handles
from .results import each_answered, each_awaited
from .transactions import coordinate

Response = PRODUCE.Response
TopicResult = Response.TopicProduceResponse
PartitionResult = TopicResult.PartitionProduceResponse

OLDEST_RECORD_BATCH_PRODUCE = 3
VALID_ACKS = (-1, 0, 1)


def _result(index: int, code: ErrorCode, message: str | None = None, base_offset: int = -1,
            log_append_time: int = -1, log_start_offset: int = -1):
    return PartitionResult(index=index, error_code=code, base_offset=base_offset,
                           log_append_time_ms=log_append_time, log_start_offset=log_start_offset,
                           record_errors=[], error_message=message)


@handles(PRODUCE)
async def produce(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    refusal = None
    if request.api_version < OLDEST_RECORD_BATCH_PRODUCE:
        refusal = KafkaError(ErrorCode.UNSUPPORTED_VERSION,
                             "Produce v0-2 (message format v0/v1) is not supported")
    elif body.acks not in VALID_ACKS:
        refusal = KafkaError(ErrorCode.INVALID_REQUIRED_ACKS,
                             f"acks must be -1, 0 or 1, not {body.acks}")
    # (result, partition, offset after the append) to be made durable first.
    durable: list[tuple] = []
    # Each partition's records, checked (or why not) before anything is
    # appended, by (topic, partition) as the request names them.
    checked: dict[tuple[str, int], CheckedRecords | KafkaError] = {}
    if refusal is None:
        for topic_data in body.topic_data:
            for data in topic_data.partition_data:
                checked[topic_data.name, data.index] = await _checked(broker, topic_data.name, data)

    def answer(topic: str, data):
        if refusal is not None:
            raise refusal
        records = checked[topic, data.index]
        if isinstance(records, KafkaError):
            raise records
        partition_log = broker.log.serving(topic, data.index)
        appended = partition_log.append_checked(records, transactional_id=body.transactional_id)
        result = _result(data.index, ErrorCode.NONE, base_offset=appended.base_offset,
                         log_append_time=appended.log_append_time_ms,
                         log_start_offset=appended.log_start_offset)
        if broker.flusher.needs_fsync(body.acks):
            # A retried batch too: it is answered as durable as its first write had to be.
            durable.append((result, partition_log, appended.last_offset + 1))
        return result

    def failed(data, error: KafkaError):
        result = _result(data.index, error.code, error.message)
        if isinstance(error, RecordErrors):
            # As Kafka answers a batch refused record by record: each
            # record's error, and the partition's log start offset.
            Indexed = PartitionResult.BatchIndexAndErrorMessage
            result.record_errors = [Indexed(batch_index=index, batch_index_error_message=message)
                                    for index, message in error.errors]
            result.log_start_offset = error.log_start_offset
        return result

    responses = [TopicResult(name=topic_data.name, partition_responses=each_answered(
        topic_data.partition_data, functools.partial(answer, topic_data.name), failed))
        for topic_data in body.topic_data]
    response = None if body.acks == 0 else Response(responses=responses, throttle_time_ms=0)
    if not durable:
        return response

    async def once_durable():
        await each_awaited(
            ((result, functools.partial(broker.flusher.wait_durable, partition_log, end))
             for result, partition_log, end in durable),
            _not_durable)
        return response

    # The appends are done; what is left is waiting for their fsyncs, which
    # later produces on this connection may share.
    return Later(once_durable)


async def _checked(broker: Broker, topic: str, data) -> CheckedRecords | KafkaError:
    """A partition's records checked through, or the error that refuses them.

    The walk of the records inside the batches (inflating them when
    compressed), a compacted topic's keys and recompression cost in
    proportion to the records; past INLINE_BUDGET bytes they go on in a
    worker thread, so that a large or hostile batch does not stall the
    event loop.  The handler awaits it before anything of the request is
    appended, so requests on a connection are still appended in their
    order, while other connections are served meanwhile.
    """
    try:
        partition_log = broker.log.serving(topic, data.index)
        if not data.records:
            raise KafkaError(ErrorCode.CORRUPT_MESSAGE, "no record batch in the request")
        records = partition_log.check(data.records, AppendOrigin.CLIENT)
        if not records.run(INLINE_BUDGET):
            await trio.to_thread.run_sync(records.run, None)
        return records
    except KafkaError as error:
        return error


def _not_durable(result, error: KafkaError) -> None:
    result.error_code, result.error_message = error.code, error.message
    result.base_offset = result.log_append_time_ms = result.log_start_offset = -1


@handles(INIT_PRODUCER_ID)
async def init_producer_id(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Result = INIT_PRODUCER_ID.Response
    if body.transactional_id is None:
        pid, epoch = broker.producer_ids.init_producer(body.producer_id, body.producer_epoch)
        return Result(throttle_time_ms=0, error_code=ErrorCode.NONE, producer_id=pid,
                      producer_epoch=epoch)
    error, ids = await coordinate(request, broker.transactions.init_producer_id(
        body.transactional_id, body.transaction_timeout_ms, body.producer_id, body.producer_epoch))
    pid, epoch = ids if error == ErrorCode.NONE else (-1, -1)
    return Result(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
