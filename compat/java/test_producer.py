"""KafkaProducer (kafka-clients 4.4.0) against a live kgw: every codec,
acks 0/1/all, keys and the default partitioner, headers and null values,
and idempotence, which 4.x turns on by default."""

import time

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from ._jvm import standard_records, without_timestamps

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def test_every_codec_round_trips_keys_headers_and_null_values(java, kgw_broker, kgw_bootstrap, kgw_topic):
    r = java.call("produce_codecs", bootstrap=kgw_bootstrap, topic=kgw_topic, codecs=CODECS, count=20)
    expected = []
    for n, codec in enumerate(CODECS):
        assert [(m["partition"], m["offset"]) for m in r["sent"][codec]] == [(0, 20 * n + i) for i in range(20)]
        expected += standard_records(codec, 20, first_offset=20 * n)
    assert without_timestamps(r["read"]) == expected
    # Stored as the producer compressed them, one codec per producer.
    codec_at = {}
    for batch in stored_batches(kgw_broker.data_dir, kgw_topic):
        for offset in range(batch.base_offset, batch.last_offset + 1):
            codec_at[offset] = batch.compression
    assert [codec_at[20 * n] for n in range(len(CODECS))] == [
        Codec.NONE, Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]
    assert {codec_at[o] for o in range(20, 40)} == {Codec.GZIP}


def test_acks_0_1_and_all(java, kgw_broker, kgw_bootstrap, kgw_topic):
    r = java.call("produce_acks", bootstrap=kgw_bootstrap, topic=kgw_topic, count=10)
    # acks=0 is answered by nobody: the client reports offset -1.
    assert [(m["partition"], m["offset"]) for m in r["sent"]["0"]] == [(0, -1)] * 10
    assert [m["offset"] for m in r["sent"]["1"]] == list(range(10, 20))
    assert [m["offset"] for m in r["sent"]["all"]] == list(range(20, 30))
    assert [(m["offset"], m["key"], m["value"]) for m in r["read"]] == [
        (10 * n + i, f"k{i}", f"acks={acks} #{i}") for n, acks in enumerate(["0", "1", "all"]) for i in range(10)]
    # 4.x is idempotent by default, unless acks says otherwise: acks=0 and
    # acks=1 producers write plain batches, the acks=all one idempotent ones.
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    plain = [b for b in batches if b.last_offset < 20]
    idempotent = [b for b in batches if b.base_offset >= 20]
    assert {(b.producer_id, b.base_sequence) for b in plain} == {(-1, -1)}
    assert len({b.producer_id for b in idempotent}) == 1 and idempotent[0].producer_id >= 0
    assert idempotent[0].base_sequence == 0 and idempotent[0].producer_epoch == 0


@pytest.mark.kgw_topic(partitions=4)
def test_keys_go_where_the_default_partitioner_puts_them(java, kgw_bootstrap, kgw_topic):
    from kgw.tools.partitioner import partition_for_key

    keys = [f"customer-{i}" for i in range(12)] + ["", "ключ", "🙂"]
    r = java.call("produce_keyed", bootstrap=kgw_bootstrap, topic=kgw_topic, keys=keys, perKey=3)
    placed = {}
    for n, m in enumerate(r["sent"]):
        placed.setdefault(keys[n // 3], set()).add(m["partition"])
    # murmur2 of the key, as kgw's own `kgw produce` computes it.
    assert placed == {k: {partition_for_key(k.encode(), 4)} for k in keys}
    assert len({p for ps in placed.values() for p in ps}) > 1
    by_key = {}
    for record in r["read"]:
        assert record["partition"] == partition_for_key(record["key"].encode(), 4)
        by_key.setdefault(record["key"], []).append(record["value"])
    assert by_key == {k: [f"{k}#{i}" for i in range(3)] for k in keys}


@pytest.mark.kgw_only("cuts every connection behind a proxy")
def test_idempotent_producer_survives_cut_connections_without_duplicates(java, kgw_behind_proxy, topic_name):
    server, proxy = kgw_behind_proxy
    from ..harness import create_topic

    create_topic(server.bootstrap, topic_name, 1)
    count = 3000
    java.call("produce_steady_start", bootstrap=server.bootstrap, topic=topic_name, count=count, inFlight=25)
    cuts = []
    for at in (300, 900, 1500, 2200):
        while java.call("produce_steady_progress")["acknowledged"] < at:
            time.sleep(0.02)
        cuts.append(proxy.cut())
    r = java.call("produce_steady_finish", bootstrap=server.bootstrap, topic=topic_name)
    assert all(n > 0 for n in cuts), cuts
    assert r["acknowledged"] == count
    # Retried batches were acknowledged with their first offsets, not written twice.
    assert r["offsets"] == list(range(count))
    assert [(m["offset"], m["value"]) for m in r["read"]] == [(i, f"n{i}") for i in range(count)]
    batches = stored_batches(server.data_dir, topic_name)
    assert len({b.producer_id for b in batches}) == 1
    assert [b.base_sequence for b in batches] == [b.base_offset for b in batches]
