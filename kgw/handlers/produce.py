"""Produce 0-10 and InitProducerId 0-4.

Produce v0-2 stay advertised because librdkafka < 2.11.1 turns compression
off unless Produce v0 is in range (census S2, KAFKA-18659), and are refused
per partition with UNSUPPORTED_VERSION as Kafka 4 does: they would carry
message format v0/v1, which kgw does not store.
"""

from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.messages import INIT_PRODUCER_ID, PRODUCE
from protocol.records import iter_batches

from ..log import LogError
from ..producers import ProducerError
from ..transactions import TransactionError
from . import handles
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
async def produce(broker, request):
    body = request.body
    refusal = None
    if request.api_version < OLDEST_RECORD_BATCH_PRODUCE:
        refusal = (ErrorCode.UNSUPPORTED_VERSION, "Produce v0-2 (message format v0/v1) is not supported")
    elif body.acks not in VALID_ACKS:
        refusal = (ErrorCode.INVALID_REQUIRED_ACKS, f"acks must be -1, 0 or 1, not {body.acks}")

    durable_waits = []
    responses = []
    for topic_data in body.topic_data:
        results = []
        responses.append(TopicResult(name=topic_data.name, partition_responses=results))
        for data in topic_data.partition_data:
            if refusal:
                results.append(_result(data.index, *refusal))
                continue
            result, wait = _append(broker, topic_data.name, data, body.acks, body.transactional_id)
            results.append(result)
            if wait:
                durable_waits.append(wait)
    for partition_log, end_offset in durable_waits:
        await broker.flusher.wait_durable(partition_log, end_offset)
    if body.acks == 0:
        return None
    return Response(responses=responses, throttle_time_ms=0)


def _append(broker, topic: str, data, acks: int, transactional_id: str | None):
    partition_log = broker.log.partition(topic, data.index)
    if partition_log is None:
        return _result(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                       f"unknown topic or partition {topic}-{data.index}"), None
    records = data.records
    if not records:
        return _result(data.index, ErrorCode.CORRUPT_MESSAGE, "no record batch in the request"), None
    key = (topic, data.index)
    try:
        batches = list(iter_batches(records))
    except DecodeError:
        # Not even framed: the log's validation names the precise error.
        batches = []
    try:
        if batches:
            _check_transaction(broker, transactional_id, batches[0], key, partition_log)
            duplicate_of = broker.producers.check(key, partition_log, batches)
            if duplicate_of is not None:
                # A retry of a batch already written: acknowledge it again,
                # once it is as durable as its first write had to be.
                end = duplicate_of + sum(b.last_offset_delta + 1 for b in batches)
                wait = (partition_log, end) if broker.flusher.needs_fsync(acks) else None
                return _result(data.index, ErrorCode.NONE, base_offset=duplicate_of,
                               log_start_offset=partition_log.log_start_offset), wait
        appended = partition_log.append(records)
    except (LogError, ProducerError, TransactionError) as exc:
        return _result(data.index, exc.code, exc.message), None
    broker.producers.appended(key, batches, appended.base_offset, appended.log_append_time_ms)
    broker.notifier.appended(topic, data.index)
    broker.metrics.produced(topic, len(records), appended.last_offset + 1 - appended.base_offset)
    wait = None
    if broker.flusher.needs_fsync(acks):
        wait = (partition_log, appended.last_offset + 1)
    return _result(data.index, ErrorCode.NONE, base_offset=appended.base_offset,
                   log_append_time=appended.log_append_time_ms,
                   log_start_offset=appended.log_start_offset), wait


def _check_transaction(broker, transactional_id: str | None, batch, key, partition_log) -> None:
    if not batch.is_transactional:
        if batch.producer_id >= 0 and partition_log.ongoing_transaction(batch.producer_id) is not None:
            # Kafka's ProducerStateManager expects the rest of an open
            # transaction to be transactional too.
            raise TransactionError(ErrorCode.INVALID_TXN_STATE,
                                   f"producer {batch.producer_id} has an open transaction in "
                                   f"{key[0]}-{key[1]}: its batches must be transactional")
        return
    if transactional_id is None:
        # Kafka asks for the transactional id's authorization first.
        raise TransactionError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                               "a transactional batch needs the producer's transactional id")
    broker.transactions.check_produce(transactional_id, batch.producer_id, batch.producer_epoch, key)


@handles(INIT_PRODUCER_ID)
async def init_producer_id(broker, request):
    body = request.body
    Result = INIT_PRODUCER_ID.Response
    if body.transactional_id is None:
        pid, epoch = broker.producers.init_producer(body.producer_id, body.producer_epoch)
        return Result(throttle_time_ms=0, error_code=ErrorCode.NONE, producer_id=pid,
                      producer_epoch=epoch)
    error, ids = await coordinate(request, broker.transactions.init_producer_id(
        body.transactional_id, body.transaction_timeout_ms, body.producer_id, body.producer_epoch))
    pid, epoch = ids if error == ErrorCode.NONE else (-1, -1)
    return Result(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
