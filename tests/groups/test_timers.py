"""The coordinator's timer queue."""

import trio

from kgw.groups.timers import TimerQueue

from .harness import trio_test


@trio_test
async def test_timers_fire_in_deadline_order_and_can_be_cancelled_or_moved():
    queue = TimerQueue()
    fired = []

    def record(name):
        return lambda: fired.append((name, trio.current_time()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(queue.run)
        queue.call_later(3000, record("late"))
        cancelled = queue.call_later(1000, record("cancelled"))
        later = queue.call_later(1000, record("postponed"))
        earlier = queue.call_later(5000, record("brought forward"))
        queue.call_later(2000, record("middle"))
        cancelled.cancel()
        queue.reschedule(later, 4000)
        queue.reschedule(earlier, 500)
        await trio.sleep(10)
        # Scheduled while the queue sleeps with nothing due: it wakes.
        queue.call_later(0, record("now"))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert fired == [("brought forward", 0.5), ("middle", 2), ("late", 3), ("postponed", 4),
                     ("now", 10)]
    assert not later.active and not earlier.active


@trio_test
async def test_a_failing_callback_does_not_stop_the_queue():
    queue = TimerQueue()
    fired = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(queue.run)
        queue.call_later(1, lambda: 1 / 0)
        queue.call_later(2, lambda: fired.append("after"))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert fired == ["after"]
