"""franz-go (kgo) against a live kgw."""

import time

import pytest

from protocol.compression import Codec

from ..harness import create_topic, stored_batches
from ._go import GoProcess, run

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def standard(prefix: str, count: int, partition: int = 0, first_offset: int = 0) -> list[dict]:
    """What records.go's standardMessages sends, as the scenarios print it."""
    out = []
    for i in range(count):
        headers = ([["h", f"v{i}"], ["multi", "a"], ["multi", "b"], ["bin", "hex:00ff01"], ["empty", ""]]
                   if i % 2 == 0 else [])
        out.append({"partition": partition, "offset": first_offset + i,
                    "key": None if i % 3 == 0 else f"k{i}",
                    "value": None if i % 5 == 3 else f"{prefix}-{i}-" + "abcd" * (50 if i % 4 == 0 else 1),
                    "headers": headers})
    return out


def without_timestamps(records):
    return [{k: v for k, v in r.items() if k != "timestamp"} for r in records]


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(kgw_broker, kgw_topic, codec):
    p = run("franz_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec)
    assert p["offsets"] == list(range(12))
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    c = run("franz_consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["records"]) == standard("m", 12)


@pytest.mark.parametrize("acks", [0, 1])
def test_acks(kgw_broker, kgw_topic, acks):
    p = run("franz_produce", kgw_broker.bootstrap, kgw_topic, count=6, batch=3, acks=acks)
    # With acks=0 there is no answer: franz-go numbers each batch's records
    # from 0 (one client, so one batch, per flush here).
    assert p["offsets"] == (list(range(6)) if acks else [0, 1, 2, 0, 1, 2])
    c = run("franz_consume", kgw_broker.bootstrap, kgw_topic, count=6)
    assert without_timestamps(c["records"]) == standard("m", 6)
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.producer_id) for b in batches] == [(0, 3, -1), (3, 3, -1)]


@pytest.mark.kgw_only("cuts connections to a kgw of its own behind a proxy (kgw_behind_proxy)")
def test_idempotent_producer_with_cut_connections(kgw_behind_proxy, topic_name):
    server, proxy = kgw_behind_proxy
    bootstrap = f"127.0.0.1:{proxy.port}"
    create_topic(bootstrap, topic_name, 1)
    count = 80
    producer = GoProcess("franz_idempotent", bootstrap, topic_name, count=count, pauseMs=5)
    try:
        cuts = []
        # Each cut waits for an acknowledgement since the last one, so that it
        # lands on connections past their first exchange: franz-go takes an
        # EOF as the first answer on a connection for a SASL or TLS mistake
        # and fails the records instead of retrying (errors.go, ErrFirstReadEOF).
        for at in (10, 30, 50, 70):
            producer.wait_for(lambda lines, at=at: any(x.get("acked", 0) >= at for x in lines), what=f"{at} acked")
            cuts.append(proxy.cut())
        acks = producer.result("acks")["acks"]
    finally:
        producer.close()
    assert producer.proc.returncode == 0, "".join(producer.stderr[-30:])
    assert all(n > 0 for n in cuts), cuts
    assert proxy.connections > len(cuts)
    assert acks == list(range(count))
    c = run("franz_consume", bootstrap, topic_name, count=count + 1, idleMs=1500)
    assert [(r["offset"], r["key"], r["value"]) for r in c["records"]] == [
        (i, f"k{i}", f"idem-{i}") for i in range(count)]
    # One producer id; each batch's first sequence is its first offset.
    batches = stored_batches(server.data_dir, topic_name)
    assert len({b.producer_id for b in batches}) == 1 and batches[0].producer_id >= 0
    assert [b.base_sequence for b in batches] == [b.base_offset for b in batches]


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_group_resumes_from_committed_offsets_across_a_restart(own_kgw, topic_name, crash):
    create_topic(own_kgw.bootstrap, topic_name, 2)
    run("franz_produce", own_kgw.bootstrap, topic_name, count=10, partition=0)
    run("franz_produce", own_kgw.bootstrap, topic_name, count=6, partition=1, prefix="z", codec="zstd")
    group = f"{topic_name}-g"
    first = run("franz_consume", own_kgw.bootstrap, topic_name, count=16, group=group)
    assert len(first["records"]) == 16
    run("franz_produce", own_kgw.bootstrap, topic_name, count=4, partition=1, prefix="after")
    own_kgw.restart(crash=crash)
    # Only what came after the commit, once.
    again = run("franz_consume", own_kgw.bootstrap, topic_name, count=5, group=group, idleMs=3000)
    assert again["timedOut"] is True
    assert without_timestamps(again["records"]) == standard("after", 4, partition=1, first_offset=6)


def test_a_record_larger_than_the_fetch_limits_still_comes(kgw_bootstrap, kgw_topic):
    r = run("franz_big_record", kgw_bootstrap, kgw_topic, size=300_000, timestampMs=1_000_000, maxBytes=1000)
    # KIP-74: the first batch of a fetch is returned whole, whatever the limits.
    assert r["produced"] == "" and r["offset"] == 0
    assert r["read"] == [{"offset": 0, "size": 300_000, "timestamp": 1_000_000, "logAppendTime": False}]


@pytest.mark.kgw_topic(configs={"message.timestamp.type": "LogAppendTime"})
def test_log_append_time_topic(kgw_bootstrap, kgw_topic):
    before = int(time.time() * 1000)
    r = run("franz_big_record", kgw_bootstrap, kgw_topic, size=10, timestampMs=1_000_000)
    after = int(time.time() * 1000)
    (read,) = r["read"]
    assert read["logAppendTime"] is True and before <= read["timestamp"] <= after
