"""One task's worth of timers: session, join, sync and retention deadlines.

Kafka keeps these in purgatories with a timing wheel; kgw has at most a few
thousand of them, so a heap ordered by deadline does. A cancelled timer stays
in the heap until its deadline comes round and is then skipped. A timer put
off to later (a member's session, on every heartbeat and commit) only has its
deadline moved: its heap entry, found early, is pushed back once. So a busy
member costs one heap entry per session timeout, not one per heartbeat.

Deadlines are on trio's clock, so `trio.testing.MockClock` drives them in
tests. Callbacks run in the queue's own task and never await: together with
handlers that never await between reading and writing group state, that keeps
each group's state in one owner's hands at a time.
"""

import heapq
import itertools
import logging
import math
from typing import Callable

import trio

log = logging.getLogger("kgw.groups")


class Timer:
    __slots__ = ("deadline", "callback", "active")

    def __init__(self, deadline: float, callback: Callable[[], None]):
        self.deadline = deadline
        self.callback = callback
        self.active = True

    def cancel(self) -> None:
        self.active = False


class TimerQueue:
    def __init__(self):
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._rescheduled: trio.Event | None = None

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(trio.current_time() + max(delay_ms, 0) / 1000, callback)
        self._push(timer.deadline, timer)
        return timer

    def reschedule(self, timer: Timer, delay_ms: int) -> None:
        """Move an active timer's deadline to `delay_ms` from now."""
        deadline = trio.current_time() + max(delay_ms, 0) / 1000
        if deadline < timer.deadline:
            self._push(deadline, timer)
        timer.deadline = deadline

    def _push(self, deadline: float, timer: Timer) -> None:
        heapq.heappush(self._heap, (deadline, next(self._order), timer))
        if self._heap[0][2] is timer and self._rescheduled is not None:
            self._rescheduled.set()

    async def run(self) -> None:
        while True:
            self._fire_due()
            self._rescheduled = trio.Event()
            deadline = self._heap[0][0] if self._heap else math.inf
            with trio.move_on_at(deadline):
                await self._rescheduled.wait()

    def _fire_due(self) -> None:
        now = trio.current_time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.active:
                continue
            if timer.deadline > now:
                self._push(timer.deadline, timer)
                continue
            timer.active = False
            try:
                timer.callback()
            except Exception:
                # A bug in one group's timer must not stop every other group's.
                log.exception("group timer callback %r failed", timer.callback)
