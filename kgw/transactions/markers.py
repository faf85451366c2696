"""Writing a transaction's end markers to its partitions."""

import logging

import trio

from ..log import LogError, LogManager
from ..log.durability import Flusher
from ..producers import ProducerRegistry

log = logging.getLogger("kgw.transactions")

# Markers are made as durable as an acks=all write.
ACKS_ALL = -1


class MarkerWriter:
    def __init__(self, log_manager: LogManager, flusher: Flusher, notifier,
                 producers: ProducerRegistry):
        self._log = log_manager
        self._flusher = flusher
        self._notifier = notifier
        self._producers = producers

    async def __call__(self, producer_id: int, producer_epoch: int, commit: bool,
                       partitions: set[tuple[str, int]], only_open: bool) -> None:
        """One marker per partition, durable before returning. With
        `only_open`, only where the producer's transaction is still open
        (after a restart, some markers may already be written). A deleted
        partition needs none; one that cannot be written is logged and
        skipped, as it cannot serve reads either."""
        written = []
        for topic, index in sorted(partitions):
            partition_log = self._log.partition(topic, index)
            if partition_log is None:
                continue
            try:
                if only_open and partition_log.ongoing_transaction(producer_id) is None:
                    continue
                appended = partition_log.append_marker(producer_id, producer_epoch, commit)
            except LogError as exc:
                log.error("cannot write the %s marker of producer %d to %s-%d: %s",
                          "commit" if commit else "abort", producer_id, topic, index, exc)
                continue
            self._producers.marker_written((topic, index), partition_log, producer_id,
                                           producer_epoch)
            self._notifier.appended(topic, index)
            written.append((partition_log, appended.last_offset + 1))
        if self._flusher.needs_fsync(ACKS_ALL):
            # Concurrently: the partitions' fsyncs run in threads of their own.
            async with trio.open_nursery() as nursery:
                for partition_log, end in written:
                    nursery.start_soon(self._wait_durable, producer_id, partition_log, end)

    async def _wait_durable(self, producer_id: int, partition_log, end: int) -> None:
        try:
            await self._flusher.wait_durable(partition_log, end)
        except LogError as exc:
            log.error("marker of producer %d in %r is not durable: %s", producer_id,
                      partition_log, exc)
