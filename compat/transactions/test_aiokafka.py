"""aiokafka 0.14: the transactional AIOKafkaProducer and read_committed
AIOKafkaConsumer against kgw (KIP-98). aiokafka has no init_transactions():
start() sends InitProducerId with the transactional id. The scenarios and
their expected offsets are in _util.py; FINDINGS.md has what was learned."""

import asyncio
import time

import pytest

from .. import harness
from ..harness import committed_offsets
from . import _util as u

REQUEST_TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def _aiokafka():
    harness.require("aiokafka")


def run(coro):
    return asyncio.run(coro)


async def txn_producer(bootstrap, tid, **overrides):
    """A started transactional producer (start() initialises the transactional id)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=tid, linger_ms=5,
                                request_timeout_ms=REQUEST_TIMEOUT_MS, retry_backoff_ms=50, **overrides)
    await producer.start()
    return producer


async def send(producer, topic, partition, values):
    """Send values (key "k-" + value) and return their offsets once acknowledged."""
    futures = [await producer.send(topic, key=f"k-{v}".encode(), value=v.encode(), partition=partition)
               for v in values]
    return [(await f).offset for f in futures]


def row(record):
    return (record.partition, record.offset, record.key.decode(), record.value.decode())


def consumer(bootstrap, isolation, **overrides):
    from aiokafka import AIOKafkaConsumer

    options = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                   auto_offset_reset="earliest", fetch_max_wait_ms=100, request_timeout_ms=REQUEST_TIMEOUT_MS,
                   retry_backoff_ms=50, isolation_level=isolation)
    options.update(overrides)
    return AIOKafkaConsumer(**options)


async def read_to(c, ends):
    """Poll an assigned consumer until each partition's position reaches its
    end ({TopicPartition: offset}); the rows it returned, in order."""
    got = []
    deadline = time.monotonic() + u.DEADLINE_S
    while True:
        positions = {tp: await c.position(tp) for tp in ends}
        if all(positions[tp] >= end for tp, end in ends.items()):
            return sorted(got)
        assert time.monotonic() < deadline, f"consumer stuck at {positions}, expected {ends}"
        for records in (await c.getmany(*ends, timeout_ms=200)).values():
            got.extend(row(r) for r in records)


async def read(bootstrap, topic, ends, isolation):
    """A fresh consumer reads the partitions of `ends` ({partition: end})
    from the beginning to their ends: (rows, {partition: position after})."""
    from aiokafka import TopicPartition

    c = consumer(bootstrap, isolation)
    await c.start()
    try:
        tps = {TopicPartition(topic, p): end for p, end in ends.items()}
        c.assign(list(tps))
        await c.seek_to_beginning(*tps)
        got = await read_to(c, tps)
        return got, {tp.partition: await c.position(tp) for tp in tps}
    finally:
        await c.stop()


async def end_offsets(bootstrap, topic, partitions, isolation):
    """AIOKafkaConsumer.end_offsets, which asks at the consumer's isolation level."""
    from aiokafka import TopicPartition

    c = consumer(bootstrap, isolation)
    await c.start()
    try:
        ends = await c.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await c.stop()


async def ends_both(bootstrap, topic, partitions):
    return (await end_offsets(bootstrap, topic, partitions, "read_committed"),
            await end_offsets(bootstrap, topic, partitions, "read_uncommitted"))


@pytest.mark.kgw_topic(partitions=2)
def test_commit_over_two_partitions(kgw_broker, kgw_topic, txn_id):
    bootstrap = kgw_broker.bootstrap

    async def scenario():
        producer = await txn_producer(bootstrap, txn_id)
        try:
            async with producer.transaction():
                offsets = {p: await send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN1.items()}
            assert offsets == {0: [0, 1, 2], 1: [0, 1]}
            assert await ends_both(bootstrap, kgw_topic, 2) == (u.COMMIT_ENDS1, u.COMMIT_ENDS1)
            assert await read(bootstrap, kgw_topic, u.COMMIT_ENDS1, "read_committed") == (
                u.COMMIT_ROWS1, u.COMMIT_ENDS1)

            await producer.begin_transaction()
            offsets = {p: await send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN2.items()}
            await producer.commit_transaction()
            assert offsets == {0: [4, 5], 1: [3]}
        finally:
            await producer.stop()
        assert await ends_both(bootstrap, kgw_topic, 2) == (u.COMMIT_ENDS2, u.COMMIT_ENDS2)
        for isolation in ("read_committed", "read_uncommitted"):
            assert await read(bootstrap, kgw_topic, u.COMMIT_ENDS2, isolation) == (
                u.COMMIT_ROWS_ALL, u.COMMIT_ENDS2), isolation

    run(scenario())
    for p in (0, 1):
        assert u.log_layout(kgw_broker.data_dir, kgw_topic, p) == u.COMMIT_LAYOUT[p]


def test_abort_then_commit(kgw_broker, kgw_topic, txn_id):
    bootstrap = kgw_broker.bootstrap
    ends = {0: u.ABORT_END}

    async def scenario():
        producer = await txn_producer(bootstrap, txn_id)
        try:
            await producer.begin_transaction()
            assert await send(producer, kgw_topic, 0, u.ABORTED) == [0, 1, 2]
            await producer.abort_transaction()
            async with producer.transaction():
                assert await send(producer, kgw_topic, 0, u.COMMITTED) == [4, 5]
        finally:
            await producer.stop()
        assert await read(bootstrap, kgw_topic, ends, "read_committed") == (u.ABORT_COMMITTED_ROWS, ends)
        assert await read(bootstrap, kgw_topic, ends, "read_uncommitted") == (u.ABORT_ALL_ROWS, ends)
        assert await ends_both(bootstrap, kgw_topic, 1) == (ends, ends)

    run(scenario())
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT


def test_open_transaction_holds_back_the_last_stable_offset(kgw_broker, kgw_topic, txn_id):
    from aiokafka import AIOKafkaProducer, TopicPartition

    bootstrap = kgw_broker.bootstrap
    tp = TopicPartition(kgw_topic, 0)
    stable, high = u.LSO_WHILE_OPEN["stable"], u.LSO_WHILE_OPEN["high"]

    async def scenario():
        producer = await txn_producer(bootstrap, txn_id)
        waiting = consumer(bootstrap, "read_committed")
        try:
            async with producer.transaction():
                assert await send(producer, kgw_topic, 0, u.LSO_FIRST) == [0, 1]
            await producer.begin_transaction()
            assert await send(producer, kgw_topic, 0, u.LSO_OPEN) == [3, 4, 5]
            plain = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
            await plain.start()
            try:
                assert await send(plain, kgw_topic, 0, u.LSO_PLAIN) == [6]
            finally:
                await plain.stop()

            assert await ends_both(bootstrap, kgw_topic, 1) == ({0: stable}, {0: high})
            assert await read(bootstrap, kgw_topic, {0: high}, "read_uncommitted") == (u.LSO_ALL_ROWS, {0: high})
            await waiting.start()
            waiting.assign([tp])
            await waiting.seek_to_beginning(tp)
            assert await read_to(waiting, {tp: stable}) == u.LSO_FIRST_ROWS
            assert await waiting.getmany(timeout_ms=1500) == {}  # nothing until the commit
            assert await waiting.position(tp) == stable
            # The last fetch's view of the partition: high watermark and LSO.
            assert (waiting.highwater(tp), waiting.last_stable_offset(tp)) == (high, stable)

            await producer.commit_transaction()
            assert await read_to(waiting, {tp: u.LSO_END}) == u.LSO_LATER_ROWS
        finally:
            await waiting.stop()
            await producer.stop()
        assert await ends_both(bootstrap, kgw_topic, 1) == ({0: u.LSO_END}, {0: u.LSO_END})

    run(scenario())
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.LSO_LAYOUT


def test_consume_transform_produce(kgw_broker, kgw_topic, output_topic, txn_id, group_id):
    from aiokafka import AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import OffsetAndMetadata

    bootstrap = kgw_broker.bootstrap
    tp = TopicPartition(kgw_topic, 0)

    async def scenario():
        plain = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        producer = await txn_producer(bootstrap, txn_id)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        await plain.start()
        await admin.start()
        members = []

        async def member():
            c = consumer(bootstrap, "read_committed", group_id=group_id)
            members.append(c)
            await c.start()
            c.subscribe([kgw_topic])
            return c

        async def process(c, count, commit):
            got = []
            deadline = time.monotonic() + u.DEADLINE_S
            while len(got) < count:
                assert time.monotonic() < deadline, f"only {got}"
                for records in (await c.getmany(timeout_ms=200)).values():
                    got.extend(row(r) for r in records)
            await producer.begin_transaction()
            out = await send(producer, output_topic, 0, [u.transformed(r[3]) for r in got])
            await producer.send_offsets_to_transaction({tp: got[-1][1] + 1}, group_id)
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
            return sorted(got), out

        async def group_offsets():
            return {t.partition: o for t, o in (await admin.list_consumer_group_offsets(group_id)).items()}

        try:
            assert await send(plain, kgw_topic, 0, u.CTP_INPUT1) == [0, 1, 2]
            c = await member()
            assert await process(c, 3, commit=True) == (u.CTP_INPUT_ROWS1, [0, 1, 2])
            assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
            assert await group_offsets() == {0: OffsetAndMetadata(3, "")}
            assert await c.committed(tp) == 3

            assert await send(plain, kgw_topic, 0, u.CTP_INPUT2) == [3, 4]
            assert await process(c, 2, commit=False) == (u.CTP_INPUT_ROWS2, [4, 5])
            assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
            assert await group_offsets() == {0: OffsetAndMetadata(3, "")}
            await c.stop()

            # A new member of the group resumes at the offset the aborted round left.
            c = await member()
            assert await process(c, 2, commit=True) == (u.CTP_INPUT_ROWS2, [7, 8])
            assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 5}
            assert await group_offsets() == {0: OffsetAndMetadata(5, "")}
            await c.stop()

            ends = {0: u.CTP_OUTPUT_END}
            assert await read(bootstrap, output_topic, ends, "read_committed") == (
                u.CTP_OUTPUT_COMMITTED_ROWS, ends)
            assert await read(bootstrap, output_topic, ends, "read_uncommitted") == (u.CTP_OUTPUT_ALL_ROWS, ends)
        finally:
            for c in members:
                await c.stop()
            await admin.close()
            await producer.stop()
            await plain.stop()

    run(scenario())
    assert u.log_layout(kgw_broker.data_dir, output_topic) == u.CTP_OUTPUT_LAYOUT


def test_fencing(kgw_broker, kgw_topic, txn_id):
    from aiokafka.errors import ProducerFenced

    bootstrap = kgw_broker.bootstrap
    ends = {0: u.FENCE_END}

    async def scenario():
        made = []

        async def start():
            producer = await txn_producer(bootstrap, txn_id)
            made.append(producer)
            return producer

        try:
            a = await start()
            async with a.transaction():
                assert await send(a, kgw_topic, 0, ["f0"]) == [0]
            await a.begin_transaction()
            assert await send(a, kgw_topic, 0, ["f1"]) == [2]

            # B's start() (InitProducerId) aborts A's open transaction and fences A.
            b = await start()
            assert u.stable_and_high(bootstrap, kgw_topic) == {0: (4, 4)}
            with pytest.raises(ProducerFenced):
                await a.commit_transaction()
            async with b.transaction():
                assert await send(b, kgw_topic, 0, ["f2"]) == [4]

            # C fences B while B has no transaction open: B's next one fails.
            c = await start()
            await b.begin_transaction()
            with pytest.raises(ProducerFenced):
                await send(b, kgw_topic, 0, ["f3"])
            # aiokafka quirk: once fenced, its transaction state machine is in
            # FATAL_ERROR and commit_transaction() trips its own assertion
            # instead of raising ProducerFenced again (FINDINGS.md).
            with pytest.raises(AssertionError, match="FATAL_ERROR -> TransactionState.COMMITTING_TRANSACTION"):
                await b.commit_transaction()
            assert u.stable_and_high(bootstrap, kgw_topic) == {0: (6, 6)}  # f3 was not written
            async with c.transaction():
                assert await send(c, kgw_topic, 0, ["f4"]) == [6]
        finally:
            for producer in made:
                await producer.stop()
        assert await read(bootstrap, kgw_topic, ends, "read_committed") == (u.FENCE_COMMITTED_ROWS, ends)
        assert await read(bootstrap, kgw_topic, ends, "read_uncommitted") == (u.FENCE_ALL_ROWS, ends)

    run(scenario())
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.FENCE_LAYOUT


def test_transaction_timeout(kgw_broker, kgw_topic, txn_id):
    from aiokafka.errors import ProducerFenced

    bootstrap = kgw_broker.bootstrap
    after = (u.TIMEOUT_AFTER_ABORT["stable"], u.TIMEOUT_AFTER_ABORT["high"])
    ends = {0: u.TIMEOUT_END}

    async def scenario():
        producer = await txn_producer(bootstrap, txn_id, transaction_timeout_ms=u.SHORT_TXN_TIMEOUT_MS)
        try:
            await producer.begin_transaction()
            assert await send(producer, kgw_topic, 0, u.TIMEOUT_OPEN) == [0, 1]
            assert u.stable_and_high(bootstrap, kgw_topic) == {0: (0, 2)}
            deadline = time.monotonic() + u.ABORT_DEADLINE_S
            while u.stable_and_high(bootstrap, kgw_topic) != {0: after}:
                assert time.monotonic() < deadline, "the timed-out transaction was never aborted"
                await asyncio.sleep(0.05)
            assert await ends_both(bootstrap, kgw_topic, 1) == ({0: 3}, {0: 3})
            assert await read(bootstrap, kgw_topic, {0: 3}, "read_committed") == ([], {0: 3})
            assert await read(bootstrap, kgw_topic, {0: 3}, "read_uncommitted") == (
                u.rows(0, 0, u.TIMEOUT_OPEN), {0: 3})
            with pytest.raises(ProducerFenced):
                await producer.commit_transaction()
        finally:
            await producer.stop()

        again = await txn_producer(bootstrap, txn_id)
        try:
            async with again.transaction():
                assert await send(again, kgw_topic, 0, ["t2"]) == [3]
        finally:
            await again.stop()
        assert await read(bootstrap, kgw_topic, ends, "read_committed") == (u.TIMEOUT_COMMITTED_ROWS, ends)
        assert await read(bootstrap, kgw_topic, ends, "read_uncommitted") == (u.TIMEOUT_ALL_ROWS, ends)

    run(scenario())
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.TIMEOUT_LAYOUT
