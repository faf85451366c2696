"""Offsets the tools look up and set: a partition's offsets by time
(ListOffsets) and a group's committed offsets (OffsetFetch, OffsetCommit)."""

from collections import defaultdict

from protocol.messages import LIST_OFFSETS, OFFSET_COMMIT, OFFSET_FETCH

from .client import Cluster, Connection, TopicInfo, check

# ListOffsets' special timestamps.
EARLIEST = -2
LATEST = -1
NO_OFFSET = -1
# Isolation levels of ListOffsets and Fetch.
READ_UNCOMMITTED = 0
READ_COMMITTED = 1

TopicPartition = tuple[str, int]


def list_offsets(cluster: Cluster, info: TopicInfo, partitions, timestamp: int,
                 isolation_level: int = READ_UNCOMMITTED) -> dict[int, int]:
    """Per partition, the offset for `timestamp` (EARLIEST, LATEST or ms since the
    epoch): the first record at or after that time, NO_OFFSET if there is none.
    read_committed's LATEST is the last stable offset."""
    by_leader = defaultdict(list)
    for p in partitions:
        by_leader[cluster.leader(info, p)].append(p)
    Topic = LIST_OFFSETS.Request.ListOffsetsTopic
    result = {}
    for leader, parts in by_leader.items():
        body = cluster.node(leader).call(LIST_OFFSETS, LIST_OFFSETS.Request(
            replica_id=-1, isolation_level=isolation_level, topics=[Topic(name=info.name, partitions=[
                Topic.ListOffsetsPartition(partition_index=p, timestamp=timestamp)
                for p in parts])]))
        for t in body.topics:
            for p in t.partitions:
                check(p.error_code, f"offsets of partition {p.partition_index} of {t.name!r}")
                result[p.partition_index] = p.offset
    return result


def offset_ranges(cluster: Cluster, info: TopicInfo, partitions,
                  isolation_level: int = READ_UNCOMMITTED) -> dict[int, tuple[int, int]]:
    """Per partition, (log start offset, log end offset); the end is the last
    stable offset for read_committed."""
    partitions = list(partitions)
    starts = list_offsets(cluster, info, partitions, EARLIEST)
    ends = list_offsets(cluster, info, partitions, LATEST, isolation_level)
    return {p: (starts[p], ends[p]) for p in partitions}


def fetch_committed(conn: Connection, group: str,
                    topics: dict[str, list[int]] | None) -> dict[TopicPartition, int]:
    """`group`'s committed offsets for `topics` (None: all it has), without the
    partitions it has none for."""
    version = conn.version(OFFSET_FETCH)
    if topics is None:
        wanted = None
    elif version >= 8:
        wanted = [OFFSET_FETCH.Request.OffsetFetchRequestGroup.OffsetFetchRequestTopics(
            name=name, partition_indexes=parts) for name, parts in topics.items()]
    else:
        wanted = [OFFSET_FETCH.Request.OffsetFetchRequestTopic(name=name, partition_indexes=parts)
                  for name, parts in topics.items()]
    if version >= 8:
        body = conn.call(OFFSET_FETCH, OFFSET_FETCH.Request(groups=[
            OFFSET_FETCH.Request.OffsetFetchRequestGroup(group_id=group, topics=wanted)]), version)
        answer = body.groups[0]
        error, answered_topics = answer.error_code, answer.topics
    else:
        body = conn.call(OFFSET_FETCH, OFFSET_FETCH.Request(group_id=group, topics=wanted), version)
        error, answered_topics = body.error_code, body.topics
    check(error, f"committed offsets of group {group!r}")
    committed = {}
    for t in answered_topics:
        for p in t.partitions:
            check(p.error_code,
                  f"committed offset of group {group!r} for {t.name}:{p.partition_index}")
            if p.committed_offset != NO_OFFSET:
                committed[t.name, p.partition_index] = p.committed_offset
    return dict(sorted(committed.items()))


def commit(conn: Connection, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` for `group` as a client outside the group does:
    generation -1 and no member id, which a broker accepts only while the
    group has no members."""
    by_topic = defaultdict(list)
    Topic = OFFSET_COMMIT.Request.OffsetCommitRequestTopic
    for (topic, partition), offset in sorted(offsets.items()):
        by_topic[topic].append(Topic.OffsetCommitRequestPartition(
            partition_index=partition, committed_offset=offset, committed_metadata=""))
    body = conn.call(OFFSET_COMMIT, OFFSET_COMMIT.Request(
        group_id=group, generation_id_or_member_epoch=-1, member_id="",
        topics=[Topic(name=name, partitions=parts) for name, parts in by_topic.items()]))
    for t in body.topics:
        for p in t.partitions:
            check(p.error_code,
                  f"committing group {group!r}'s offset for {t.name}:{p.partition_index}")
