"""Broker-side recompression: what a topic with a compression.type codec
stores, as Apache Kafka 4.4.0 stored it for the same batches (codec,
offsets, timestamps, producer fields, the transactional flag, markers)."""

import struct

import crc32c
import pytest

from kgw.log import AppendOrigin, LogError
from protocol.compression import Codec
from protocol.error_codes import ErrorCode
from protocol.records import (
    ATTRIBUTES_OFFSET, CRC_OFFSET, LOG_APPEND_TIME, Record, RecordBatch, build_batch,
)

from .helpers import payload, read_all

T0 = 1_700_000_000_000
TARGETS = {"gzip": Codec.GZIP, "snappy": Codec.SNAPPY, "lz4": Codec.LZ4, "zstd": Codec.ZSTD,
           "uncompressed": Codec.NONE}


def records(count=4):
    # The second record is older than the first: the base timestamp is the
    # first record's, the maximum the largest.
    return [Record(i, T0 - 3 if i == 1 else T0 + 7 * i, b"k%d" % i if i % 2 == 0 else None, b"v%d" % i * 10,
                   [("h", b"%d" % i)] if i == 2 else []) for i in range(count)]


def contents(batch: RecordBatch) -> list[tuple]:
    return [(r.offset - batch.base_offset, r.timestamp, r.key, r.value, r.headers) for r in batch.records()]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", [Codec.NONE, Codec.GZIP, Codec.ZSTD, Codec.LZ4, Codec.SNAPPY])
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_a_batch_is_stored_in_the_topics_codec(managers, target, source, idempotent):
    partition = managers().create_topic("t", 1, {"compression.type": target}).partitions[0]
    def producer(sequence):
        return dict(producer_id=7, producer_epoch=2, base_sequence=sequence) if idempotent else {}

    sent = build_batch(records(), codec=source, **producer(0))
    partition.append(sent)
    result = partition.append(build_batch(records(), codec=source, **producer(4)))
    assert (result.base_offset, result.last_offset) == (4, 7)
    first, second = read_all(partition)
    for batch in (first, second):
        assert (batch.compression, batch.crc_ok(), batch.last_offset_delta, batch.record_count) == (
            TARGETS[target], True, 3, 4)
        assert (batch.base_timestamp, batch.max_timestamp, batch.timestamp_type) == (T0, T0 + 21, 0)
        assert contents(batch) == contents(RecordBatch(sent))
        assert (batch.producer_id, batch.producer_epoch) == ((7, 2) if idempotent else (-1, -1))
        assert not batch.is_transactional
    assert (first.base_offset, first.base_sequence) == (0, 0 if idempotent else -1)
    assert (second.base_offset, second.base_sequence) == (4, 4 if idempotent else -1)
    if source == TARGETS[target]:
        # Already in the topic's codec: stored as the producer sent it.
        assert payload(first.memory) == payload(sent)


def test_a_retried_idempotent_batch_is_still_a_duplicate(managers):
    partition = managers().create_topic("t", 1, {"compression.type": "zstd"}).partitions[0]
    batch = build_batch(records(), codec=Codec.GZIP, producer_id=3, producer_epoch=0, base_sequence=0)
    assert partition.append(batch).base_offset == 0
    retry = partition.append(batch)
    assert (retry.duplicate, retry.base_offset, retry.last_offset) == (True, 0, 3)
    assert [b.compression for b in read_all(partition)] == [Codec.ZSTD]


def test_a_transactional_batch_keeps_its_flag_and_markers_stay_uncompressed(managers):
    partition = managers().create_topic("t", 1, {"compression.type": "gzip"}).partitions[0]
    data = build_batch(records(3), producer_id=5, producer_epoch=1, base_sequence=0, is_transactional=True)
    # The coordinator's check is the broker's business: here it lets the batch in.
    partition.hooks.verify_transaction = lambda *args: None
    partition.append(data, AppendOrigin.CLIENT, transactional_id="app")
    partition.append_marker(5, 1, commit=True, coordinator_epoch=0)
    batch, marker = read_all(partition)
    assert (batch.compression, batch.is_transactional, batch.producer_id, batch.producer_epoch,
            batch.base_sequence) == (Codec.GZIP, True, 5, 1, 0)
    assert (marker.compression, marker.is_control, marker.base_offset) == (Codec.NONE, True, 3)


def test_a_log_append_time_topic_stamps_the_rebuilt_batch(managers):
    topic = managers().create_topic("t", 1, {"compression.type": "lz4", "message.timestamp.type": "LogAppendTime"})
    result = topic.partitions[0].append(build_batch(records(), codec=Codec.GZIP), now_ms=T0 + 5_000)
    assert result.log_append_time_ms == T0 + 5_000
    (batch,) = read_all(topic.partitions[0])
    assert (batch.compression, batch.timestamp_type, batch.base_timestamp, batch.max_timestamp, batch.crc_ok()) == (
        Codec.LZ4, LOG_APPEND_TIME, T0, T0 + 5_000, True)
    assert [r.timestamp for r in batch.records()] == [T0 + 5_000] * 4


@pytest.mark.parametrize("codec, low, high", [("gzip", "1", "9"), ("zstd", "-5", "19"), ("lz4", "1", "17")])
def test_the_topics_compression_level_applies(managers, codec, low, high):
    data = [Record(i, T0, None, b"%08d some text that repeats itself " % (i % 50) * 8) for i in range(400)]
    sizes = {}
    manager = managers()
    for level in (low, high):
        topic = manager.create_topic(f"t{level}", 1, {"compression.type": codec,
                                                      f"compression.{codec}.level": level})
        topic.partitions[0].append(build_batch(data))
        (batch,) = read_all(topic.partitions[0])
        assert [r.value for r in batch.records()] == [r.value for r in data]
        sizes[level] = batch.size
    assert sizes[high] < sizes[low]


def test_a_batch_that_grows_past_max_message_bytes_is_refused(managers):
    partition = managers().create_topic("t", 1, {"compression.type": "uncompressed",
                                                 "max.message.bytes": "5000"}).partitions[0]
    compressed = build_batch([Record(0, T0, None, bytes(20_000))], codec=Codec.ZSTD)
    assert len(compressed) < 5000
    with pytest.raises(LogError) as err:
        partition.append(compressed)
    assert err.value.code == ErrorCode.MESSAGE_TOO_LARGE
    assert partition.log_end_offset == 0


def test_a_corrupt_compressed_batch_is_an_invalid_record(managers):
    partition = managers().create_topic("t", 1, {"compression.type": "gzip"}).partitions[0]
    bad = bytearray(build_batch(records(), codec=Codec.ZSTD))
    bad[70:80] = bytes(10)
    # A valid CRC over the damaged payload: only decoding can tell.
    struct.pack_into(">I", bad, CRC_OFFSET, crc32c.crc32c(bytes(bad[ATTRIBUTES_OFFSET:])))
    with pytest.raises(LogError) as err:
        partition.append(bytes(bad))
    # Kafka answers UNKNOWN_SERVER_ERROR (its decompression fails with an
    # unexpected exception); kgw says what is wrong (record_checks).
    assert err.value.code == ErrorCode.INVALID_RECORD


def test_producer_compression_stores_every_batch_as_it_came(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    sent = [build_batch(records(), codec=codec) for codec in (Codec.NONE, Codec.GZIP, Codec.ZSTD)]
    for batch in sent:
        partition.append(batch)
    assert [payload(b.memory) for b in read_all(partition)] == [payload(b) for b in sent]


def test_a_broker_wide_codec_applies_to_topics_without_their_own(managers):
    manager = managers()
    plain = manager.create_topic("plain", 1)
    own = manager.create_topic("own", 1, {"compression.type": "producer"})
    manager.alter_broker_configs("broker", {"compression.type": "snappy"})
    for topic in (plain, own):
        topic.partitions[0].append(build_batch(records()))
    assert [b.compression for b in read_all(plain.partitions[0])] == [Codec.SNAPPY]
    assert [b.compression for b in read_all(own.partitions[0])] == [Codec.NONE]
