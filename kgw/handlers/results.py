"""Answering one item at a time, so that a KafkaError costs only its item.

A Produce, Fetch or ListOffsets request names many partitions, a
DescribeConfigs many resources; Kafka answers each with its own error
code.  `each_answered` owns that loop: whatever `answer` raises as a
KafkaError (an unknown or offline partition, a fenced producer, a failed
fsync) becomes that item's result through `failed`, and the others are
answered as usual.  A handler built on it cannot let such an error escape
and cost the client its connection.
"""

from typing import Awaitable, Callable, Iterable, TypeVar

import trio

from ..errors import KafkaError

Item = TypeVar("Item")
Result = TypeVar("Result")


def each_answered(items: Iterable[Item], answer: Callable[[Item], Result],
                  failed: Callable[[Item, KafkaError], Result]) -> list[Result]:
    """`answer(item)` for each item, or `failed(item, error)` where it raised one."""
    results = []
    for item in items:
        try:
            results.append(answer(item))
        except KafkaError as exc:
            results.append(failed(item, exc))
    return results


async def each_awaited(waits: Iterable[tuple[Item, Callable[[], Awaitable[None]]]],
                       failed: Callable[[Item, KafkaError], None]) -> None:
    """Run every `wait()` concurrently; `failed(item, error)` for each that
    raised a KafkaError (Produce's fsyncs, one per partition)."""
    async def run(item, wait) -> None:
        try:
            await wait()
        except KafkaError as exc:
            failed(item, exc)

    async with trio.open_nursery() as nursery:
        for item, wait in waits:
            nursery.start_soon(run, item, wait)
