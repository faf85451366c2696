"""When appends reach the disk: kgw's --flush policy and group commit.

Modes (BrokerDefaults.flush / `kgw serve --flush`):

- `acks` (default): an acks=all Produce is answered only once its data is
  fsynced; acks=1 and acks=0 appends are answered once written to the page
  cache, which survives a crash of kgw but not of the machine.
- `always`: every append is fsynced before it is answered, whatever acks.
- `interval:<ms>`: a background task fsyncs every partition with new data
  every <ms>; answers never wait.
- `never`: kgw fsyncs only at shutdown; the OS writes back when it likes.

Group commit: at most one fsync round runs per partition at a time, and it
covers everything appended before it started.  A waiter whose data arrived
while a round was running waits for that round, then one of the waiters
starts the next round, which covers all of them.  So N concurrent acks=all
producers cost far fewer than N fsyncs.

Outside `never`, the background task also fsyncs segments closed by a roll
(as Kafka flushes a rolled segment) and periodically checkpoints recovery
points, so an unclean start re-validates only recent data.
"""

import logging

import trio

from .config import parse_flush_mode
from .errors import LogError
from .flushing import FlushNotRun
from .manager import LogManager
from .partition import PartitionLog

log = logging.getLogger("kgw.log")

# How often the background task looks for rolled segments to fsync when no
# interval is configured, and how often it checkpoints recovery points
# (Kafka's log.flush.offset.checkpoint.interval.ms is 60 s).
BACKGROUND_PERIOD_S = 1.0
CHECKPOINT_INTERVAL_S = 60.0


class Flusher:
    """The fsync policy of one LogManager: `Flusher(broker_config.flush, log_manager)`."""

    def __init__(self, mode: str, manager: LogManager, *,
                 period_s: float = BACKGROUND_PERIOD_S,
                 checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S):
        self.mode = parse_flush_mode(mode)
        self.manager = manager
        interval_ms = self.mode.interval_ms
        self.period_s = interval_ms / 1000 if interval_ms is not None else period_s
        self.checkpoint_interval_s = checkpoint_interval_s
        self._running: dict[PartitionLog, trio.Event] = {}
        # fsync rounds started, for tests and metrics.
        self.rounds = 0

    def needs_fsync(self, acks: int) -> bool:
        """Whether a Produce with this acks must `wait_durable` before it is answered."""
        return self.mode.kind == "always" or (self.mode.kind == "acks" and acks == -1)

    async def wait_durable(self, partition: PartitionLog, end_offset: int) -> None:
        """Return once every offset of `partition` below `end_offset` is fsynced.

        `end_offset` is an append's last offset + 1.  Raises LogError if the
        fsync fails (the partition then goes offline) or the partition was
        deleted meanwhile.
        """
        partition.ensure_available()
        if end_offset > partition.log_end_offset:
            raise ValueError(f"offset {end_offset} is past the log end {partition.log_end_offset}")
        while partition.recovery_point < end_offset:
            running = self._running.get(partition)
            if running is not None:
                await running.wait()
            else:
                await self._flush(partition)

    async def _flush(self, partition: PartitionLog) -> None:
        job = partition.begin_flush()
        if job is None:
            return
        done = trio.Event()
        self._running[partition] = done
        self.rounds += 1
        try:
            await trio.to_thread.run_sync(job.run)
        except FlushNotRun as exc:
            raise partition.abort_flush(job, exc) from exc
        except OSError as exc:
            raise partition.fail_flush(job, exc) from exc
        else:
            partition.end_flush(job)
        finally:
            del self._running[partition]
            done.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """The background task: interval fsyncs, rolled segments, recovery checkpoints."""
        kind = self.mode.kind
        task_status.started()
        if kind == "never":
            await trio.sleep_forever()
        last_checkpoint = trio.current_time()
        while True:
            await trio.sleep(self.period_s)
            for partition in list(self.manager.partitions()):
                due = partition.needs_flush if kind == "interval" else partition.needs_background_flush
                if partition.offline is None and due and partition not in self._running:
                    try:
                        await self._flush(partition)
                    except LogError as exc:
                        log.error("background flush of %s failed: %s", partition, exc.message)
            if trio.current_time() - last_checkpoint >= self.checkpoint_interval_s:
                last_checkpoint = trio.current_time()
                data = self.manager.recovery_checkpoint()
                try:
                    await trio.to_thread.run_sync(self.manager.write_recovery_checkpoint, data)
                except OSError as exc:
                    log.error("cannot write the recovery checkpoint: %s", exc)
