"""Seeking with aiokafka (no group): to an offset, to the beginning and end,
by timestamp (ListOffsets v3), and the watermarks it reports."""

import pytest

from .helpers import TopicPartition, consume, consumer, producer, run

T0 = 1_700_000_000_000


async def _fill(bootstrap, topic, codec=None):
    """Offsets 0-9 with timestamps T0, T0+10, ..., T0+90: 0-4 in one batch
    built by hand, 5-9 as separate sends (one batch each)."""
    prod = producer(bootstrap, acks="all", compression_type=codec)
    await prod.start()
    try:
        batch = prod.create_batch()
        for i in range(5):
            assert batch.append(key=b"k%d" % i, value=b"v%d" % i, timestamp=T0 + 10 * i,
                                headers=[("i", b"%d" % i)]) is not None
        first = await (await prod.send_batch(batch, topic, partition=0))
        assert (first.partition, first.offset) == (0, 0)
        for i in range(5, 10):
            meta = await prod.send_and_wait(topic, b"v%d" % i, key=b"k%d" % i, partition=0,
                                            timestamp_ms=T0 + 10 * i, headers=[("i", b"%d" % i)])
            assert meta.offset == i
    finally:
        await prod.stop()


def _row(i):
    return (i, b"k%d" % i, b"v%d" % i, [("i", b"%d" % i)], T0 + 10 * i)


def _rows(records):
    return [(r.offset, r.key, r.value, list(r.headers), r.timestamp) for r in records]


def test_seek_to_offset_beginning_and_end(kgw_bootstrap, kgw_topic):
    async def body():
        await _fill(kgw_bootstrap, kgw_topic)
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([tp])
            assert await cons.beginning_offsets([tp]) == {tp: 0}
            assert await cons.end_offsets([tp]) == {tp: 10}

            # Inside the hand-built batch: offsets 0-2 must be skipped.
            cons.seek(tp, 3)
            assert _rows(await consume(cons, 7)) == [_row(i) for i in range(3, 10)]
            assert await cons.position(tp) == 10
            assert (cons.highwater(tp), cons.last_stable_offset(tp)) == (10, 10)

            cons.seek(tp, 7)
            assert _rows(await consume(cons, 3)) == [_row(i) for i in range(7, 10)]

            await cons.seek_to_beginning(tp)
            assert await cons.position(tp) == 0
            assert _rows(await consume(cons, 10)) == [_row(i) for i in range(10)]

            await cons.seek_to_end(tp)
            assert await cons.position(tp) == 10
            assert await cons.getmany(timeout_ms=200) == {}

            prod = producer(kgw_bootstrap, acks=1)
            await prod.start()
            try:
                for i in (10, 11):
                    await prod.send(kgw_topic, b"v%d" % i, key=b"k%d" % i, partition=0,
                                    timestamp_ms=T0 + 10 * i, headers=[("i", b"%d" % i)])
                await prod.flush()
            finally:
                await prod.stop()
            assert _rows(await consume(cons, 2)) == [_row(10), _row(11)]
            assert cons.highwater(tp) == 12
            assert await cons.end_offsets([tp]) == {tp: 12}
        finally:
            await cons.stop()
    run(body())


@pytest.mark.parametrize("codec", [None, "zstd"])
def test_offsets_for_times(kgw_bootstrap, kgw_topic, codec):
    async def body():
        await _fill(kgw_bootstrap, kgw_topic, codec)
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign([tp])

            async def lookup(ts):
                found = (await cons.offsets_for_times({tp: ts}))[tp]
                return None if found is None else (found.offset, found.timestamp)

            # Earliest record at or after the time, also inside a batch.
            assert await lookup(0) == (0, T0)
            assert await lookup(T0) == (0, T0)
            assert await lookup(T0 + 1) == (1, T0 + 10)
            assert await lookup(T0 + 25) == (3, T0 + 30)
            assert await lookup(T0 + 40) == (4, T0 + 40)
            assert await lookup(T0 + 41) == (5, T0 + 50)
            assert await lookup(T0 + 90) == (9, T0 + 90)
            # Past every record: no offset.
            assert await lookup(T0 + 91) is None

            found = (await cons.offsets_for_times({tp: T0 + 25}))[tp]
            cons.seek(tp, found.offset)
            assert _rows(await consume(cons, 7)) == [_row(i) for i in range(3, 10)]
        finally:
            await cons.stop()
    run(body())


@pytest.mark.kgw_topic(partitions=2)
def test_offsets_for_times_on_an_empty_partition(kgw_bootstrap, kgw_topic):
    async def body():
        tps = [TopicPartition(kgw_topic, p) for p in (0, 1)]
        cons = consumer(kgw_bootstrap)
        await cons.start()
        try:
            cons.assign(tps)
            assert await cons.offsets_for_times({tp: 0 for tp in tps}) == {tp: None for tp in tps}
            assert await cons.beginning_offsets(tps) == {tp: 0 for tp in tps}
            assert await cons.end_offsets(tps) == {tp: 0 for tp in tps}
        finally:
            await cons.stop()
    run(body())


@pytest.mark.parametrize("reset, expected_position", [("earliest", 0), ("latest", 10)])
def test_out_of_range_seek_resets(kgw_bootstrap, kgw_topic, reset, expected_position):
    async def body():
        await _fill(kgw_bootstrap, kgw_topic)
        tp = TopicPartition(kgw_topic, 0)
        cons = consumer(kgw_bootstrap, auto_offset_reset=reset)
        await cons.start()
        try:
            cons.assign([tp])
            cons.seek(tp, 1000)
            records = await consume(cons, 10 - expected_position)
            # The reset needs a fetch to find the offset out of range.
            assert await cons.getmany(timeout_ms=500) == {}
            assert _rows(records) == [_row(i) for i in range(expected_position, 10)]
            assert await cons.position(tp) == 10
        finally:
            await cons.stop()
    run(body())
