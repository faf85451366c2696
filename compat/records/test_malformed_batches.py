"""Batches whose CRC holds but whose records do not: the broker refuses
them, so real consumers never meet them.

Before kgw checked records inside batches, each of these was stored; then
kafka-python raised CorruptRecordError at it and librdkafka stopped there
without a word, and a record count of 2^31-1 moved the log end offset by
two billion.  Apache Kafka 4.4 refuses the same batches (compat/reference),
with INVALID_RECORD, or UNKNOWN_SERVER_ERROR where its validation fails
unexpectedly (README, Differences).  The batches are sent over the wire
as a hostile or broken client would; the good records around them come
from kafka-python and librdkafka producers, and both clients then read
exactly those.
"""

import time

import pytest

from protocol.compression import Codec, compress
from protocol.error_codes import ErrorCode
from protocol.messages import PRODUCE
from protocol.primitives import write_varint, write_varlong

from ..confluent.util import producer as rd_producer
from ..confluent.util import read_all as rd_read_all
from ..harness import BROKER, Wire, end_offsets

NOW = int(time.time() * 1000)


def record(offset=0, key_length=None, key=b"k", extra=b"") -> bytes:
    body = b"\x00" + write_varlong(0) + write_varint(offset)
    body += write_varint(len(key) if key_length is None else key_length) + key
    body += write_varint(1) + b"v" + write_varint(0) + extra
    return write_varint(len(body)) + body


def batch(payload: bytes, count: int, codec: int = 0) -> bytes:
    import struct

    import crc32c
    tail = struct.pack(">hiqqqhii", codec, count - 1, NOW, NOW, -1, -1, -1, count)
    crc = crc32c.crc32c(payload, crc32c.crc32c(tail))
    return struct.pack(">qiibI", 0, 49 + len(payload), -1, 2, crc) + tail + payload


# What both brokers refuse with INVALID_RECORD.
REFUSED_BY_BOTH = {
    "count above the records": batch(record(), 2),
    "count of 2^31-1 with one record": batch(record(), 2**31 - 1),
    "count below the records": batch(record() + record(1), 1),
    "trailing bytes": batch(record() + b"\x00\x01\x02", 1),
    "negative key length with key bytes": batch(record(key_length=-5, key=b"abcde"), 1),
    "bytes after the headers": batch(record(extra=b"\x00"), 1),
    "gzip records with trailing bytes": batch(compress(Codec.GZIP, record() + b"\x00"), 1, Codec.GZIP),
    "zstd records, count above": batch(compress(Codec.ZSTD, record()), 2, Codec.ZSTD),
}
# What Kafka fails on with an unexpected exception (UNKNOWN_SERVER_ERROR)
# and kgw answers INVALID_RECORD.
FAILED_BY_KAFKA = {
    "codec id 7": batch(record(), 1, 7),
    "gzip payload that does not inflate": batch(b"\x1f\x8b not gzip at all" * 3, 1, Codec.GZIP),
    "lz4 payload that does not inflate": batch(b"not lz4 at all" * 3, 1, Codec.LZ4),
    "zstd payload cut short": batch(compress(Codec.ZSTD, record() * 1)[:-4], 1, Codec.ZSTD),
}
# What Kafka stores, breaking its consumers, and kgw refuses (README, Differences).
REFUSED_BY_KGW_ONLY = {
    "key length -2": batch(record(key_length=-2, key=b""), 1),
    "offset deltas repeated": batch(record() + record(), 2),
}


def produce(bootstrap: str, topic: str, records: bytes):
    P = PRODUCE.Request
    with Wire(bootstrap) as wire:
        body = wire.call(PRODUCE.key, 9, transactional_id=None, acks=-1, timeout_ms=5000, topic_data=[
            P.TopicProduceData(name=topic, partition_data=[
                P.TopicProduceData.PartitionProduceData(index=0, records=records)])])
    return body.responses[0].partition_responses[0]


def good_records_around(bootstrap: str, topic: str, send_bad) -> None:
    """Two records from kafka-python, the bad batches, two from librdkafka;
    then both clients must read exactly the four good ones, at 0-3."""
    from kafka import KafkaProducer
    kp = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in (b"kp-0", b"kp-1"):
            kp.send(topic, value, partition=0).get(timeout=30)
    finally:
        kp.close()
    send_bad()
    with rd_producer(bootstrap, acks="all") as p:
        for value in (b"rd-0", b"rd-1"):
            p.produce(topic, value, partition=0)
        assert p.flush(30) == 0
    expected = [(0, b"kp-0"), (1, b"kp-1"), (2, b"rd-0"), (3, b"rd-1")]
    assert end_offsets(bootstrap, topic, 1) == {0: 4}
    assert [(row[1], row[3]) for row in rd_read_all(bootstrap, topic)] == expected

    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        got = []
        for message in consumer:
            got.append((message.offset, message.value))
            if len(got) == 4:
                break
    finally:
        consumer.close()
    assert got == expected


def test_malformed_records_are_refused_and_consumers_read_on(kgw_bootstrap, kgw_topic):
    answers = {}

    def send_bad():
        for case, data in {**REFUSED_BY_BOTH, **FAILED_BY_KAFKA}.items():
            result = produce(kgw_bootstrap, kgw_topic, data)
            answers[case] = (result.error_code, result.base_offset, list(result.record_errors))

    good_records_around(kgw_bootstrap, kgw_topic, send_bad)
    unexpected = ErrorCode.INVALID_RECORD if BROKER == "kgw" else ErrorCode.UNKNOWN_SERVER_ERROR
    assert answers == {**{case: (ErrorCode.INVALID_RECORD, -1, []) for case in REFUSED_BY_BOTH},
                       **{case: (unexpected, -1, []) for case in FAILED_BY_KAFKA}}


@pytest.mark.kgw_only("Kafka 4.4 stores these batches, and its consumers then trip over them")
def test_what_kafka_stores_and_consumers_trip_over_is_refused(kgw_bootstrap, kgw_topic):
    answers = {}

    def send_bad():
        for case, data in REFUSED_BY_KGW_ONLY.items():
            result = produce(kgw_bootstrap, kgw_topic, data)
            answers[case] = (result.error_code, result.base_offset)

    good_records_around(kgw_bootstrap, kgw_topic, send_bad)
    assert answers == {case: (ErrorCode.INVALID_RECORD, -1) for case in REFUSED_BY_KGW_ONLY}
