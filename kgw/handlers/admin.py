"""Topic administration: CreateTopics 2-7, DeleteTopics 1-6,
CreatePartitions 0-3 and DeleteRecords 0-2."""

import functools
import logging

import trio

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS

from ..broker import Broker
from ..errors import KafkaError
from ..log import LogError
from . import RequestContext, handles
from .results import each_answered

log = logging.getLogger("kgw.admin")

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
    results = []
    # (result, name, partitions, configs) of the topics Kafka's own checks pass.
    wanted = []
    seen = set()
    requested = 0
    for topic in body.topics:
        result = Result(name=topic.name, error_message=None)
        results.append(result)
        if topic.name in seen:
            result.error_code = ErrorCode.INVALID_REQUEST
            result.error_message = f"Create topic request for {topic.name} appears more than once."
            continue
        seen.add(topic.name)
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
        return CREATE_TOPICS.Response(throttle_time_ms=0, topics=results)
    if body.validate_only:
        outcomes = [p if isinstance(p, LogError) else broker.log.would_be(p) for p in plans]
    else:
        outcomes = await broker.topics.create_topics(creations)
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
    return CREATE_TOPICS.Response(throttle_time_ms=0, topics=results)


@handles(DELETE_TOPICS)
async def delete_topics(broker: Broker, request: Request, context: RequestContext):
    Result = DELETE_TOPICS.Response.DeletableTopicResult
    body = request.body
    if request.api_version >= 6:
        wanted = [(t.name, t.topic_id) for t in body.topics]
    else:
        wanted = [(name, None) for name in body.topic_names]
    results = []
    for name, topic_id in wanted:
        async with broker.topics.lock:
            if name is None:
                topic = broker.log.topic_by_id(topic_id)
                missing = ErrorCode.UNKNOWN_TOPIC_ID
            else:
                topic = broker.log.topic(name)
                missing = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            if topic is None:
                results.append(Result(name=name, topic_id=topic_id, error_code=missing))
                continue
            broker.log.delete_topic(topic.name)
        broker.groups.forget_topic(topic.name)
        log.info("deleted topic %s", topic.name)
        results.append(Result(name=topic.name, topic_id=topic.topic_id, error_code=ErrorCode.NONE))
    return DELETE_TOPICS.Response(throttle_time_ms=0, responses=results)


@handles(CREATE_PARTITIONS)
async def create_partitions(broker: Broker, request: Request, context: RequestContext):
    """As Kafka's controller, a request adding more than 10,000 partitions in
    all is refused whole (every topic that exists: POLICY_VIOLATION)."""
    Result = CREATE_PARTITIONS.Response.CreatePartitionsTopicResult
    body = request.body
    results = []
    # (result, name, count) of the topics to grow.
    wanted = []
    added = 0
    for topic_wanted in body.topics:
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
        return CREATE_PARTITIONS.Response(throttle_time_ms=0, results=results)
    for result, topic_wanted in wanted:
        try:
            await _grow(broker, topic_wanted, body.validate_only)
        except LogError as exc:
            result.error_code, result.error_message = exc.code, exc.message
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
