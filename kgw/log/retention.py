"""The background task that applies retention (Kafka's log.retention.check.interval.ms)."""

import logging

import trio

from .manager import LogManager

log = logging.getLogger("kgw.log")


async def run_retention(manager: LogManager, interval_s: float, *,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Every `interval_s`, delete the segments retention no longer keeps."""
    task_status.started()
    while True:
        await trio.sleep(interval_s)
        deleted = manager.enforce_retention()
        if deleted:
            log.info("retention deleted %d segment(s)", deleted)
