"""Changes to topics, one at a time, with their file work off the event loop.

Kafka's controller applies topic changes one after another; so does kgw:
creating topics, adding partitions, deleting topics and altering their
configs all hold `lock`, so none sees another half-done.  Reads (Metadata,
Produce, Fetch) never wait for it: a creation is registered in one step on
the loop's thread, after its files were made on a worker thread.

A large CreateTopics is made in batches of about BATCH_PARTITIONS
partitions, and the lock is let go between batches, so that a client
auto-creating a topic meanwhile waits for one batch, not for the request.
Each topic is checked again when its batch comes (another change may have
come first) and is made whole or not at all.
"""

import logging
import threading
from typing import Any, Callable

import trio

from .log import LogError, LogManager, Topic
from .log.creation import Creation

log = logging.getLogger("kgw.topics")

# Partitions made per batch: tens of milliseconds of file work (an fsync
# per partition directory) on this machine's disk.
BATCH_PARTITIONS = 64


class TopicChanges:
    def __init__(self, log_manager: LogManager):
        self.log = log_manager
        # Held by every change of topics, for as short as it can be.
        self.lock = trio.Lock()

    async def create_topics(self, wanted: list[tuple[str, int, dict[str, str]]],
                            ) -> list[Topic | LogError]:
        """Create each (name, partitions, configs), in order: its topic, or why not."""
        outcomes: list[Topic | LogError] = []
        for batch in self._batches(wanted):
            async with self.lock:
                outcomes += await self._make(self.log.plan_topics(batch))
        return outcomes

    def check_topics(self, wanted: list[tuple[str, int, dict[str, str]]],
                     ) -> list[Topic | LogError]:
        """What `create_topics` would answer now, making nothing (validate-only)."""
        return [p if isinstance(p, LogError) else self.log.would_be(p)
                for p in self.log.plan_topics(wanted)]

    async def create_partitions(self, name: str, total: int) -> Topic:
        """Grow a topic to `total` partitions; raises LogError."""
        async with self.lock:
            (outcome,) = await self._make([self.log.plan_partitions(name, total)])
        if isinstance(outcome, LogError):
            raise outcome
        return outcome

    async def topic_or_create(self, name: str, partitions: int) -> Topic | None:
        """The topic, created with `partitions` if there is none (auto-creation);
        None if it may not be created.  Raises LogError for a name Kafka refuses."""
        topic = self.log.topic(name)
        if topic is not None:
            return topic
        async with self.lock:
            topic = self.log.topic(name)
            if topic is not None:
                return topic
            (outcome,) = await self._make(self.log.plan_topics([(name, partitions, {})]))
        if isinstance(outcome, LogError):
            raise outcome
        return outcome

    async def _make(self, plans: list[Creation | LogError]) -> list[Topic | LogError]:
        """Build the plans on a worker thread, then register them here.

        The thread is waited for even if the request is cancelled, and
        what it made is registered before the cancellation takes effect,
        so what is on disk and what the broker serves agree.
        """
        creations = [p for p in plans if isinstance(p, Creation)]
        if creations:
            await _in_a_thread_of_its_own(self.log.build, creations)
        made = iter(self.log.register(creations))
        return [p if isinstance(p, LogError) else next(made) for p in plans]

    def _batches(self, wanted: list[tuple[str, int, dict[str, str]]]):
        batch: list[tuple[str, int, dict[str, str]]] = []
        size = 0
        for item in wanted:
            count = self.log.defaults.num_partitions if item[1] == -1 else max(item[1], 1)
            if batch and size + count > BATCH_PARTITIONS:
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += count
        if batch:
            yield batch


async def _in_a_thread_of_its_own(fn: Callable[[Any], None], arg: Any) -> None:
    """`fn(arg)` on a new thread, waited for even if cancelled meanwhile.

    Not trio's worker threads: those idle on for seconds after their job,
    and an embedded broker's stop() must leave no thread behind.
    """
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn(arg)
        except BaseException as exc:
            failure.append(exc)
        finally:
            trio.from_thread.run_sync(done.set, trio_token=token)

    thread = threading.Thread(target=run, name="kgw topic creation", daemon=True)
    thread.start()
    with trio.CancelScope(shield=True):
        await done.wait()
    thread.join()
    if failure:
        raise failure[0]
