"""Topic administration: CreateTopics 2-7, DeleteTopics 1-6,
CreatePartitions 0-3 and DeleteRecords 0-2."""

import functools
import logging
from collections import Counter

import trio

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS
from protocol.primitives import NULL_UUID

from ..broker import Broker
from ..errors import DEFAULT_MESSAGES, KafkaError
from ..log import LogError
from . import RequestContext, handles
from .results import each_answered

log = logging.getLogger("kgw.admin")

# Kafka's controller answers a topic named twice in one request once, with
# INVALID_REQUEST, and acts on neither.
DUPLICATE = "Duplicate topic name."


def _repeated(names) -> list[str]:
    """The names given more than once, in order of first appearance."""
    counts = Counter(names)
    return [name for name, count in counts.items() if count > 1]


# Kafka's controller makes at most this many metadata records for one
# request (QuorumController.MAX_RECORDS_PER_USER_OP; KAFKA-17870).
MAX_RECORDS_PER_REQUEST = 10_000


def _replication_error(wanted) -> tuple[ErrorCode, str] | None:
    """kgw is one node: a replica must be node 0, and one replica is all.
    Manual assignments follow Kafka's rules for them."""
    assignments = wanted.assignments
    if not assignments:
        if wanted.replication_factor not in (-1, 1):
            return (ErrorCode.INVALID_REPLICATION_FACTOR,
                    f"Replication factor: {wanted.replication_factor} larger than available brokers: 1.")
        return None
    if wanted.num_partitions != -1 or wanted.replication_factor != -1:
        return (ErrorCode.INVALID_REQUEST, "A manual partition assignment was specified, but "
                "numPartitions or replicationFactor was not set to -1.")
    indexes = sorted(a.partition_index for a in assignments)
    if indexes != list(range(len(assignments))):
        return (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "partitions should be a consecutive 0-based integer sequence")
    for assignment in assignments:
        if assignment.broker_ids != [0]:
            return (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"partition {assignment.partition_index} must be assigned to broker 0 only")
    return None


def _requested_partitions(wanted, default: int) -> int:
    """The partitions a CreateTopics entry asks for, as Kafka's controller
    counts them for its per-request limit (nothing for a nonsensical count)."""
    if wanted.assignments:
        return len(wanted.assignments)
    if wanted.num_partitions == -1:
        return default
    return max(wanted.num_partitions, 0)


@handles(CREATE_TOPICS)
async def create_topics(broker: Broker, request: Request, context: RequestContext):
    """Kafka's checks, then the creations (on a worker thread, see kgw.topic_changes).

    Kafka's controller refuses a whole request, every topic with
    POLICY_VIOLATION, that asks for more than 10,000 partitions, or whose
    topics would take more than 10,000 metadata records (one per topic,
    partition and config); kgw does the same, before creating anything.
    """
    Result = CREATE_TOPICS.Response.CreatableTopicResult
    body = request.body
    if body.timeout_ms < 0:
        # The deadline passed before Kafka's controller got to the request,
        # which it answers REQUEST_TIMED_OUT without acting on it.
        return CREATE_TOPICS.Response(throttle_time_ms=0, topics=[
            Result(name=name, error_code=ErrorCode.REQUEST_TIMED_OUT, error_message=None)
            for name in dict.fromkeys(t.name for t in body.topics)])
    results = []
    duplicates = _repeated(t.name for t in body.topics)
    # (result, name, partitions, configs) of the topics Kafka's own checks pass.
    wanted = []
    requested = 0
    for topic in body.topics:
        if topic.name in duplicates:
            continue
        result = Result(name=topic.name, error_message=None)
        results.append(result)
        requested += _requested_partitions(topic, broker.config.num_partitions)
        problem = _replication_error(topic)
        if problem:
            result.error_code, result.error_message = problem
            continue
        partitions = topic.num_partitions
        if topic.assignments:
            partitions = len(topic.assignments)
        elif partitions == -1:
            partitions = broker.config.num_partitions
        wanted.append((result, topic.name, partitions, {c.name: c.value for c in topic.configs}))
    # Thousands of topics take tens of milliseconds per pass: others' requests
    # are let in between.
    await trio.lowlevel.checkpoint()
    creations = [(name, partitions, configs) for _, name, partitions, configs in wanted]
    plans = broker.log.plan_topics(creations)
    await trio.lowlevel.checkpoint()
    records = sum(1 + p.total + len(p.overrides or ()) for p in plans if not isinstance(p, LogError))
    refusal = None
    if requested > MAX_RECORDS_PER_REQUEST:
        refusal = "Excessively large number of partitions per request."
    elif records > MAX_RECORDS_PER_REQUEST:
        refusal = "Unable to perform excessively large batch operation."
    if refusal is not None:
        for result in results:
            result.error_code, result.error_message = ErrorCode.POLICY_VIOLATION, refusal
    else:
        if body.validate_only:
            outcomes = [p if isinstance(p, LogError) else broker.log.would_be(p) for p in plans]
        else:
            outcomes = await broker.topics.create_topics(creations)
        _answer_created(wanted, outcomes)
    results += [Result(name=name, error_code=ErrorCode.INVALID_REQUEST, error_message=DUPLICATE)
                for name in duplicates]
    return CREATE_TOPICS.Response(throttle_time_ms=0, topics=results)


def _answer_created(wanted, outcomes) -> None:
    Result = CREATE_TOPICS.Response.CreatableTopicResult
    # Topics with the same overrides share one list of configs: describing
    # them is most of the cost of answering thousands of topics.
    described: dict[frozenset, list] = {}
    for (result, _, partitions, _), outcome in zip(wanted, outcomes):
        if isinstance(outcome, LogError):
            result.error_code, result.error_message = outcome.code, outcome.message
            continue
        result.error_code = ErrorCode.NONE
        result.topic_id = outcome.topic_id
        result.num_partitions = partitions
        result.replication_factor = 1
        key = frozenset(outcome.overrides.items())
        if key not in described:
            described[key] = [
                Result.CreatableTopicConfigs(
                    name=entry.name, value=entry.value, read_only=entry.read_only,
                    config_source=entry.source, is_sensitive=entry.sensitive)
                for entry in outcome.describe_configs()]
        result.configs = described[key]


@handles(DELETE_TOPICS)
async def delete_topics(broker: Broker, request: Request, context: RequestContext):
    """Kafka's ControllerApis.deleteTopics: a topic named twice, or by both
    name and id, or by neither, is refused with INVALID_REQUEST and left
    alone; every error carries Kafka's message (v5+)."""
    Result = DELETE_TOPICS.Response.DeletableTopicResult
    body = request.body
    if request.api_version >= 6:
        wanted = [(t.name, t.topic_id) for t in body.topics]
    else:
        wanted = [(name, NULL_UUID) for name in body.topic_names]
    if body.timeout_ms < 0:
        # As for CreateTopics: a deadline already past.
        return DELETE_TOPICS.Response(throttle_time_ms=0, responses=[
            Result(name=name, topic_id=topic_id, error_code=ErrorCode.REQUEST_TIMED_OUT, error_message=None)
            for name, topic_id in dict.fromkeys(wanted)])
    results = []

    def refuse(name, topic_id, code: ErrorCode, message: str) -> None:
        results.append(Result(name=name, topic_id=topic_id, error_code=code, error_message=message))

    names = Counter(name for name, topic_id in wanted if name is not None and topic_id == NULL_UUID)
    ids = Counter(topic_id for name, topic_id in wanted if name is None and topic_id != NULL_UUID)
    for name, topic_id in wanted:
        if name is None and topic_id == NULL_UUID:
            refuse(None, NULL_UUID, ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified.")
        elif name is not None and topic_id != NULL_UUID:
            refuse(name, topic_id, ErrorCode.INVALID_REQUEST, "You may not specify both topic name and topic id.")
    twice_ids = {topic_id for topic_id, count in ids.items() if count > 1}
    for name in _repeated(name for name, topic_id in wanted if name is not None and topic_id == NULL_UUID):
        refuse(name, NULL_UUID, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
    for topic_id in twice_ids:
        refuse(None, topic_id, ErrorCode.INVALID_REQUEST, "Duplicate topic id.")
    # Looked up and deleted in one step, as no other topic change runs meanwhile.
    async with broker.topics.lock:
        doomed: dict = {}
        for topic_id in ids:
            if topic_id in twice_ids:
                continue
            topic = broker.log.topic_by_id(topic_id)
            if topic is None:
                refuse(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID, DEFAULT_MESSAGES[ErrorCode.UNKNOWN_TOPIC_ID])
            else:
                doomed[topic.topic_id] = topic.name
        for name, count in names.items():
            if count > 1:
                continue
            topic = broker.log.topic(name)
            if topic is None:
                refuse(name, NULL_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                       DEFAULT_MESSAGES[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
            elif topic.topic_id in doomed or topic.topic_id in twice_ids:
                doomed.pop(topic.topic_id, None)
                twice_ids.add(topic.topic_id)
                refuse(name, topic.topic_id, ErrorCode.INVALID_REQUEST,
                       "The provided topic name maps to an ID that was already supplied.")
            else:
                doomed[topic.topic_id] = name
        for topic_id, name in doomed.items():
            broker.log.delete_topic(name)
            broker.groups.forget_topic(name)
            log.info("deleted topic %s", name)
            results.append(Result(name=name, topic_id=topic_id, error_code=ErrorCode.NONE, error_message=None))
    return DELETE_TOPICS.Response(throttle_time_ms=0, responses=results)


@handles(CREATE_PARTITIONS)
async def create_partitions(broker: Broker, request: Request, context: RequestContext):
    Result = CREATE_PARTITIONS.Response.CreatePartitionsTopicResult
    body = request.body
    if body.timeout_ms < 0:
        # As for CreateTopics: a deadline already past.
        return CREATE_PARTITIONS.Response(throttle_time_ms=0, results=[
            Result(name=name, error_code=ErrorCode.REQUEST_TIMED_OUT, error_message=None)
            for name in dict.fromkeys(t.name for t in body.topics)])
    results = []
    duplicates = _repeated(t.name for t in body.topics)
    # (result, what is asked) of the topics to grow.
    wanted = []
    added = 0
    for topic_wanted in body.topics:
        if topic_wanted.name in duplicates:
            continue
        result = Result(name=topic_wanted.name, error_code=ErrorCode.NONE)
        results.append(result)
        topic = broker.log.topic(topic_wanted.name)
        if topic is None:
            result.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        added += max(topic_wanted.count - len(topic.partitions), 0)
        wanted.append((result, topic_wanted))
    if added > MAX_RECORDS_PER_REQUEST and not body.validate_only:
        # Kafka checks this limit only when creating, not for validate_only.
        for result, _ in wanted:
            result.error_code = ErrorCode.POLICY_VIOLATION
            result.error_message = "Excessively large number of additional partitions per request."
        wanted = []
    for result, topic_wanted in wanted:
        try:
            await _grow(broker, topic_wanted, body.validate_only)
        except LogError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    results += [Result(name=name, error_code=ErrorCode.INVALID_REQUEST, error_message=DUPLICATE)
                for name in duplicates]
    return CREATE_PARTITIONS.Response(throttle_time_ms=0, results=results)


async def _grow(broker: Broker, wanted, validate_only: bool) -> None:
    """Grow one topic as CreatePartitions asks; raises LogError."""
    if wanted.assignments and any(a.broker_ids != [0] for a in wanted.assignments):
        raise LogError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "kgw has one broker, node 0")
    topic = broker.log.topic(wanted.name)
    if topic is None:
        raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{wanted.name}' does not exist.")
    if wanted.count <= len(topic.partitions):
        raise LogError(ErrorCode.INVALID_PARTITIONS,
                       f"Topic currently has {len(topic.partitions)} partitions, which is higher "
                       f"than the requested {wanted.count}.")
    added = wanted.count - len(topic.partitions)
    if wanted.assignments is not None and len(wanted.assignments) != added:
        raise LogError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                       f"Attempted to add {added} additional partition(s), but only "
                       f"{len(wanted.assignments)} assignment(s) were specified.")
    if validate_only:
        broker.log.plan_partitions(wanted.name, wanted.count)
    else:
        await broker.topics.create_partitions(wanted.name, wanted.count)


@handles(DELETE_RECORDS)
async def delete_records(broker: Broker, request: Request, context: RequestContext):
    TopicResult = DELETE_RECORDS.Response.DeleteRecordsTopicResult
    PartitionResult = TopicResult.DeleteRecordsPartitionResult

    def answer(topic: str, p):
        low_watermark = broker.log.serving(topic, p.partition_index).delete_records_before(p.offset)
        return PartitionResult(partition_index=p.partition_index, low_watermark=low_watermark,
                               error_code=ErrorCode.NONE)

    def failed(p, error: KafkaError):
        return PartitionResult(partition_index=p.partition_index, low_watermark=-1,
                               error_code=error.code)

    return DELETE_RECORDS.Response(throttle_time_ms=0, topics=[
        TopicResult(name=wanted.name, partitions=each_answered(
            wanted.partitions, functools.partial(answer, wanted.name), failed))
        for wanted in request.body.topics])
