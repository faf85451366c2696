"""kafka-python's KafkaProducer and KafkaConsumer (no group: assign/seek)
against a live kgw: acks, codecs, record content, seeking and offsets."""

import time

import pytest


@pytest.mark.parametrize("acks", [0, 1, "all", "default"])
def test_produce_with_acks_and_read_back(kgw_broker, clients, kgw_topic, acks):
    from ._kp import read_all, record_tuple

    settings = {} if acks == "default" else {"acks": acks}
    producer = clients.producer(kgw_broker.bootstrap, **settings)
    futures = [producer.send(kgw_topic, key=f"k{i}".encode(), value=f"value-{i}".encode(), partition=0)
               for i in range(25)]
    producer.flush()
    offsets = [f.get(timeout=10).offset for f in futures]

    if acks != 0:
        assert offsets == list(range(25))
    # (acks=0: kafka-python reports batch-relative offsets it made up, since
    # there is no response; only the log below tells the truth.)
    # kafka-python is idempotent by default, and silently drops idempotence
    # when acks is set to anything but all.
    idempotent = acks in ("all", "default")
    assert producer.config["enable_idempotence"] is idempotent
    if idempotent:
        assert producer._transaction_manager.producer_id_and_epoch.producer_id >= 0

    consumer = clients.consumer(kgw_broker.bootstrap)
    got = read_all(consumer, kgw_topic, [0], 25)
    [records] = got.values()
    assert [record_tuple(r) for r in records] == [
        (0, i, f"k{i}".encode(), f"value-{i}".encode(), []) for i in range(25)]
    batches = _stored(kgw_broker.data_dir, kgw_topic, 0)
    assert sum(b["record_count"] for b in batches) == 25
    assert all(b["magic"] == 2 for b in batches)
    assert all((b["producer_id"] >= 0) is idempotent for b in batches)
    if idempotent:
        # Sequences are contiguous across the stored batches.
        assert [b["base_sequence"] for b in batches] == [b["base_offset"] for b in batches]


def _stored(data_dir, topic, partition):
    from ._kp import stored_batches

    return stored_batches(data_dir, topic, partition)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs_round_trip(kgw_broker, clients, kgw_topic, codec):
    from ._kp import CODEC_IDS, read_all, record_tuple, require_codec

    require_codec(codec)
    producer = clients.producer(kgw_broker.bootstrap, compression_type=codec, linger_ms=50)
    values = [(f"{codec}-{i}-" * 20).encode() for i in range(200)]
    futures = [producer.send(kgw_topic, key=str(i).encode(), value=v, partition=0,
                             headers=[("codec", codec.encode())])
               for i, v in enumerate(values)]
    producer.flush()
    assert [f.get(timeout=10).offset for f in futures] == list(range(200))

    consumer = clients.consumer(kgw_broker.bootstrap)
    got = read_all(consumer, kgw_topic, [0], 200)
    assert [record_tuple(r) for r in got[next(iter(got))]] == [
        (0, i, str(i).encode(), v, [("codec", codec.encode())]) for i, v in enumerate(values)]

    # kgw stores the batches as the producer compressed them.
    batches = _stored(kgw_broker.data_dir, kgw_topic, 0)
    assert {b["codec"] for b in batches} == {CODEC_IDS[codec]}
    assert sum(b["record_count"] for b in batches) == 200


def test_one_partition_mixing_every_codec(kgw_broker, clients, kgw_topic):
    from kafka.codec import has_lz4, has_snappy, has_zstd

    from ._kp import CODEC_IDS, read_all

    codecs = [None, "gzip"] + [c for c, ok in (("snappy", has_snappy()), ("lz4", has_lz4()),
                                               ("zstd", has_zstd())) if ok]
    expected = []
    for codec in codecs:
        producer = clients.producer(kgw_broker.bootstrap, compression_type=codec)
        for i in range(5):
            # Compressible: kafka-python sends a batch uncompressed when
            # compressing it would not make it smaller.
            value = (f"{codec}-{i}|" * 30).encode()
            producer.send(kgw_topic, value, partition=0)
            expected.append(value)
        producer.close(timeout=10)
    consumer = clients.consumer(kgw_broker.bootstrap)
    got = read_all(consumer, kgw_topic, [0], len(expected))
    [records] = got.values()
    assert [(r.offset, r.value) for r in records] == list(enumerate(expected))
    stored = [b["codec"] for b in _stored(kgw_broker.data_dir, kgw_topic, 0)]
    assert sorted(set(stored)) == sorted(CODEC_IDS[c or "none"] for c in codecs)


def test_keys_null_values_headers_and_timestamps(kgw_bootstrap, clients, kgw_topic):
    from ._kp import read_all

    base_ts = int(time.time() * 1000) - 60_000
    sent = [
        # (key, value, headers, timestamp_ms)
        (b"key", b"value", [("a", b"1"), ("a", b"2"), ("\u00fc-unicode", b"")], base_ts),
        (None, b"no key", [], base_ts + 1),
        (b"tombstone", None, [("why", b"deleted")], base_ts + 2),
        (b"", b"", [], base_ts + 3),
        (b"\x00\xff binary", bytes(range(256)), [("bin", bytes(range(256)))], base_ts + 4),
        (b"big", b"x" * 100_000, [], base_ts + 5),
    ]
    producer = clients.producer(kgw_bootstrap)
    futures = [producer.send(kgw_topic, key=k, value=v, headers=h, timestamp_ms=ts, partition=0)
               for k, v, h, ts in sent]
    producer.flush()
    metadata = [f.get(timeout=10) for f in futures]
    assert [(m.offset, m.timestamp) for m in metadata] == [(i, s[3]) for i, s in enumerate(sent)]

    consumer = clients.consumer(kgw_bootstrap)
    [records] = read_all(consumer, kgw_topic, [0], len(sent)).values()
    assert [(r.offset, r.key, r.value, r.headers, r.timestamp, r.timestamp_type) for r in records] == [
        (i, k, v, h, ts, 0) for i, (k, v, h, ts) in enumerate(sent)]
    assert records[2].serialized_value_size == -1
    assert records[1].serialized_key_size == -1


@pytest.mark.kgw_topic(partitions=3)
def test_consume_all_partitions_from_the_beginning(kgw_bootstrap, clients, kgw_topic):
    from kafka import TopicPartition

    from ._kp import read_all, record_tuple

    producer = clients.producer(kgw_bootstrap)
    expected = {0: [], 1: [], 2: []}
    for i in range(60):
        p = i % 3
        headers = [("seq", str(i).encode())]
        producer.send(kgw_topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=p,
                      headers=headers)
        expected[p].append((p, len(expected[p]), f"k{i}".encode(), f"v{i}".encode(), headers))
    producer.flush()

    consumer = clients.consumer(kgw_bootstrap)
    tps = [TopicPartition(kgw_topic, p) for p in range(3)]
    assert consumer.end_offsets(tps) == {tp: 20 for tp in tps}
    got = read_all(consumer, kgw_topic, [0, 1, 2], 20)
    assert {tp.partition: [record_tuple(r) for r in records] for tp, records in got.items()} == expected
    # Nothing more arrives once the end is reached.
    assert consumer.poll(timeout_ms=300) == {}
    assert {tp: consumer.position(tp) for tp in tps} == {tp: 20 for tp in tps}


def test_seek_to_offset_end_and_beginning(kgw_bootstrap, clients, kgw_topic):
    from kafka import TopicPartition

    from ._kp import read_range

    tp = TopicPartition(kgw_topic, 0)
    producer = clients.producer(kgw_bootstrap)
    for i in range(20):
        producer.send(kgw_topic, f"m{i}".encode(), partition=0)
    producer.flush()

    consumer = clients.consumer(kgw_bootstrap)
    consumer.assign([tp])
    consumer.seek(tp, 7)
    assert consumer.position(tp) == 7
    got = read_range(consumer, {tp: 20})
    assert [(r.offset, r.value) for r in got[tp]] == [(i, f"m{i}".encode()) for i in range(7, 20)]

    # seek into the middle of a batch: records before the offset are not returned.
    consumer.seek(tp, 13)
    got = read_range(consumer, {tp: 15})
    assert [r.offset for r in got[tp]][:2] == [13, 14]

    consumer.seek_to_end(tp)
    assert consumer.position(tp) == 20
    assert consumer.poll(timeout_ms=300) == {}
    for i in range(20, 25):
        producer.send(kgw_topic, f"m{i}".encode(), partition=0)
    producer.flush()
    got = read_range(consumer, {tp: 25})
    assert [(r.offset, r.value) for r in got[tp]] == [(i, f"m{i}".encode()) for i in range(20, 25)]

    consumer.seek_to_beginning(tp)
    assert consumer.position(tp) == 0
    got = read_range(consumer, {tp: 3})
    assert [r.offset for r in got[tp]][:3] == [0, 1, 2]


def test_offsets_for_times_and_list_offsets(kgw_bootstrap, clients, admin, kgw_topic):
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec
    from kafka.structs import OffsetAndTimestamp

    from ._kp import read_range

    tp = TopicPartition(kgw_topic, 0)
    base = int(time.time() * 1000) - 600_000
    # Out of order on purpose: the answer is the FIRST offset whose
    # timestamp is >= the target, not the offset of the closest timestamp.
    deltas = [0, 3000, 2000, 4000, 6000, 5000]
    producer = clients.producer(kgw_bootstrap)
    for i, d in enumerate(deltas[:3]):  # one batch per record
        producer.send(kgw_topic, f"t{i}".encode(), partition=0, timestamp_ms=base + d).get(timeout=10)
    for i, d in enumerate(deltas[3:], start=3):  # then one batch of three
        producer.send(kgw_topic, f"t{i}".encode(), partition=0, timestamp_ms=base + d)
    producer.flush()

    consumer = clients.consumer(kgw_bootstrap)
    for target, expected in [
        (base - 1, (0, base)),
        (base, (0, base)),
        (base + 1, (1, base + 3000)),
        (base + 2000, (1, base + 3000)),
        (base + 3500, (3, base + 4000)),
        (base + 4500, (4, base + 6000)),
        (base + 6000, (4, base + 6000)),
    ]:
        [(got_tp, found)] = consumer.offsets_for_times({tp: target}).items()
        assert got_tp == tp
        assert (found.offset, found.timestamp) == expected, target
    assert consumer.offsets_for_times({tp: base + 6001}) == {tp: None}

    # Seek by time, then read from there.
    consumer.assign([tp])
    consumer.seek(tp, consumer.offsets_for_times({tp: base + 3500})[tp].offset)
    got = read_range(consumer, {tp: 6})
    assert [(r.offset, r.timestamp) for r in got[tp]] == [(i, base + deltas[i]) for i in range(3, 6)]

    listed = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST})
    assert (listed[tp].offset, listed[tp].timestamp) == (0, -1)
    listed = admin.list_partition_offsets({tp: OffsetSpec.LATEST})
    assert (listed[tp].offset, listed[tp].timestamp) == (6, -1)
    listed = admin.list_partition_offsets({tp: OffsetSpec.MAX_TIMESTAMP})
    assert listed[tp] == OffsetAndTimestamp(4, base + 6000, 0)


@pytest.mark.kgw_topic(partitions=2)
def test_watermarks(kgw_bootstrap, clients, kgw_topic):
    from kafka import TopicPartition

    tps = [TopicPartition(kgw_topic, p) for p in range(2)]
    consumer = clients.consumer(kgw_bootstrap)
    assert consumer.beginning_offsets(tps) == {tps[0]: 0, tps[1]: 0}
    assert consumer.end_offsets(tps) == {tps[0]: 0, tps[1]: 0}
    assert consumer.offsets_for_times({tps[0]: 0, tps[1]: 0}) == {tps[0]: None, tps[1]: None}

    producer = clients.producer(kgw_bootstrap)
    for _ in range(7):
        producer.send(kgw_topic, b"x", partition=0)
    for _ in range(3):
        producer.send(kgw_topic, b"y", partition=1)
    producer.flush()
    assert consumer.beginning_offsets(tps) == {tps[0]: 0, tps[1]: 0}
    assert consumer.end_offsets(tps) == {tps[0]: 7, tps[1]: 3}

    # The fetch response's high watermark is what the consumer reports as lag.
    consumer.assign(tps)
    consumer.seek_to_beginning()
    seen = 0
    deadline = time.monotonic() + 15
    while seen < 10 and time.monotonic() < deadline:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200).values())
    assert seen == 10
    assert {tp: consumer.highwater(tp) for tp in tps} == {tps[0]: 7, tps[1]: 3}


def test_reading_below_log_start_is_out_of_range(kgw_bootstrap, clients, admin, kgw_topic):
    from kafka import TopicPartition
    from kafka.errors import OffsetOutOfRangeError

    tp = TopicPartition(kgw_topic, 0)
    producer = clients.producer(kgw_bootstrap)
    for i in range(10):
        producer.send(kgw_topic, str(i).encode(), partition=0)
    producer.flush()
    admin.delete_records({tp: 5})

    consumer = clients.consumer(kgw_bootstrap, auto_offset_reset="none")
    consumer.assign([tp])
    consumer.seek(tp, 2)
    with pytest.raises(OffsetOutOfRangeError):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
    consumer.seek(tp, 12)
    with pytest.raises(OffsetOutOfRangeError):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)


@pytest.mark.kgw_topic(configs={"max.message.bytes": "2000"})
def test_message_over_topic_max_message_bytes_is_refused(kgw_bootstrap, clients, kgw_topic):
    import os

    from kafka.errors import MessageSizeTooLargeError

    from ._kp import read_all

    producer = clients.producer(kgw_bootstrap, acks=1, retries=0)
    with pytest.raises(MessageSizeTooLargeError):
        producer.send(kgw_topic, os.urandom(5000), partition=0).get(timeout=10)
    assert producer.send(kgw_topic, b"small", partition=0).get(timeout=10).offset == 0
    consumer = clients.consumer(kgw_bootstrap)
    [records] = read_all(consumer, kgw_topic, [0], 1).values()
    assert [(r.offset, r.value) for r in records] == [(0, b"small")]
