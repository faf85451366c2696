"""ListOffsets 1-9: earliest, latest, max-timestamp and by-timestamp lookups.

With isolation level 1 (read_committed, v2+) the last offset a consumer may
read is the last stable offset rather than the high watermark: "latest" is
the LSO, and a lookup that lands at or past it finds nothing, as Kafka's
Partition.fetchOffsetForTimestamp answers.  (On a single node the high
watermark is the log end, so read_uncommitted lookups are never cut.)
Lookups by time decode records, in a worker thread (see kgw.log.timestamps).
"""

import functools

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


@handles(LIST_OFFSETS)
async def list_offsets(broker: Broker, request: Request, context: RequestContext):
    committed = request.body.isolation_level == READ_COMMITTED
    # (result, partition, timestamp): lookups that decode records, done below.
    by_time: list[tuple] = []

    def answer(topic: str, p):
        partition_log = broker.log.serving(topic, p.partition_index)
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

    topics = [TopicResult(name=wanted.name, partitions=each_answered(
        wanted.partitions, functools.partial(answer, wanted.name), failed))
        for wanted in request.body.topics]
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
    return Response(throttle_time_ms=0, topics=topics)


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
