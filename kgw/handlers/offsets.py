"""Committed offsets: OffsetCommit 2-9, OffsetFetch 1-9 and OffsetDelete 0.

OffsetCommit v2-4 carry a retention time, v6+ the leader epoch, v7+ the
group instance id. OffsetFetch v2+ reads every committed partition of the
group when the topic list is null, and v8+ reads several groups at once.
OffsetFetch's require_stable (v7+) answers UNSTABLE_OFFSET_COMMIT for a
partition with a commit not yet durable or held by an open transaction
(TxnOffsetCommit, served with the transactional APIs), and the client retries.
"""

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH

from ..broker import Broker
from ..groups import OffsetCommit
from . import RequestContext, handles

# The first OffsetCommit version that answers GROUP_ID_NOT_FOUND.
GROUP_ID_NOT_FOUND_SINCE = 9


@handles(OFFSET_COMMIT)
async def offset_commit(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    entries: list[OffsetCommit] = []
    # Kafka refuses partitions that do not exist before asking the coordinator.
    exists = [[broker.log.partition(topic.name, p.partition_index) is not None
               for p in topic.partitions] for topic in body.topics]
    for topic, known in zip(body.topics, exists):
        entries.extend(OffsetCommit(topic.name, p.partition_index, p.committed_offset,
                                    p.committed_leader_epoch, p.committed_metadata or "")
                       for p, found in zip(topic.partitions, known) if found)
    committed = await broker.groups.commit_offsets(
        body.group_id, body.generation_id_or_member_epoch, body.member_id, body.group_instance_id,
        entries, body.retention_time_ms) if entries else []
    if request.api_version < GROUP_ID_NOT_FOUND_SINCE:
        # Kafka keeps ILLEGAL_GENERATION for a member of an unknown group
        # before v9, which older clients understand.
        committed = [ErrorCode.ILLEGAL_GENERATION if e == ErrorCode.GROUP_ID_NOT_FOUND else e
                     for e in committed]
    errors = iter(committed)
    Topic = OFFSET_COMMIT.Response.OffsetCommitResponseTopic
    Partition = Topic.OffsetCommitResponsePartition
    return OFFSET_COMMIT.Response(throttle_time_ms=0, topics=[
        Topic(name=topic.name, partitions=[
            Partition(partition_index=p.partition_index,
                      error_code=next(errors) if found else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            for p, found in zip(topic.partitions, known)])
        for topic, known in zip(body.topics, exists)])


@handles(OFFSET_DELETE)
async def offset_delete(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = OFFSET_DELETE.Response
    # As for OffsetCommit, partitions that do not exist are answered first.
    known = [(topic.name, p.partition_index) for topic in body.topics for p in topic.partitions
             if broker.log.partition(topic.name, p.partition_index) is not None]
    error, errors = await broker.groups.delete_offsets(body.group_id, known)
    if error != ErrorCode.NONE:
        return Response(error_code=error, throttle_time_ms=0, topics=[])
    Topic = Response.OffsetDeleteResponseTopic
    return Response(error_code=ErrorCode.NONE, throttle_time_ms=0, topics=[
        Topic(name=topic.name, partitions=[
            Topic.OffsetDeleteResponsePartition(
                partition_index=p.partition_index,
                error_code=errors.get((topic.name, p.partition_index), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            for p in topic.partitions])
        for topic in body.topics])


@handles(OFFSET_FETCH)
async def offset_fetch(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = OFFSET_FETCH.Response
    if request.api_version >= 8:
        Group = Response.OffsetFetchResponseGroup
        Topic = Group.OffsetFetchResponseTopics
        return Response(throttle_time_ms=0, groups=[
            Group(group_id=group.group_id, error_code=ErrorCode.NONE,
                  topics=_fetched(broker, group.group_id, group.topics, body.require_stable,
                                  Topic, Topic.OffsetFetchResponsePartitions))
            for group in body.groups])
    Topic = Response.OffsetFetchResponseTopic
    return Response(throttle_time_ms=0, error_code=ErrorCode.NONE, topics=_fetched(
        broker, body.group_id, body.topics, body.require_stable, Topic,
        Topic.OffsetFetchResponsePartition))


def _fetched(broker, group_id: str, topics, require_stable: bool, Topic, Partition) -> list:
    """The response topics for `topics` (None: all the group committed).
    A partition never committed reads -1 with empty metadata, as in Kafka."""
    wanted = None if topics is None else [
        (topic.name, partition) for topic in topics for partition in topic.partition_indexes]
    by_topic: dict[str, list] = {}
    for topic, partition, committed in broker.groups.fetch_offsets(group_id, wanted):
        if require_stable and broker.groups.is_unstable(group_id, topic, partition):
            error, committed = ErrorCode.UNSTABLE_OFFSET_COMMIT, None
        else:
            error = ErrorCode.NONE
        by_topic.setdefault(topic, []).append(Partition(
            partition_index=partition, error_code=error,
            committed_offset=committed.offset if committed else -1,
            committed_leader_epoch=committed.leader_epoch if committed else -1,
            metadata=committed.metadata if committed else ""))
    return [Topic(name=name, partitions=partitions) for name, partitions in by_topic.items()]
