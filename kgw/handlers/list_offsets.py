"""ListOffsets 1-9: earliest, latest, max-timestamp and by-timestamp lookups.

With isolation level 1 (read_committed, v2+) the last offset a consumer may
read is the last stable offset rather than the high watermark: "latest" is
the LSO, and a lookup that lands at or past it finds nothing, as Kafka's
Partition.fetchOffsetForTimestamp answers.  (On a single node the high
watermark is the log end, so read_uncommitted lookups are never cut.)
Lookups by time decode records, in a worker thread (see kgw.log.timestamps).
"""

import functools
from collections import Counter

import trio

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import LIST_OFFSETS

from ..broker import Broker
from ..errors import KafkaError
from ..log.timestamps import resolve
from . import RequestContext, handles
from .results import each_answered

Response = LIST_OFFSETS.Response
TopicResult = Response.ListOffsetsTopicResponse
PartitionResult = TopicResult.ListOffsetsPartitionResponse

# Kafka's special timestamps (ListOffsetsRequest).
LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5
READ_COMMITTED = 1
ISOLATION_LEVELS = (0, READ_COMMITTED)
FIRST_WITH_ISOLATION = 2

# The first version that knows each special timestamp (Kafka's
# ReplicaManager.timestampMinSupportedVersion).
SPECIAL_TIMESTAMP_SINCE = {LATEST: 1, EARLIEST: 1, MAX_TIMESTAMP: 7, EARLIEST_LOCAL: 8, LATEST_TIERED: 9}
# Any other negative timestamp: no version knows it.
UNKNOWN_SINCE = 0x7FFF
# A current leader epoch of -1 names none (ListOffsetsResponse.UNKNOWN_EPOCH).
NO_EPOCH = -1


@handles(LIST_OFFSETS)
async def list_offsets(broker: Broker, request: Request, context: RequestContext):
    """Kafka's ReplicaManager.fetchOffset: a partition named twice is
    INVALID_REQUEST (answered once), a special timestamp the version does
    not know UNSUPPORTED_VERSION, an unknown isolation level
    UNKNOWN_SERVER_ERROR, then the partition and the leader epoch the client
    knows are checked."""
    committed = request.body.isolation_level == READ_COMMITTED
    version = request.api_version
    counts = Counter((t.name, p.partition_index) for t in request.body.topics for p in t.partitions)
    # (result, partition, timestamp): lookups that decode records, done below.
    by_time: list[tuple] = []

    def answer(topic: str, p):
        if counts[topic, p.partition_index] > 1:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "the partition is named more than once")
        if p.timestamp < 0 and version < SPECIAL_TIMESTAMP_SINCE.get(p.timestamp, UNKNOWN_SINCE):
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, f"timestamp {p.timestamp} needs a newer version")
        if version >= FIRST_WITH_ISOLATION and request.body.isolation_level not in ISOLATION_LEVELS:
            # Kafka cannot read it and fails each partition so.
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR,
                             f"unknown isolation level {request.body.isolation_level}")
        partition_log = broker.log.serving(topic, p.partition_index)
        if p.current_leader_epoch != NO_EPOCH:
            partition_log.check_leader_epoch(p.current_leader_epoch)
        result = PartitionResult(partition_index=p.partition_index, error_code=ErrorCode.NONE,
                                 timestamp=-1, offset=-1, leader_epoch=-1)
        if p.timestamp in (LATEST, EARLIEST, EARLIEST_LOCAL):
            result.offset = (_fetchable(partition_log, committed) if p.timestamp == LATEST
                             else partition_log.log_start_offset)
            result.leader_epoch = partition_log.leader_epoch
        elif p.timestamp != LATEST_TIERED:  # no tiered storage: nothing was tiered
            by_time.append((result, partition_log, p.timestamp))
        return result

    def failed(p, error: KafkaError):
        return PartitionResult(partition_index=p.partition_index, error_code=error.code,
                               timestamp=-1, offset=-1, leader_epoch=-1)

    topics: dict[str, list] = {}
    for wanted in request.body.topics:
        answered = each_answered(wanted.partitions, functools.partial(answer, wanted.name), failed)
        results = topics.setdefault(wanted.name, [])
        seen = {r.partition_index for r in results}
        for result in answered:
            # Kafka answers each partition once, however often it was named.
            if result.partition_index not in seen:
                seen.add(result.partition_index)
                results.append(result)
    for result, partition_log, timestamp in by_time:
        try:
            found = await _by_time(partition_log, timestamp)
            fetchable = _fetchable(partition_log, committed)
        except KafkaError as exc:
            # The partition went away while its batches were read.
            result.error_code = exc.code
            continue
        if found is not None and found[0] < fetchable:
            result.offset, result.timestamp = found
            result.leader_epoch = partition_log.leader_epoch
    return Response(throttle_time_ms=0, topics=[TopicResult(name=name, partitions=partitions)
                                                for name, partitions in topics.items()])


def _fetchable(partition_log, committed: bool) -> int:
    """The end of what a consumer of this isolation level may read."""
    return partition_log.last_stable_offset if committed else partition_log.high_watermark


async def _by_time(partition_log, timestamp: int) -> tuple[int, int] | None:
    """(offset, timestamp) of the record a timestamp lookup finds, or None.

    Reading and inflating the batches runs in a worker thread, so that a
    large (or hostile) compressed batch does not stall the event loop.
    """
    if timestamp == MAX_TIMESTAMP:
        probe = partition_log.max_timestamp_probe()
        if probe is None:
            return None
        return await trio.to_thread.run_sync(resolve, probe) or probe.fallback
    for probe in partition_log.timestamp_probes(timestamp):
        found = await trio.to_thread.run_sync(resolve, probe)
        if found is not None:
            return found
    return None
