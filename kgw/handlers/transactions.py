"""The transactional producer's APIs: AddPartitionsToTxn 0-3, AddOffsetsToTxn
0-3, EndTxn 0-3 and TxnOffsetCommit 0-3 (InitProducerId is with Produce);
and the admin ones (KIP-664): ListTransactions 0-2, DescribeTransactions 0,
DescribeProducers 0, and WriteTxnMarkers 1-2, with which an admin client
aborts a transaction its coordinator no longer knows.

Versions before PRODUCER_FENCED existed (KIP-588) get INVALID_PRODUCER_EPOCH
in its place, as Kafka answers them.
"""

import functools
import logging
import re
from typing import Any, Awaitable

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, END_TXN,
    INIT_PRODUCER_ID, LIST_TRANSACTIONS, TXN_OFFSET_COMMIT, WRITE_TXN_MARKERS,
)

from ..errors import DEFAULT_MESSAGES, KafkaError
from ..log.topic import check_topic_name
from ..groups import OffsetCommit
from ..transactions import TransactionError
from ..broker import Broker
from . import RequestContext, handles
from .results import each_answered

log = logging.getLogger("kgw.transactions")

# The first version of each API that knows PRODUCER_FENCED.
FENCED_SINCE = {INIT_PRODUCER_ID.key: 4, ADD_PARTITIONS_TO_TXN.key: 2, ADD_OFFSETS_TO_TXN.key: 2,
                END_TXN.key: 2}


async def coordinate(request: Request, call: Awaitable[Any]) -> tuple[ErrorCode, Any]:
    """Await a coordinator call: the error code a client of this version
    understands, and the call's result. A journal that cannot be written
    makes kgw answer as a coordinator that is not available."""
    try:
        return ErrorCode.NONE, await call
    except TransactionError as exc:
        if exc.code == ErrorCode.PRODUCER_FENCED and request.api_version < FENCED_SINCE.get(
                request.api_key, 0):
            return ErrorCode.INVALID_PRODUCER_EPOCH, None
        return exc.code, None
    except OSError as exc:
        log.error("transaction state cannot be written: %s", exc)
        return ErrorCode.COORDINATOR_NOT_AVAILABLE, None


@handles(ADD_PARTITIONS_TO_TXN)
async def add_partitions_to_txn(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    wanted = [(topic.name, partition) for topic in body.v3_and_below_topics
              for partition in topic.partitions]
    unknown = {key for key in wanted if broker.log.partition(*key) is None}
    if unknown:
        # Kafka adds nothing when any partition is unknown.
        errors = {key: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if key in unknown
                  else ErrorCode.OPERATION_NOT_ATTEMPTED for key in wanted}
    else:
        error, _ = await coordinate(request, broker.transactions.add_partitions(
            body.v3_and_below_transactional_id, body.v3_and_below_producer_id,
            body.v3_and_below_producer_epoch, wanted))
        errors = dict.fromkeys(wanted, error)
    Topic = ADD_PARTITIONS_TO_TXN.Response.AddPartitionsToTxnTopicResult
    Partition = Topic.AddPartitionsToTxnPartitionResult
    return ADD_PARTITIONS_TO_TXN.Response(throttle_time_ms=0, results_by_topic_v3_and_below=[
        Topic(name=topic.name, results_by_partition=[
            Partition(partition_index=p, partition_error_code=errors[topic.name, p])
            for p in topic.partitions])
        for topic in body.v3_and_below_topics])


@handles(ADD_OFFSETS_TO_TXN)
async def add_offsets_to_txn(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    error, _ = await coordinate(request, broker.transactions.add_offsets(
        body.transactional_id, body.producer_id, body.producer_epoch, body.group_id))
    return ADD_OFFSETS_TO_TXN.Response(throttle_time_ms=0, error_code=error)


@handles(END_TXN)
async def end_txn(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    error, _ = await coordinate(request, broker.transactions.end_transaction(
        body.transactional_id, body.producer_id, body.producer_epoch, body.committed))
    return END_TXN.Response(throttle_time_ms=0, error_code=error)


@handles(TXN_OFFSET_COMMIT)
async def txn_offset_commit(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    keys = [(topic.name, p.partition_index) for topic in body.topics for p in topic.partitions]
    try:
        broker.transactions.check_offset_commit(body.transactional_id, body.producer_id,
                                                body.producer_epoch, body.group_id)
    except TransactionError as exc:
        errors = dict.fromkeys(keys, exc.code)
    else:
        # As for OffsetCommit, partitions that do not exist are answered first.
        entries = [OffsetCommit(topic.name, p.partition_index, p.committed_offset,
                                p.committed_leader_epoch, p.committed_metadata or "")
                   for topic in body.topics for p in topic.partitions
                   if broker.log.partition(topic.name, p.partition_index) is not None]
        committed = await broker.groups.commit_transactional_offsets(
            body.group_id, body.producer_id, body.generation_id, body.member_id,
            body.group_instance_id, entries) if entries else []
        errors = dict.fromkeys(keys, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        errors.update(((e.topic, e.partition), error) for e, error in zip(entries, committed))
    Topic = TXN_OFFSET_COMMIT.Response.TxnOffsetCommitResponseTopic
    Partition = Topic.TxnOffsetCommitResponsePartition
    return TXN_OFFSET_COMMIT.Response(throttle_time_ms=0, topics=[
        Topic(name=topic.name, partitions=[
            Partition(partition_index=p.partition_index,
                      error_code=errors[topic.name, p.partition_index])
            for p in topic.partitions])
        for topic in body.topics])


@handles(LIST_TRANSACTIONS)
async def list_transactions(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = LIST_TRANSACTIONS.Response
    try:
        unknown, found = broker.transactions.list_transactions(
            body.state_filters, body.producer_id_filters, body.duration_filter,
            body.transactional_id_pattern)
    except re.error:
        return Response(throttle_time_ms=0, error_code=ErrorCode.INVALID_REGULAR_EXPRESSION,
                        unknown_state_filters=[], transaction_states=[])
    return Response(throttle_time_ms=0, error_code=ErrorCode.NONE, unknown_state_filters=unknown,
                    transaction_states=[
                        Response.TransactionState(transactional_id=txn.transactional_id,
                                                  producer_id=txn.producer_id,
                                                  transaction_state=txn.state)
                        for txn in found])


@handles(DESCRIBE_TRANSACTIONS)
async def describe_transactions(broker: Broker, request: Request, context: RequestContext):
    State = DESCRIBE_TRANSACTIONS.Response.TransactionState
    states = []
    for transactional_id in request.body.transactional_ids:
        txn = broker.transactions.transactions.get(transactional_id)
        if txn is None:
            # Kafka's coordinator refuses an empty id outright.
            # The other fields keep the defaults of Kafka's message, 0 for
            # the producer id and epoch and the start time.
            states.append(State(error_code=ErrorCode.TRANSACTIONAL_ID_NOT_FOUND if transactional_id
                                else ErrorCode.INVALID_REQUEST,
                                transactional_id=transactional_id, transaction_state="",
                                transaction_timeout_ms=0, transaction_start_time_ms=0,
                                producer_id=0, producer_epoch=0, topics=[]))
            continue
        by_topic: dict[str, list[int]] = {}
        for topic, partition in sorted(txn.partitions):
            by_topic.setdefault(topic, []).append(partition)
        states.append(State(
            error_code=ErrorCode.NONE, transactional_id=transactional_id,
            transaction_state=txn.state, transaction_timeout_ms=txn.timeout_ms,
            transaction_start_time_ms=txn.started_ms, producer_id=txn.producer_id,
            producer_epoch=txn.producer_epoch,
            topics=[State.TopicData(topic=t, partitions=p) for t, p in by_topic.items()]))
    return DESCRIBE_TRANSACTIONS.Response(throttle_time_ms=0, transaction_states=states)


@handles(DESCRIBE_PRODUCERS)
async def describe_producers(broker: Broker, request: Request, context: RequestContext):
    Topic = DESCRIBE_PRODUCERS.Response.TopicResponse
    Partition = Topic.PartitionResponse

    def answer(topic: str, index: int):
        check_topic_name(topic)
        partition_log = broker.log.serving(topic, index)
        return Partition(partition_index=index, error_code=ErrorCode.NONE, error_message=None,
                         active_producers=[Partition.ProducerState(
                             producer_id=pid, producer_epoch=entry.epoch,
                             last_sequence=entry.last_seq, last_timestamp=entry.last_timestamp,
                             coordinator_epoch=entry.coordinator_epoch,
                             current_txn_start_offset=entry.txn_first_offset)
                             for pid, entry in sorted(partition_log.producers().items())])

    def failed(topic: str, index: int, error: KafkaError):
        # Kafka refuses a topic it does not know (or whose name is invalid)
        # with the error's message, but a partition of a topic it knows
        # with the code alone (ReplicaManager.activeProducerState).
        if broker.log.topic(topic) is not None:
            message = None
        else:
            message = DEFAULT_MESSAGES.get(error.code, error.message)
        return Partition(partition_index=index, error_code=error.code, error_message=message,
                         active_producers=[])

    return DESCRIBE_PRODUCERS.Response(throttle_time_ms=0, topics=[
        Topic(name=wanted.name, partitions=each_answered(
            wanted.partition_indexes, functools.partial(answer, wanted.name),
            functools.partial(failed, wanted.name)))
        for wanted in request.body.topics])


@handles(WRITE_TXN_MARKERS)
async def write_txn_markers(broker: Broker, request: Request, context: RequestContext):
    Result = WRITE_TXN_MARKERS.Response.WritableTxnMarkerResult
    Topic = Result.WritableTxnMarkerTopicResult
    Partition = Topic.WritableTxnMarkerPartitionResult
    # (result, partition, offset after the marker) to be made durable.
    written = []

    def answer(marker, topic: str, index: int):
        partition_log = broker.log.serving(topic, index)
        end = broker.markers.write(partition_log, marker.producer_id, marker.producer_epoch,
                                   marker.transaction_result, marker.coordinator_epoch)
        result = Partition(partition_index=index, error_code=ErrorCode.NONE)
        written.append((result, partition_log, end))
        return result

    def failed(index: int, error: KafkaError):
        return Partition(partition_index=index, error_code=error.code)

    results = [Result(producer_id=marker.producer_id, topics=[
        Topic(name=wanted.name, partitions=each_answered(
            wanted.partition_indexes, functools.partial(answer, marker, wanted.name), failed))
        for wanted in marker.topics])
        for marker in request.body.markers]
    # Answered once durable, as Kafka answers its coordinator.
    errors = await broker.markers.until_durable([(p, end) for _, p, end in written])
    for (result, _, _), error in zip(written, errors):
        if error is not None:
            result.error_code = error.code
    return WRITE_TXN_MARKERS.Response(markers=results)
