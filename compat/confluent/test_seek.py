"""Consumer positioning with assign(): offsets, beginning, end, timestamps,
watermarks; and a consumer with a group.id that never subscribes."""

import logging
import time

import pytest

from .util import Deliveries, ck, consume_to_eof, consumer, producer


def _fill(bootstrap, topic, n, base_ts):
    delivered = Deliveries()
    with producer(bootstrap) as p:
        for i in range(n):
            # Timestamps 10 ms apart, in two batches.
            p.produce(topic, value=b"m%d" % i, key=b"k%d" % i, timestamp=base_ts + 10 * i,
                      partition=0, on_delivery=delivered)
            if i == n // 2:
                p.flush(10)
        assert p.flush(10) == 0
    assert [r[2] for r in delivered.reports] == list(range(n))


def _offsets_values(rows):
    return [(r[1], r[3]) for r in rows]


def test_assign_at_offset_seek_and_position(kgw_bootstrap, kgw_topic):
    TopicPartition = ck().TopicPartition
    _fill(kgw_bootstrap, kgw_topic, 10, int(time.time() * 1000) - 60_000)
    with consumer(kgw_bootstrap) as c:
        c.assign([TopicPartition(kgw_topic, 0, 5)])
        eof = {}
        assert _offsets_values(consume_to_eof(c, eof_offsets=eof)) == [(i, b"m%d" % i) for i in range(5, 10)]
        assert eof == {0: 10}
        assert c.position([TopicPartition(kgw_topic, 0)])[0].offset == 10

        # Back to an offset inside the first batch.
        c.seek(TopicPartition(kgw_topic, 0, 2))
        assert _offsets_values(consume_to_eof(c, limit=3)) == [(2, b"m2"), (3, b"m3"), (4, b"m4")]
        assert c.position([TopicPartition(kgw_topic, 0)])[0].offset == 5

        c.seek(TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING))
        assert _offsets_values(consume_to_eof(c)) == [(i, b"m%d" % i) for i in range(10)]


def test_offset_end_sees_only_new_messages(kgw_bootstrap, kgw_topic):
    TopicPartition = ck().TopicPartition
    _fill(kgw_bootstrap, kgw_topic, 6, int(time.time() * 1000) - 60_000)
    with consumer(kgw_bootstrap) as c:
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_END)])
        eof = {}
        assert consume_to_eof(c, eof_offsets=eof) == []
        assert eof == {0: 6}
        # Nothing consumed yet: librdkafka has no position to report.
        assert c.position([TopicPartition(kgw_topic, 0)])[0].offset == ck().OFFSET_INVALID
        with producer(kgw_bootstrap) as p:
            p.produce(kgw_topic, value=b"late", key=b"L", partition=0)
            assert p.flush(10) == 0
        assert _offsets_values(consume_to_eof(c, limit=1)) == [(6, b"late")]
        assert c.get_watermark_offsets(TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (0, 7)
        # The cached watermarks come from the fetch responses.
        lo, hi = c.get_watermark_offsets(TopicPartition(kgw_topic, 0), cached=True)
        assert hi == 7


def test_offsets_for_times(kgw_bootstrap, kgw_topic):
    TopicPartition = ck().TopicPartition
    base = int(time.time() * 1000) - 60_000
    _fill(kgw_bootstrap, kgw_topic, 10, base)
    with consumer(kgw_bootstrap) as c:
        queries = [0, base, base + 30, base + 35, base + 90, base + 91]
        answers = []
        for ts in queries:
            (tp,) = c.offsets_for_times([TopicPartition(kgw_topic, 0, ts)], timeout=10)
            assert tp.error is None
            answers.append(tp.offset)
        # First offset whose timestamp is >= the query; none: OFFSET_END (-1).
        assert answers == [0, 0, 3, 4, 9, ck().OFFSET_END]

        # And consume from the offset found for a timestamp.
        (tp,) = c.offsets_for_times([TopicPartition(kgw_topic, 0, base + 61)], timeout=10)
        assert tp.offset == 7
        c.assign([tp])
        rows = consume_to_eof(c)
        assert [(r[1], r[3], r[5][1]) for r in rows] == [(i, b"m%d" % i, base + 10 * i) for i in (7, 8, 9)]


@pytest.mark.kgw_topic(partitions=2)
def test_watermarks(kgw_bootstrap, kgw_topic):
    TopicPartition = ck().TopicPartition
    with consumer(kgw_bootstrap) as c:
        assert c.get_watermark_offsets(TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (0, 0)
        with producer(kgw_bootstrap) as p:
            for _ in range(7):
                p.produce(kgw_topic, value=b"x", partition=1)
            assert p.flush(10) == 0
        assert c.get_watermark_offsets(TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (0, 0)
        assert c.get_watermark_offsets(TopicPartition(kgw_topic, 1), timeout=10, cached=False) == (0, 7)
        # OFFSET_BEGINNING on an empty partition and on a full one.
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING),
                  TopicPartition(kgw_topic, 1, ck().OFFSET_BEGINNING)])
        rows = consume_to_eof(c, partitions=2)
        assert sorted((r[0], r[1]) for r in rows) == [(1, i) for i in range(7)]


def test_group_id_consumer_that_only_assigns(kgw_bootstrap, kgw_topic):
    """librdkafka wants a group.id even for assign(), and with one it looks
    for the group coordinator (FindCoordinator). With auto-commit off and
    no subscribe(), consuming must not depend on groups being served, and
    no error may reach the application."""
    TopicPartition = ck().TopicPartition
    _fill(kgw_bootstrap, kgw_topic, 4, int(time.time() * 1000) - 60_000)
    errors = []
    log = logging.getLogger(f"compat.confluent.{kgw_topic}")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    with consumer(kgw_bootstrap, error_cb=errors.append, logger=log) as c:
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING)])
        assert _offsets_values(consume_to_eof(c)) == [(i, b"m%d" % i) for i in range(4)]
        # Nothing was committed, so there is nothing to be found either way.
    assert errors == []
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []


def test_assign_only_consumer_commits_and_a_new_one_resumes(kgw_bootstrap, kgw_topic):
    """With a group.id but no subscribe(), librdkafka commits as a "simple"
    consumer (generation -1, no member id), which Kafka accepts for a group
    without members; a consumer assigned at OFFSET_STORED resumes there."""
    TopicPartition = ck().TopicPartition
    _fill(kgw_bootstrap, kgw_topic, 8, int(time.time() * 1000) - 60_000)
    group = f"simple-{kgw_topic}"
    with consumer(kgw_bootstrap, group_id=group) as c:
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING)])
        assert _offsets_values(consume_to_eof(c, limit=5)) == [(i, b"m%d" % i) for i in range(5)]
        (done,) = c.commit(offsets=[TopicPartition(kgw_topic, 0, 5)], asynchronous=False)
        assert (done.offset, done.error) == (5, None)
        (committed,) = c.committed([TopicPartition(kgw_topic, 0)], timeout=10)
        assert (committed.offset, committed.error) == (5, None)
    with consumer(kgw_bootstrap, group_id=group) as c:
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_STORED)])
        assert _offsets_values(consume_to_eof(c)) == [(i, b"m%d" % i) for i in range(5, 8)]
    # Another group has nothing committed: OFFSET_STORED falls back to
    # auto.offset.reset.
    with consumer(kgw_bootstrap, auto_offset_reset="earliest") as c:
        (committed,) = c.committed([TopicPartition(kgw_topic, 0)], timeout=10)
        assert committed.offset == ck().OFFSET_INVALID
        c.assign([TopicPartition(kgw_topic, 0, ck().OFFSET_STORED)])
        assert [r[1] for r in consume_to_eof(c)] == list(range(8))
