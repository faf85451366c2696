"""Produce 0-10 and InitProducerId 0-4.

A Produce is checked in Kafka's order (KafkaApis, then ReplicaManager):
the transactional id of transactional records for the whole request; then
per partition that it exists, that its records are one RecordBatch v2
(`check_request_records`), that acks is valid, the records inside the
batch (`_checked`, before anything of the request is appended) and the
append itself. What
a failed partition reports follows Kafka's ReplicaManager: the log start
offset once the append reached the log, an error message only for the
records the log refused one by one (with which records) and for a
partition a transaction did not add.

Produce v0-2 stay advertised because librdkafka < 2.11.1 turns compression
off unless Produce v0 is in range (census S2, KAFKA-18659), but a request
of those versions closes the connection, as Kafka 4 closes it: Kafka 4
cannot parse them (they would carry message format v0/v1, which kgw does
not store either).
"""

import functools
import logging
import struct

import trio

from protocol.compression import Codec
from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.errors import UnsupportedRequest
from protocol.messages import INIT_PRODUCER_ID, PRODUCE
from protocol.records import (
    ATTRIBUTES_OFFSET, CODEC_MASK, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, MIN_BATCH_LENGTH,
    TRANSACTIONAL_MASK,
)

from ..broker import Broker
from ..errors import CloseConnection, KafkaError
from ..log.errors import RecordValidationError
from ..log.partition import CheckedRecords
from ..log.producer_state import AppendOrigin
from ..log.record_checks import INLINE_BUDGET
from ..transactions import TransactionError
from . import Later, RequestContext, handles
from .results import each_answered, each_awaited
from .transactions import coordinate

log = logging.getLogger("kgw.produce")

_SIZE = struct.Struct(">i")
_ATTRIBUTES = struct.Struct(">h")
# Kafka's LegacyRecord.RECORD_OVERHEAD_V0: no batch of any format is smaller.
SMALLEST_RECORD = 14

Response = PRODUCE.Response
TopicResult = Response.TopicProduceResponse
PartitionResult = TopicResult.PartitionProduceResponse

OLDEST_RECORD_BATCH_PRODUCE = 3
OLDEST_ZSTD_PRODUCE = 7
VALID_ACKS = (-1, 0, 1)
# Kafka's ReplicaManager answers a failed append with the partition's log
# start offset, unless the append failed before it reached the log: with
# these errors, or refused by KafkaApis or by the transaction's
# verification (LogAppendInfo.UNKNOWN_LOG_APPEND_INFO).
NOT_IN_THE_LOG = frozenset({
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.MESSAGE_TOO_LARGE,
    ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.CORRUPT_MESSAGE, ErrorCode.KAFKA_STORAGE_ERROR,
})


class Refused(KafkaError):
    """A partition refused before its records reach the log (KafkaApis'
    checks): answered with the code alone, as Kafka's PartitionResponse(error)."""


def _result(index: int, code: ErrorCode, base_offset: int = -1, log_append_time: int = -1,
            log_start_offset: int = -1):
    return PartitionResult(index=index, error_code=code, base_offset=base_offset,
                           log_append_time_ms=log_append_time, log_start_offset=log_start_offset,
                           record_errors=[], error_message=None)


@handles(PRODUCE)
async def produce(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    if request.api_version < OLDEST_RECORD_BATCH_PRODUCE:
        raise UnsupportedRequest(request.api_key, request.api_version, request.correlation_id)
    try:
        transactional = any(_batches(data.records, 1)[1]
                            for topic in body.topic_data for data in topic.partition_data)
    except Refused as exc:
        # Kafka reads each partition's first batch header before anything
        # else; where it cannot, the whole request fails.
        return _refuse_all(body, exc.code)
    if transactional and body.transactional_id is None:
        # Kafka authorizes the transactional id of transactional records
        # next, and refuses the whole request without one.
        return _refuse_all(body, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    # (result, partition, offset after the append) to be made durable first.
    durable: list[tuple] = []
    # Each partition's records, checked (or why not) before anything is
    # appended, by (topic, partition) as the request names them.
    checked: dict[tuple[str, int], CheckedRecords | KafkaError] = {}
    for topic_data in body.topic_data:
        for data in topic_data.partition_data:
            checked[topic_data.name, data.index] = await _checked(
                broker, topic_data.name, data, request.api_version, body.acks)

    def answer(topic: str, data):
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

    def failed(topic: str, data, error: KafkaError):
        result = _result(data.index, error.code)
        if isinstance(error, RecordValidationError):
            # The one failure Kafka explains: which records, and why.
            result.error_message = error.message
            result.record_errors = [PartitionResult.BatchIndexAndErrorMessage(
                batch_index=index, batch_index_error_message=why) for index, why in error.record_errors]
        elif isinstance(error, TransactionError) and error.code == ErrorCode.INVALID_TXN_STATE:
            result.error_message = "Partition was not added to the transaction"
        elif error.code in (ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_MESSAGE):
            # Kafka's answer carries no reason for these; its log has one.
            log.info("Produce to %s-%d refused with %s: %s", topic, data.index, error.code.name,
                     error.message)
        partition_log = broker.log.partition(topic, data.index)
        if not (partition_log is None or isinstance(error, (Refused, TransactionError))
                or error.code in NOT_IN_THE_LOG):
            result.log_start_offset = partition_log.log_start_offset
        return result

    responses = [TopicResult(name=topic_data.name, partition_responses=each_answered(
        topic_data.partition_data, functools.partial(answer, topic_data.name),
        functools.partial(failed, topic_data.name)))
        for topic_data in body.topic_data]
    if body.acks == 0:
        failures = [f"{t.name}-{p.index}: {ErrorCode(p.error_code).name}" for t in responses
                    for p in t.partition_responses if p.error_code != ErrorCode.NONE]
        if failures:
            raise CloseConnection(f"Produce with acks=0 failed ({', '.join(failures)})")
        return None
    response = Response(responses=responses, throttle_time_ms=0)
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


def _refuse_all(body, code: ErrorCode):
    if body.acks == 0:
        raise CloseConnection(f"Produce with acks=0 refused: {code.name}")
    return Response(throttle_time_ms=0, responses=[
        TopicResult(name=topic.name, partition_responses=[_result(data.index, code)
                                                          for data in topic.partition_data])
        for topic in body.topic_data])


def _batches(records, limit: int) -> tuple[int, bool, int]:
    """(how many batches Kafka's batch iterator reads, up to `limit`;
    whether the first is transactional; its codec, -1 if it is not v2).
    Refused with CORRUPT_MESSAGE where that iterator throws: a size below
    any format's minimum, an unknown magic."""
    if not records:
        return 0, False, 0
    view = memoryview(records).cast("B")
    pos = count = 0
    first_attributes = 0
    first_magic = MAGIC_V2
    while count < limit and len(view) - pos >= LOG_OVERHEAD:
        size = _SIZE.unpack_from(view, pos + LENGTH_OFFSET)[0]
        if size < SMALLEST_RECORD:
            raise Refused(ErrorCode.CORRUPT_MESSAGE, f"record size {size} is below any format's minimum")
        if len(view) - pos < MAGIC_OFFSET + 1:
            break
        magic = view[pos + MAGIC_OFFSET]
        if magic > MAGIC_V2:
            raise Refused(ErrorCode.CORRUPT_MESSAGE, f"invalid magic {magic}")
        if len(view) - pos < LOG_OVERHEAD + size:
            break
        if count == 0:
            first_attributes = (_ATTRIBUTES.unpack_from(view, pos + ATTRIBUTES_OFFSET)[0]
                                if magic == MAGIC_V2 and size >= MIN_BATCH_LENGTH else 0)
            first_magic = magic
        count += 1
        pos += LOG_OVERHEAD + size
    if count and first_magic != MAGIC_V2:
        return count, False, -1
    return count, bool(first_attributes & TRANSACTIONAL_MASK), first_attributes & CODEC_MASK


def check_request_records(version: int, records) -> None:
    """Kafka's ProduceRequest.validateRecords: exactly one batch, of
    RecordBatch v2, zstd only from v7; Refused otherwise."""
    count, _, codec = _batches(records, 2)
    if count == 0:
        raise Refused(ErrorCode.INVALID_RECORD, "a partition's records must hold a record batch")
    if codec == -1:
        raise Refused(ErrorCode.INVALID_RECORD, "only record batches of magic 2 are accepted")
    if version < OLDEST_ZSTD_PRODUCE and codec == Codec.ZSTD:
        raise Refused(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
                      f"Produce v{version} may not carry zstd batches (v7+)")
    if count > 1:
        raise Refused(ErrorCode.INVALID_RECORD, "a partition's records must hold exactly one record batch")


async def _checked(broker: Broker, topic: str, data, version: int,
                   acks: int) -> CheckedRecords | KafkaError:
    """A partition's records checked through, or the error that refuses them.

    The walk of the records inside the batch (inflating them when
    compressed), a compacted topic's keys and recompression cost in
    proportion to the records; past INLINE_BUDGET bytes they go on in a
    worker thread, so that a large or hostile batch does not stall the
    event loop.  The handler awaits it before anything of the request is
    appended, so requests on a connection are still appended in their
    order, while other connections are served meanwhile.
    """
    try:
        partition_log = broker.log.serving(topic, data.index)
        check_request_records(version, data.records)
        if acks not in VALID_ACKS:
            raise Refused(ErrorCode.INVALID_REQUIRED_ACKS, f"acks must be -1, 0 or 1, not {acks}")
        records = partition_log.check(data.records, AppendOrigin.CLIENT)
        if not records.run(INLINE_BUDGET):
            await trio.to_thread.run_sync(records.run, None)
        return records
    except KafkaError as error:
        return error


def _not_durable(result, error: KafkaError) -> None:
    result.error_code = error.code
    result.base_offset = result.log_append_time_ms = result.log_start_offset = -1


@handles(INIT_PRODUCER_ID)
async def init_producer_id(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Result = INIT_PRODUCER_ID.Response
    if body.transactional_id is None:
        # Kafka gives an idempotent producer a new id every time, even one
        # that names its old id and epoch to recover (KIP-360).
        return Result(throttle_time_ms=0, error_code=ErrorCode.NONE,
                      producer_id=broker.producer_ids.new_producer_id(), producer_epoch=0)
    error, ids = await coordinate(request, broker.transactions.init_producer_id(
        body.transactional_id, body.transaction_timeout_ms, body.producer_id, body.producer_epoch))
    pid, epoch = ids if error == ErrorCode.NONE else (-1, -1)
    return Result(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
