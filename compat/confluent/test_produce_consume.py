"""Producing with every acks setting, codec and idempotence, and reading it
all back exactly."""

import time

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from .util import Deliveries, admin, ck, consumer, producer, read_all


def _messages(n: int, base_ts: int):
    """Keys, null keys, null and empty values, headers (repeated names, a
    null header value), and explicit timestamps."""
    out = []
    for i in range(n):
        key = None if i % 5 == 3 else b"key-%d" % i
        value = None if i % 4 == 1 else (b"" if i % 7 == 6 else b"value-%d" % i)
        headers = [("h", b"%d" % i), ("h", b"again"), ("null-header", None)] if i % 3 == 0 else []
        out.append((key, value, headers, base_ts + i))
    return out


def _expected_rows(messages, first_offset=0, partition=0):
    TIMESTAMP_CREATE_TIME = ck().TIMESTAMP_CREATE_TIME
    return [(partition, first_offset + i, key, value, headers or None, (TIMESTAMP_CREATE_TIME, ts))
            for i, (key, value, headers, ts) in enumerate(messages)]


@pytest.mark.parametrize("acks", ["0", "1", "all", None], ids=["acks0", "acks1", "acksall", "defaults"])
def test_produce_with_acks_and_consume_everything(kgw_bootstrap, kgw_topic, acks):
    messages = _messages(23, int(time.time() * 1000) - 60_000)
    delivered = Deliveries()
    # acks=None: librdkafka's defaults (acks=all, linger 5 ms, no idempotence).
    config = {"linger.ms": None, "message.timeout.ms": None} if acks is None else {"acks": acks}
    with producer(kgw_bootstrap, **config) as p:
        for key, value, headers, ts in messages:
            p.produce(kgw_topic, value=value, key=key, headers=headers, timestamp=ts,
                      partition=0, on_delivery=delivered)
        assert p.flush(10) == 0

    assert delivered.errors == []
    # acks=0 has no response, so librdkafka cannot know the offsets (None).
    expected_offsets = [None] * 23 if acks == "0" else list(range(23))
    assert [(r[1], r[2], r[3], r[4]) for r in delivered.reports] == [
        (0, off, key, value) for off, (key, value, _, _) in zip(expected_offsets, messages)]

    assert read_all(kgw_bootstrap, kgw_topic) == _expected_rows(messages)
    with consumer(kgw_bootstrap) as c:
        assert c.get_watermark_offsets(ck().TopicPartition(kgw_topic, 0), timeout=10, cached=False) == (0, 23)


def test_producer_auto_creates_topic_with_broker_default_partitions(kgw_bootstrap, topic_name):
    delivered = Deliveries()
    with producer(kgw_bootstrap) as p:
        p.produce(topic_name, value=b"first", key=b"k", on_delivery=delivered)
        assert p.flush(10) == 0
        md = p.list_topics(topic_name, timeout=10)
    assert delivered.reports == [(None, 0, 0, b"k", b"first")]
    assert sorted(md.topics[topic_name].partitions) == [0]
    assert [(r[1], r[2], r[3]) for r in read_all(kgw_bootstrap, topic_name)] == [(0, b"k", b"first")]


@pytest.mark.kgw_topic(partitions=3)
@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_many_partitions_both_isolation_levels(kgw_bootstrap, kgw_topic, isolation):
    """librdkafka reads read_committed by default: without transactions the
    last stable offset must equal the high watermark."""
    with producer(kgw_bootstrap, acks="all") as p:
        for i in range(30):
            p.produce(kgw_topic, value=b"v%d" % i, key=b"k%d" % i, partition=i % 3)
        assert p.flush(10) == 0
    rows = read_all(kgw_bootstrap, kgw_topic, partitions=3, isolation_level=isolation)
    got = sorted((r[0], r[1], r[2], r[3]) for r in rows)
    assert got == sorted((i % 3, i // 3, b"k%d" % i, b"v%d" % i) for i in range(30))
    with consumer(kgw_bootstrap, isolation_level=isolation) as c:
        for partition in range(3):
            tp = ck().TopicPartition(kgw_topic, partition)
            assert c.get_watermark_offsets(tp, timeout=10, cached=False) == (0, 10)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codec_is_stored_and_round_trips(kgw_broker, kgw_topic, codec):
    # Compressible payloads: librdkafka sends a batch uncompressed when the
    # codec would not make it smaller.
    values = [b"%s-%04d-" % (codec.encode(), i) + b"abc" * 100 for i in range(200)]
    with producer(kgw_broker.bootstrap, compression_type=codec, acks="all") as p:
        for i, value in enumerate(values):
            p.produce(kgw_topic, value=value, key=b"k%d" % i, partition=0,
                      headers=[("codec", codec.encode())])
        assert p.flush(10) == 0

    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert sum(b.record_count for b in batches) == 200
    # librdkafka (2.16 too) enables LZ4 only when the broker advertises
    # FindCoordinator, at any version; without it lz4 batches go out
    # uncompressed, silently (a debug log "Broker does not support
    # compression type lz4").
    assert {b.compression for b in batches} == {Codec[codec.upper()]}, (
        "lz4 needs FindCoordinator (key 10) in ApiVersions" if codec == "lz4" else codec)
    assert all(b.crc_ok() for b in batches)
    records = [r for b in batches for r in b.records()]
    assert [(r.offset, r.key, r.value) for r in records] == [
        (i, b"k%d" % i, v) for i, v in enumerate(values)]

    rows = read_all(kgw_broker.bootstrap, kgw_topic)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (i, b"k%d" % i, v, [("codec", codec.encode())]) for i, v in enumerate(values)]


def test_idempotent_producer(kgw_broker, kgw_topic):
    delivered = Deliveries()
    with producer(kgw_broker.bootstrap, enable_idempotence=True, compression_type="zstd") as p:
        for i in range(300):
            p.produce(kgw_topic, value=b"idem-%d" % i + b"." * 50, partition=0, on_delivery=delivered)
            if i % 100 == 99:
                p.flush(10)  # several batches
        assert p.flush(10) == 0
    assert delivered.errors == []
    assert [r[2] for r in delivered.reports] == list(range(300))

    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert len(batches) >= 3
    (pid,) = {b.producer_id for b in batches}
    assert pid >= 0
    assert {b.producer_epoch for b in batches} == {0}
    # Sequences start at 0 and run on without gaps from batch to batch.
    expected_seq = 0
    for b in batches:
        assert (b.base_sequence, b.base_offset) == (expected_seq, expected_seq)
        expected_seq += b.record_count
    assert expected_seq == 300

    rows = read_all(kgw_broker.bootstrap, kgw_topic)
    assert [(r[1], r[3]) for r in rows] == [(i, b"idem-%d" % i + b"." * 50) for i in range(300)]


@pytest.mark.kgw_topic(configs={"max.message.bytes": "2000"})
def test_batch_over_max_message_bytes_is_refused(kgw_bootstrap, kgw_topic):
    KafkaError = ck().KafkaError
    small, big = Deliveries(), Deliveries()
    with producer(kgw_bootstrap, acks="all") as p:
        p.produce(kgw_topic, value=b"a" * 100, partition=0, on_delivery=small)
        assert p.flush(10) == 0
        # Larger than the topic's limit, smaller than the client's.
        p.produce(kgw_topic, value=b"b" * 5000, partition=0, on_delivery=big)
        assert p.flush(10) == 0
        p.produce(kgw_topic, value=b"c" * 100, partition=0, on_delivery=small)
        assert p.flush(10) == 0
    assert [(r[0], r[2]) for r in small.reports] == [(None, 0), (None, 1)]
    assert [r[0].code() for r in big.reports] == [KafkaError.MSG_SIZE_TOO_LARGE]
    assert [(r[1], r[3]) for r in read_all(kgw_bootstrap, kgw_topic)] == [(0, b"a" * 100), (1, b"c" * 100)]


@pytest.mark.kgw_topic(configs={"message.timestamp.type": "LogAppendTime"})
def test_log_append_time_topic(kgw_bootstrap, kgw_topic):
    before = int(time.time() * 1000)
    with producer(kgw_bootstrap) as p:
        for i in range(3):
            p.produce(kgw_topic, value=b"v%d" % i, partition=0, timestamp=1000 + i)
        assert p.flush(10) == 0
    after = int(time.time() * 1000)
    rows = read_all(kgw_bootstrap, kgw_topic)
    assert [(r[1], r[3]) for r in rows] == [(i, b"v%d" % i) for i in range(3)]
    # The broker's clock replaces the producer's timestamps.
    kinds = {r[5][0] for r in rows}
    assert kinds == {ck().TIMESTAMP_LOG_APPEND_TIME}
    assert all(before <= r[5][1] <= after for r in rows)


@pytest.mark.kgw_topic(partitions=2)
def test_admin_list_offsets(kgw_bootstrap, kgw_topic):
    """AdminClient.list_offsets: ListOffsets v7 with earliest, latest,
    max-timestamp (-3) and a timestamp."""
    OffsetSpec, TopicPartition = ck().admin.OffsetSpec, ck().TopicPartition
    with admin(kgw_bootstrap) as adm:
        base = int(time.time() * 1000) - 60_000
        stamps = [base + 5, base + 50, base + 20]  # the max is in the middle
        with producer(kgw_bootstrap) as p:
            for i, ts in enumerate(stamps):
                p.produce(kgw_topic, value=b"v%d" % i, partition=0, timestamp=ts)
            assert p.flush(10) == 0

        def ask(spec):
            futures = adm.list_offsets({TopicPartition(kgw_topic, 0): spec,
                                        TopicPartition(kgw_topic, 1): spec}, request_timeout=10)
            return {tp.partition: (f.result().offset, f.result().timestamp) for tp, f in futures.items()}

        assert ask(OffsetSpec.earliest()) == {0: (0, -1), 1: (0, -1)}
        assert ask(OffsetSpec.latest()) == {0: (3, -1), 1: (0, -1)}
        assert ask(OffsetSpec.max_timestamp()) == {0: (1, base + 50), 1: (-1, -1)}
        assert ask(OffsetSpec.for_timestamp(base + 10)) == {0: (1, base + 50), 1: (-1, -1)}
        assert ask(OffsetSpec.for_timestamp(base + 51)) == {0: (-1, -1), 1: (-1, -1)}
