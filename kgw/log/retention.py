"""Retention: which whole segments go, and the task that applies it.

Kafka's three rules over the oldest segments of a partition, each
deleting a prefix of them: retention.ms by a segment's newest timestamp,
retention.bytes by the partition's total size, and segments wholly below
the log start offset (moved by DeleteRecords).  The first two apply to
topics whose cleanup.policy includes delete.  Retention runs every
log.retention.check.interval.ms (`run_retention`).
"""

import logging
import os
from typing import TYPE_CHECKING, Callable

import trio

from .segment import Segment

if TYPE_CHECKING:
    from .manager import LogManager
    from .partition import PartitionLog

log = logging.getLogger("kgw.log")


def enforce_retention(partition: "PartitionLog", now_ms: int) -> int:
    """Apply the three rules to one partition; the number of segments deleted."""
    config = partition.topic.log_config
    deleted = 0
    if config.delete_policy and config.retention_ms >= 0:
        expired = _leading(partition.segments,
                           lambda s: now_ms - _newest_timestamp(s) > config.retention_ms)
        deleted += partition.delete_oldest(expired, now_ms, f"retention.ms {config.retention_ms}")
    if config.delete_policy and 0 <= config.retention_bytes < partition.size_bytes:
        excess = partition.size_bytes - config.retention_bytes

        def over_size(segment: Segment) -> bool:
            nonlocal excess
            if excess - segment.size < 0:
                return False
            excess -= segment.size
            return True
        deleted += partition.delete_oldest(_leading(partition.segments, over_size), now_ms,
                                           f"retention.bytes {config.retention_bytes}")
    deleted += partition.delete_oldest(below_start(partition), now_ms, "below the log start offset")
    return deleted


def below_start(partition: "PartitionLog") -> int:
    """How many of the oldest segments lie wholly below the log start offset."""
    segments = partition.segments
    count = 0
    while count + 1 < len(segments) and segments[count + 1].base_offset <= partition.log_start_offset:
        count += 1
    return count


def _leading(segments: list[Segment], due: Callable[[Segment], bool]) -> int:
    """How many of the oldest segments are due, stopping at an empty active one."""
    count = 0
    for i, segment in enumerate(segments):
        if (i == len(segments) - 1 and segment.is_empty) or not due(segment):
            break
        count += 1
    return count


def _newest_timestamp(segment: Segment) -> int:
    """Kafka's LogSegment.largestTimestamp: the max timestamp, or the file's mtime without one."""
    if segment.max_timestamp > 0:
        return segment.max_timestamp
    return os.stat(segment.path).st_mtime_ns // 1_000_000


async def run_retention(manager: "LogManager", interval_s: float, *,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Every `interval_s`, delete the segments retention no longer keeps."""
    task_status.started()
    while True:
        await trio.sleep(interval_s)
        deleted = manager.enforce_retention()
        if deleted:
            log.info("retention deleted %d segment(s)", deleted)
