"""Produce v7 / Fetch v11 with aiokafka: acks 0, 1, all and the defaults,
every codec, keys, null values, headers, timestamps and many partitions,
consumed back from the beginning and compared exactly."""

import pytest

from .helpers import (TopicPartition, consume, consumer, create_topic, errors, producer, run,
                      stored_batches, summary)

# A spread of record shapes: plain, null key, null value (a tombstone),
# empty key and value, several and repeated headers, binary bytes, a
# header whose value is null.
BASE_TS = 1_700_000_000_000
MESSAGES = [
    (b"k0", b"value-0", []),
    (None, b"no key", []),
    (b"tombstone", None, []),
    (b"", b"", []),
    (b"k4", b"with headers", [("trace", b"abc"), ("empty", b""), ("trace", b"second")]),
    (b"\x00\xffbin", bytes(range(256)), [("bin", b"\x00\x01")]),
    (b"k6", "ünïcödé".encode(), [("lang", "ß".encode())]),
    (b"k7", b"v" * 10_000, []),
    (b"k8", b"null header value", [("n", None)]),
]


async def _send_all(prod, topic, messages=MESSAGES, partition=0):
    futures = [await prod.send(topic, value, key=key, partition=partition, headers=headers,
                               timestamp_ms=BASE_TS + i)
               for i, (key, value, headers) in enumerate(messages)]
    await prod.flush()
    return [await f for f in futures]


def _expected(messages=MESSAGES, partition=0, first_offset=0):
    return [(partition, first_offset + i, key, value, headers, BASE_TS + i, 0)
            for i, (key, value, headers) in enumerate(messages)]


@pytest.mark.parametrize("acks", [0, 1, "all", "default"])
def test_produce_acks_then_consume_from_beginning(kgw_bootstrap, kgw_topic, acks):
    async def body():
        options = {} if acks == "default" else {"acks": acks}
        if acks == "default":
            # The true defaults: no linger, acks=1, no compression.
            from aiokafka import AIOKafkaProducer
            prod = AIOKafkaProducer(bootstrap_servers=kgw_bootstrap)
        else:
            prod = producer(kgw_bootstrap, **options)
        await prod.start()
        try:
            metadata = await _send_all(prod, kgw_topic)
        finally:
            await prod.stop()
        if acks == 0:
            # No response, so no offsets: aiokafka resolves with None.
            assert metadata == [None] * len(MESSAGES)
        else:
            assert [(m.topic, m.partition, m.offset, m.timestamp_type, m.log_start_offset)
                    for m in metadata] == [(kgw_topic, 0, i, 0, 0) for i in range(len(MESSAGES))]
            # CreateTime: the response's log_append_time is -1, so aiokafka
            # reports the producer's timestamp.  (aiokafka then reuses the
            # first message's timestamp for the rest of its batch, a client
            # bug, so only the first one is exact.)
            assert metadata[0].timestamp == BASE_TS

        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([tp])
            records = await consume(cons, len(MESSAGES))
            assert summary(records) == _expected()
            assert cons.highwater(tp) == len(MESSAGES)
            assert cons.last_stable_offset(tp) == len(MESSAGES)
            assert await cons.position(tp) == len(MESSAGES)
            # Nothing more arrives.
            assert await cons.getmany(timeout_ms=200) == {}
        finally:
            await cons.stop()
    run(body())


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs_round_trip_and_are_stored_as_sent(kgw_broker, kgw_topic, codec):
    async def body():
        prod = producer(kgw_broker.bootstrap, acks="all", compression_type=codec, linger_ms=50)
        await prod.start()
        try:
            metadata = await _send_all(prod, kgw_topic)
            # A second, separately flushed batch after the first.
            more = await _send_all(prod, kgw_topic, messages=[(b"again", b"x" * 500, [("h", b"v")])])
        finally:
            await prod.stop()
        assert [m.offset for m in metadata + more] == list(range(len(MESSAGES) + 1))

        batches = stored_batches(kgw_broker.data_dir, kgw_topic, 0)
        assert {b[0] for b in batches} == {codec.upper()}
        assert sum(b[2] for b in batches) == len(MESSAGES) + 1
        assert batches[-1][1:3] == (len(MESSAGES), 1)

        cons = consumer(kgw_broker.bootstrap)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, len(MESSAGES) + 1)
        finally:
            await cons.stop()
        assert summary(records) == _expected() + [
            (0, len(MESSAGES), b"again", b"x" * 500, [("h", b"v")], BASE_TS, 0)]
    run(body())


def test_uncompressed_batches_are_stored_uncompressed(kgw_broker, kgw_topic):
    async def body():
        prod = producer(kgw_broker.bootstrap, acks=1)
        await prod.start()
        try:
            await _send_all(prod, kgw_topic)
        finally:
            await prod.stop()
        batches = stored_batches(kgw_broker.data_dir, kgw_topic, 0)
        assert {b[0] for b in batches} == {"NONE"}
        # Not idempotent: no producer id or epoch (aiokafka writes base
        # sequence 0 rather than Java's -1; kgw stores it as sent).
        assert {b[3:5] for b in batches} == {(-1, -1)}
        assert [b[1] for b in batches] == sorted(b[1] for b in batches)
        assert sum(b[2] for b in batches) == len(MESSAGES)
    run(body())


@pytest.mark.kgw_topic(partitions=3)
def test_many_partitions_keyed_and_explicit(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            futures = []
            for i in range(30):
                if i % 2:
                    futures.append(await prod.send(kgw_topic, b"explicit-%d" % i, partition=i % 3))
                else:
                    futures.append(await prod.send(kgw_topic, b"keyed-%d" % i, key=b"key-%d" % (i % 5)))
            await prod.flush()
            metadata = [await f for f in futures]
            assert sorted(await prod.partitions_for(kgw_topic)) == [0, 1, 2]
        finally:
            await prod.stop()

        # Per partition, offsets are 0..n-1 in send order.
        expected = []
        per_partition = {}
        for i, m in enumerate(metadata):
            assert m.offset == per_partition.get(m.partition, 0)
            per_partition[m.partition] = m.offset + 1
            key = None if i % 2 else b"key-%d" % (i % 5)
            value = (b"explicit-%d" if i % 2 else b"keyed-%d") % i
            expected.append((m.partition, m.offset, key, value))
        # The same key always lands on the same partition.
        by_key = {}
        for (partition, _, key, _) in expected:
            if key is not None:
                assert by_key.setdefault(key, partition) == partition

        tps = [TopicPartition(kgw_topic, p) for p in range(3)]
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            assert kgw_topic in await cons.topics()
            cons.assign(tps)
            records = await consume(cons, 30)
            assert await cons.end_offsets(tps) == {TopicPartition(kgw_topic, p): per_partition.get(p, 0)
                                                   for p in range(3)}
        finally:
            await cons.stop()
        assert [(r.partition, r.offset, r.key, r.value) for r in records] == sorted(expected)
    run(body())


def test_read_committed_sees_everything_without_transactions(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            await _send_all(prod, kgw_topic)
        finally:
            await prod.stop()
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap, isolation_level="read_committed")
        await cons.start()
        try:
            cons.assign([tp])
            records = await consume(cons, len(MESSAGES))
            assert summary(records) == _expected()
            assert cons.last_stable_offset(tp) == cons.highwater(tp) == len(MESSAGES)
            assert await cons.end_offsets([tp]) == {tp: len(MESSAGES)}
        finally:
            await cons.stop()
    run(body())


@pytest.mark.kgw_topic(configs={"message.timestamp.type": "LogAppendTime"})
def test_log_append_time_topic(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            metadata = await _send_all(prod, kgw_topic, messages=MESSAGES[:3])
        finally:
            await prod.stop()
        # The broker's append time replaces the producer's, and the produce
        # response says so.
        assert [m.timestamp_type for m in metadata] == [1, 1, 1]
        assert all(m.timestamp > BASE_TS + 1000 for m in metadata)
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, 3)
        finally:
            await cons.stop()
        assert [(r.offset, r.timestamp_type, r.timestamp) for r in records] == [
            (m.offset, 1, m.timestamp) for m in metadata]
    run(body())


def test_long_poll_is_woken_by_a_produce(kgw_bootstrap, kgw_topic):
    import asyncio

    async def body():
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap, fetch_max_wait_ms=5000)
        prod = producer(kgw_bootstrap, acks=1)
        await cons.start()
        await prod.start()
        try:
            cons.assign([tp])
            assert await cons.position(tp) == 0
            waiting = asyncio.ensure_future(cons.getone())
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await prod.send_and_wait(kgw_topic, b"wake up", key=b"k")
            record = await asyncio.wait_for(waiting, 15)
            assert (record.offset, record.key, record.value) == (0, b"k", b"wake up")
        finally:
            await prod.stop()
            await cons.stop()
    run(body())


@pytest.mark.kgw_topic(configs={"max.message.bytes": "2000"})
def test_message_larger_than_topic_limit_is_refused(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks="all", max_request_size=1_000_000)
        await prod.start()
        try:
            with pytest.raises(errors.MessageSizeTooLargeError):
                await prod.send_and_wait(kgw_topic, bytes(range(256)) * 20, partition=0)
            ok = await prod.send_and_wait(kgw_topic, b"small", partition=0)
        finally:
            await prod.stop()
        assert ok.offset == 0
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, 1)
        finally:
            await cons.stop()
        assert [(r.offset, r.value) for r in records] == [(0, b"small")]
    run(body())


def test_producer_auto_creates_unknown_topic(kgw_bootstrap, topic_name):
    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            meta = await prod.send_and_wait(topic_name, b"first", key=b"k")
            assert sorted(await prod.partitions_for(topic_name)) == [0]
        finally:
            await prod.stop()
        assert (meta.topic, meta.partition, meta.offset) == (topic_name, 0, 0)
    run(body())


def test_batch_larger_than_partition_fetch_limit_is_still_returned(kgw_bootstrap, kgw_topic):
    async def body():
        prod = producer(kgw_bootstrap, acks=1)
        await prod.start()
        try:
            big = bytes(range(256)) * 40
            offsets = [(await prod.send_and_wait(kgw_topic, value, partition=0)).offset
                       for value in (big, b"small", big)]
        finally:
            await prod.stop()
        assert offsets == [0, 1, 2]
        # Kafka returns the first batch whole even when it exceeds
        # max_partition_fetch_bytes and fetch_max_bytes, so consumers progress.
        cons = consumer(kgw_bootstrap, max_partition_fetch_bytes=1024, fetch_max_bytes=2048)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, 3)
        finally:
            await cons.stop()
        assert [(r.offset, r.value) for r in records] == [(0, big), (1, b"small"), (2, big)]
    run(body())


def test_timestamp_too_far_in_the_future_is_refused(kgw_bootstrap, kgw_topic):
    import time

    async def body():
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            # message.timestamp.after.max.ms defaults to one hour.
            future = int(time.time() * 1000) + 2 * 3600 * 1000
            with pytest.raises(errors.InvalidTimestampError):
                await prod.send_and_wait(kgw_topic, b"from the future", partition=0, timestamp_ms=future)
            ok = await prod.send_and_wait(kgw_topic, b"now", partition=0)
        finally:
            await prod.stop()
        assert ok.offset == 0
    run(body())


def test_two_topics_in_one_producer_and_one_consumer(kgw_bootstrap, topic_name):
    """aiokafka puts every ready batch for a node in one Produce request and
    every assigned partition in one Fetch: two topics x two partitions."""
    async def body():
        topics = [f"{topic_name}-a", f"{topic_name}-b"]
        for topic in topics:
            await create_topic(kgw_bootstrap, topic, partitions=2)
        prod = producer(kgw_bootstrap, acks="all", linger_ms=20)
        await prod.start()
        try:
            futures = [await prod.send(topics[i % 2], b"m%d" % i, key=b"k%d" % i, partition=(i // 2) % 2,
                                       timestamp_ms=BASE_TS + i)
                       for i in range(40)]
            metadata = [await f for f in futures]
        finally:
            await prod.stop()
        expected = sorted((topics[i % 2], (i // 2) % 2, i // 4, b"k%d" % i, b"m%d" % i, BASE_TS + i)
                          for i in range(40))
        assert sorted((m.topic, m.partition, m.offset) for m in metadata) == [e[:3] for e in expected]

        tps = [TopicPartition(t, p) for t in topics for p in (0, 1)]
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign(tps)
            records = await consume(cons, 40)
            assert await cons.end_offsets(tps) == {tp: 10 for tp in tps}
        finally:
            await cons.stop()
        assert sorted((r.topic, r.partition, r.offset, r.key, r.value, r.timestamp) for r in records) == expected
    run(body())


def test_fetch_min_bytes_waits_at_most_max_wait(kgw_bootstrap, kgw_topic):
    """An unsatisfiable fetch_min_bytes still answers after fetch_max_wait_ms
    with what there is."""
    async def body():
        prod = producer(kgw_bootstrap, acks=1)
        await prod.start()
        try:
            await prod.send_and_wait(kgw_topic, b"tiny", partition=0)
        finally:
            await prod.stop()
        cons = consumer(kgw_bootstrap, fetch_min_bytes=10_000_000, fetch_max_wait_ms=300)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, 1)
        finally:
            await cons.stop()
        assert [(r.offset, r.value) for r in records] == [(0, b"tiny")]
    run(body())


def test_many_small_acks0_requests_all_arrive_in_order(kgw_broker, kgw_topic):
    """acks=0 gets no response; many back-to-back requests must neither stall
    nor reorder the ones behind them."""
    async def body():
        prod = producer(kgw_broker.bootstrap, acks=0, linger_ms=0, max_batch_size=512)
        await prod.start()
        try:
            for i in range(1000):
                await prod.send(kgw_topic, b"n%04d" % i, partition=0)
            await prod.flush()
        finally:
            await prod.stop()
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_broker.bootstrap)
        await cons.start()
        try:
            cons.assign([tp])
            records = await consume(cons, 1000)
            assert await cons.end_offsets([tp]) == {tp: 1000}
        finally:
            await cons.stop()
        assert [(r.offset, r.value) for r in records] == [(i, b"n%04d" % i) for i in range(1000)]
        assert len(stored_batches(kgw_broker.data_dir, kgw_topic, 0)) > 10
    run(body())


def test_message_near_the_default_size_limit(kgw_bootstrap, kgw_topic):
    async def body():
        value = bytes(range(256)) * 3900  # 998,400 bytes: under max.message.bytes 1,048,588
        prod = producer(kgw_bootstrap, acks="all")
        await prod.start()
        try:
            meta = await prod.send_and_wait(kgw_topic, value, key=b"big", partition=0)
        finally:
            await prod.stop()
        assert meta.offset == 0
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([TopicPartition(kgw_topic, 0)])
            records = await consume(cons, 1)
        finally:
            await cons.stop()
        assert [(r.offset, r.key, r.value) for r in records] == [(0, b"big", value)]
    run(body())
