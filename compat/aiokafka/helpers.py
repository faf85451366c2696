"""Shared helpers for the aiokafka compat tests.

aiokafka is imported defensively: when it is missing, conftest's autouse
fixture turns every test into a skip (or, with KGW_REQUIRE_CLIENTS=1, a
failure) before any of these names is used.
"""

import asyncio
import time
from pathlib import Path

from .. import harness

try:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka import errors
except ImportError:  # pragma: no cover - see the module docstring
    AIOKafkaConsumer = AIOKafkaProducer = TopicPartition = None
    AIOKafkaAdminClient = NewPartitions = NewTopic = RecordsToDelete = None
    ConfigResource = ConfigResourceType = errors = None

# Short client timeouts keep a failing test from hanging the CI budget;
# none of them is short enough to fire on a healthy local broker.
REQUEST_TIMEOUT_MS = 10_000
# A bound on how long a consume loop keeps polling, never an assertion.
CONSUME_DEADLINE_S = 15


def run(coro):
    """Drive one asyncio test body to completion on a fresh loop."""
    return asyncio.run(coro)


def producer(bootstrap: str, **overrides) -> "AIOKafkaProducer":
    options = dict(bootstrap_servers=bootstrap, linger_ms=5, request_timeout_ms=REQUEST_TIMEOUT_MS,
                   retry_backoff_ms=50)
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer(bootstrap: str, **overrides) -> "AIOKafkaConsumer":
    options = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                   auto_offset_reset="earliest", fetch_max_wait_ms=100,
                   request_timeout_ms=REQUEST_TIMEOUT_MS, retry_backoff_ms=50)
    options.update(overrides)
    return AIOKafkaConsumer(**options)


def admin(bootstrap: str) -> "AIOKafkaAdminClient":
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)


async def eventually(read, expected):
    """`await read()` once it returns `expected`, or what it last returned
    after harness.SETTLE_TIMEOUT_S: a read after an admin change, which
    Kafka's broker applies a moment after answering it."""
    deadline = time.monotonic() + harness.SETTLE_TIMEOUT_S
    while (got := await read()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return got


async def partitions_of(client: "AIOKafkaAdminClient", topic: str) -> list[int]:
    """The topic's partitions as DescribeTopics lists them ([] while unknown)."""
    [described] = await client.describe_topics([topic])
    return sorted(p["partition"] for p in described["partitions"])


async def create_topic(bootstrap: str, name: str, partitions: int = 1, configs=None) -> None:
    client = admin(bootstrap)
    await client.start()
    try:
        response = await client.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
        assert [(t[0], t[1]) for t in response.topic_errors] == [(name, 0)], response
        wanted = list(range(partitions))
        assert await eventually(lambda: partitions_of(client, name), wanted) == wanted
    finally:
        await client.close()


async def consume(cons: "AIOKafkaConsumer", count: int) -> list:
    """Poll until `count` records arrived (or the deadline passed); returns
    them in (partition, offset) order, which for one partition is log order."""
    records = []
    deadline = time.monotonic() + CONSUME_DEADLINE_S
    while len(records) < count and time.monotonic() < deadline:
        batches = await cons.getmany(timeout_ms=200)
        for tp_records in batches.values():
            records.extend(tp_records)
    records.sort(key=lambda r: (r.partition, r.offset))
    return records


async def consume_partition(bootstrap: str, tp: "TopicPartition", count: int) -> list:
    """`count` records of one partition, from the beginning, with a consumer of its own."""
    cons = consumer(bootstrap)
    await cons.start()
    try:
        cons.assign([tp])
        return await consume(cons, count)
    finally:
        await cons.stop()


def summary(records) -> list[tuple]:
    """What a test compares: everything a record carries except the CRC."""
    return [(r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp, r.timestamp_type)
            for r in records]


def stored_batches(data_dir: Path, topic: str, partition: int) -> list:
    """The RecordBatches kgw keeps on disk for one partition, as (codec,
    base offset, record count, producer id, producer epoch, base sequence)."""
    return [(b.compression.name, b.base_offset, b.record_count, b.producer_id, b.producer_epoch,
             b.base_sequence) for b in harness.stored_batches(data_dir, topic, partition)]
