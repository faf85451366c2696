"""Writing a transaction's end markers to its partitions."""

import logging

import trio

from ..errors import KafkaError
from ..log import LogManager
from ..log.durability import Flusher

log = logging.getLogger("kgw.transactions")

# Markers are made as durable as an acks=all write.
ACKS_ALL = -1
# The epoch of kgw's one transaction coordinator, which its markers carry.
COORDINATOR_EPOCH = 0


class MarkerWriter:
    def __init__(self, log_manager: LogManager, flusher: Flusher):
        self._log = log_manager
        self._flusher = flusher

    async def __call__(self, producer_id: int, producer_epoch: int, commit: bool,
                       partitions: set[tuple[str, int]], only_open: bool) -> None:
        """The coordinator's markers: one per partition, durable before
        returning. With `only_open`, only where the producer's transaction
        is still open (after a restart, some markers may already be
        written). A deleted partition needs none; one that cannot be written
        is logged and skipped, as it cannot serve reads either."""
        written = []
        for topic, index in sorted(partitions):
            partition_log = self._log.partition(topic, index)
            if partition_log is None:
                continue
            try:
                if only_open and partition_log.ongoing_transaction(producer_id) is None:
                    continue
                written.append((partition_log, self.write(
                    partition_log, producer_id, producer_epoch, commit)))
            except KafkaError as exc:
                log.error("cannot write the %s marker of producer %d to %s-%d: %s",
                          "commit" if commit else "abort", producer_id, topic, index, exc)
        for (partition_log, _), error in zip(written, await self.until_durable(written)):
            if error is not None:
                log.error("marker of producer %d in %r is not durable: %s", producer_id,
                          partition_log, error)

    @staticmethod
    def write(partition_log, producer_id: int, producer_epoch: int, commit: bool,
              coordinator_epoch: int = COORDINATOR_EPOCH) -> int:
        """Append one marker; the offset after it. Raises KafkaError."""
        appended = partition_log.append_marker(producer_id, producer_epoch, commit,
                                               coordinator_epoch=coordinator_epoch)
        return appended.last_offset + 1

    async def until_durable(self, written: list[tuple]) -> list[KafkaError | None]:
        """Wait until each (partition, offset after its marker) is as durable
        as an acks=all write; the error of each, or None. The partitions'
        fsyncs run concurrently, in threads of their own."""
        errors: list[KafkaError | None] = [None] * len(written)
        if not self._flusher.needs_fsync(ACKS_ALL):
            return errors

        async def wait(i: int, partition_log, end: int) -> None:
            try:
                await self._flusher.wait_durable(partition_log, end)
            except KafkaError as exc:
                errors[i] = exc

        async with trio.open_nursery() as nursery:
            for i, (partition_log, end) in enumerate(written):
                nursery.start_soon(wait, i, partition_log, end)
        return errors
