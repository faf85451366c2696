"""kcat 1.7.1 (librdkafka 2.0.2) against kgw: metadata, produce, consume,
offsets, timestamps, codecs, restarts and cut connections."""

import json
import subprocess
import time

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from .util import COMMON, advertised, consume_json, essentials, kcat, produce


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.kgw_topic(partitions=3)
def test_metadata_list(kgw_bootstrap, kgw_topic):
    # -d protocol shows the handshake: librdkafka < 2.2 misreads any
    # non-empty tagged field, so ApiVersions v3 must parse as is, not after
    # a fall back to v0.
    proc = kcat(kgw_bootstrap, "-L", "-J", "-d", "protocol")
    assert b"Received ApiVersionResponse (v3" in proc.stderr
    assert b"underflow" not in proc.stderr.lower()
    md = json.loads(proc.stdout)
    assert md["controllerid"] == 0
    assert md["brokers"] == [{"id": 0, "name": kgw_bootstrap}]
    (topic,) = [t for t in md["topics"] if t["topic"] == kgw_topic]
    assert topic["partitions"] == [
        {"partition": p, "leader": 0, "replicas": [{"id": 0}], "isrs": [{"id": 0}]} for p in range(3)]
    assert "error" not in topic

    text = kcat(kgw_bootstrap, "-L", "-t", kgw_topic).stdout.decode()
    assert text.splitlines()[1:] == [
        " 1 brokers:",
        f"  broker 0 at {kgw_bootstrap} (controller)",
        " 1 topics:",
        f'  topic "{kgw_topic}" with 3 partitions:',
        "    partition 0, leader 0, replicas: 0, isrs: 0",
        "    partition 1, leader 0, replicas: 0, isrs: 0",
        "    partition 2, leader 0, replicas: 0, isrs: 0",
    ]


def test_metadata_for_unknown_topic_auto_creates_it(kgw_bootstrap, topic_name):
    # kcat's -L handle is a producer: its Metadata v4 allows auto-creation,
    # and kgw auto-creates by default (1 partition), as Kafka would.
    md = json.loads(kcat(kgw_bootstrap, "-L", "-J", "-t", topic_name).stdout)
    assert md["topics"] == [{"topic": topic_name, "partitions": [
        {"partition": 0, "leader": 0, "replicas": [{"id": 0}], "isrs": [{"id": 0}]}]}]



def test_consumer_of_unknown_topic_gets_unknown_topic_and_creates_nothing(kgw_bootstrap, topic_name):
    # A consumer's Metadata request does not allow auto-creation.
    proc = kcat(kgw_bootstrap, "-C", "-t", topic_name, "-e", check=False)
    assert proc.returncode == 1
    assert f"Topic {topic_name} error: Broker: Unknown topic or partition".encode() in proc.stderr
    md = json.loads(kcat(kgw_bootstrap, "-L", "-J").stdout)
    assert topic_name not in [t["topic"] for t in md["topics"]]

LINES = [b"k1:v1", b"k2:", b":v3", b"nokey", b"k5:v:5", b"k6:" + b"x" * 1000]
# What -K: -Z makes of LINES: the first ':' splits key and value, an empty
# key or value is NULL, a line without ':' is a value without key.
EXPECTED = [("k1", "v1"), ("k2", None), (None, "v3"), (None, "nokey"), ("k5", "v:5"), ("k6", "x" * 1000)]
HEADERS = ["a", "1", "b", "2", "a", "3", "n", None]


@pytest.mark.parametrize("acks", [None, "0", "1", "all"], ids=["defaults", "acks0", "acks1", "acksall"])
def test_produce_and_consume_json(kgw_broker, kgw_topic, acks):
    args = ["-K:", "-Z", "-H", "a=1", "-H", "b=2", "-H", "a=3", "-H", "n"]
    if acks is not None:
        args += ["-X", f"acks={acks}"]
    before = _now_ms()
    produce(kgw_broker.bootstrap, kgw_topic, LINES, *args)
    after = _now_ms()

    messages = consume_json(kgw_broker.bootstrap, kgw_topic, "-o", "beginning")
    assert essentials(messages) == [(0, i, k, v, HEADERS) for i, (k, v) in enumerate(EXPECTED)]
    assert {m["topic"] for m in messages} == {kgw_topic}
    assert {m["tstype"] for m in messages} == {"create"}
    assert all(before <= m["ts"] <= after for m in messages)

    # The same, as stored: null key and value are null, not empty.
    records = [r for b in stored_batches(kgw_broker.data_dir, kgw_topic) for r in b.records()]
    assert [(r.offset, r.key, r.value) for r in records] == [
        (i, k and k.encode(), v and v.encode()) for i, (k, v) in enumerate(EXPECTED)]
    assert records[0].headers == [("a", b"1"), ("b", b"2"), ("a", b"3"), ("n", None)]


def test_format_string_and_start_offsets(kgw_bootstrap, kgw_topic):
    produce(kgw_bootstrap, kgw_topic, [b"k%d=v%d" % (i, i) for i in range(10)], "-K=", "-H", "h=x")
    fmt = ["-f", "%t|%p|%o|%k|%s|%h|%K|%S\n"]

    def fetch(*args):
        return kcat(kgw_bootstrap, "-C", "-t", kgw_topic, "-e", "-q", *fmt, *args).stdout.decode().splitlines()

    line = f"{kgw_topic}|0|{{o}}|k{{o}}|v{{o}}|h=x|2|2"
    assert fetch("-o", "beginning") == [line.format(o=i) for i in range(10)]
    assert fetch("-o", "4") == [line.format(o=i) for i in range(4, 10)]
    assert fetch("-o", "-3") == [line.format(o=i) for i in range(7, 10)]
    assert fetch("-o", "end") == []
    assert fetch("-o", "2", "-c", "3") == [line.format(o=i) for i in range(2, 5)]
    # Past the end: offset out of range, reset to the end (auto.offset.reset=latest).
    assert fetch("-o", "25", "-p", "0") == []
    assert fetch("-o", "25", "-p", "0", "-X", "auto.offset.reset=earliest") == [line.format(o=i) for i in range(10)]


def test_timestamps_query_and_start_at_timestamp(kgw_bootstrap, kgw_topic):
    for run in range(3):
        produce(kgw_bootstrap, kgw_topic, [b"run%d-%d" % (run, i) for i in range(3)])
        time.sleep(0.005)
    rows = [line.split() for line in kcat(kgw_bootstrap, "-C", "-t", kgw_topic, "-e", "-q", "-o", "beginning",
                                          "-f", "%o %T %s\n").stdout.decode().splitlines()]
    assert [(int(o), s) for o, _, s in rows] == [(3 * r + i, "run%d-%d" % (r, i)) for r in range(3) for i in range(3)]
    ts = [int(t) for _, t, _ in rows]
    # One kcat run, one batch, one timestamp; runs strictly later.
    assert ts[0] == ts[2] < ts[3] == ts[5] < ts[6] == ts[8]

    def query(timestamp):
        return kcat(kgw_bootstrap, "-Q", "-t", f"{kgw_topic}:0:{timestamp}").stdout.decode().strip()

    assert query(0) == f"{kgw_topic} [0] offset 0"
    assert query(ts[3]) == f"{kgw_topic} [0] offset 3"
    assert query(ts[3] + 1) == f"{kgw_topic} [0] offset 6"
    assert query(ts[8] + 1) == f"{kgw_topic} [0] offset -1"  # none: the end (-1)
    answer = json.loads(kcat(kgw_bootstrap, "-Q", "-J", "-t", f"{kgw_topic}:0:{ts[6]}").stdout)
    assert answer == {kgw_topic: {"topic": kgw_topic, "0": {"partition": 0, "offset": 6}}}

    def start_at(timestamp):
        out = kcat(kgw_bootstrap, "-C", "-t", kgw_topic, "-e", "-q", "-o", f"s@{timestamp}", "-f", "%o\n")
        return [int(o) for o in out.stdout.split()]

    assert start_at(ts[3]) == [3, 4, 5, 6, 7, 8]
    assert start_at(ts[3] + 1) == [6, 7, 8]
    # e@: stop before the first message at or after the timestamp.
    out = kcat(kgw_bootstrap, "-C", "-t", kgw_topic, "-q", "-o", "beginning", "-o", f"e@{ts[6]}", "-f", "%o\n")
    assert [int(o) for o in out.stdout.split()] == [0, 1, 2, 3, 4, 5]


@pytest.mark.kgw_topic(partitions=3)
def test_many_partitions(kgw_bootstrap, kgw_topic):
    for p in range(3):
        produce(kgw_bootstrap, kgw_topic, [b"p%d-%d" % (p, i) for i in range(p + 2)], "-p", str(p))
    messages = consume_json(kgw_bootstrap, kgw_topic, "-o", "beginning")
    got = sorted((m["partition"], m["offset"], m["payload"]) for m in messages)
    assert got == [(p, i, "p%d-%d" % (p, i)) for p in range(3) for i in range(p + 2)]
    only_1 = consume_json(kgw_bootstrap, kgw_topic, "-p", "1", "-o", "beginning")
    assert [(m["partition"], m["offset"]) for m in only_1] == [(1, 0), (1, 1), (1, 2)]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codec_is_really_used(kgw_broker, kgw_topic, codec):
    # Compressible lines: librdkafka sends uncompressed when compressing
    # would not save space.
    lines = [b"%s-%03d-" % (codec.encode(), i) + b"abcd" * 50 for i in range(100)]
    produce(kgw_broker.bootstrap, kgw_topic, lines, "-z", codec)
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert sum(b.record_count for b in batches) == 100
    # librdkafka 2.0.2 compresses only if Produce v0 is advertised (so kgw
    # advertises Produce 0-10), zstd only with Produce 7 and Fetch 10, and
    # lz4 only when FindCoordinator is advertised (any version): otherwise
    # the batch goes out uncompressed without an error.
    codecs = {b.compression for b in batches}
    if codec == "lz4":
        assert codecs == {Codec.LZ4}, (f"stored {codecs}; kgw advertises FindCoordinator: "
                                       f"{10 in advertised(kgw_broker.bootstrap)}")
    else:
        assert codecs == {Codec[codec.upper()]}
    assert [r.value for b in batches for r in b.records()] == lines
    messages = consume_json(kgw_broker.bootstrap, kgw_topic, "-o", "beginning")
    assert [(m["offset"], m["payload"]) for m in messages] == [(i, line.decode()) for i, line in enumerate(lines)]


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_restart_between_produce_and_consume_loses_nothing(own_kgw, topic_name, crash):
    lines = [b"key-%d\tvalue-%d" % (i, i) for i in range(300)]
    produce(own_kgw.bootstrap, topic_name, lines[:150], "-K", "\\t", "-X", "acks=all", "-z", "snappy")
    produce(own_kgw.bootstrap, topic_name, lines[150:], "-K", "\\t", "-X", "acks=all")
    own_kgw.restart(crash=crash)
    messages = consume_json(own_kgw.bootstrap, topic_name, "-o", "beginning")
    assert essentials(messages) == [(0, i, "key-%d" % i, "value-%d" % i, None) for i in range(300)]
    produce(own_kgw.bootstrap, topic_name, [b"after"])
    assert [(m["offset"], m["payload"]) for m in consume_json(own_kgw.bootstrap, topic_name, "-o", "-1")] == [
        (300, "after")]


@pytest.mark.kgw_only("cuts connections to a kgw of its own behind a proxy (kgw_behind_proxy)")
def test_idempotent_producer_with_cut_connections_writes_each_message_once(kgw_behind_proxy, topic_name):
    server, proxy = kgw_behind_proxy
    bootstrap = f"127.0.0.1:{proxy.port}"
    chunks, per_chunk = 5, 400
    n = chunks * per_chunk
    # -E: do not exit when every connection is down for a moment.
    cmd = ["kcat", "-b", bootstrap, *COMMON, "-E", "-P", "-t", topic_name, "-p", "0",
           "-X", "enable.idempotence=true", "-X", "linger.ms=2", "-X", "batch.num.messages=40",
           "-X", "retry.backoff.ms=20", "-X", "reconnect.backoff.ms=10", "-X", "reconnect.backoff.max.ms=100",
           # Should a cut not reach the client as a reset, it costs one
           # request timeout (FINDINGS.md): keep that short.
           "-X", "socket.timeout.ms=1000"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        cuts = 0
        for chunk in range(chunks):
            proc.stdin.write(b"".join(b"seq-%05d\n" % i for i in range(chunk * per_chunk, (chunk + 1) * per_chunk)))
            proc.stdin.flush()
            # Once part of the chunk is stored, the rest is queued or in flight.
            deadline = time.monotonic() + 20
            while sum(b.record_count for b in stored_batches(server.data_dir, topic_name)) < chunk * per_chunk + 50:
                assert proc.poll() is None, f"kcat exited {proc.returncode}: {proc.stderr.read().decode()}"
                assert time.monotonic() < deadline, "kcat made no progress"
                time.sleep(0.005)
            cuts += proxy.cut() > 0
        proc.stdin.close()
        assert proc.wait(60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    assert cuts == chunks
    assert proxy.connections > chunks

    batches = stored_batches(server.data_dir, topic_name)
    assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
    assert batches[0].producer_id >= 0
    offset = 0
    for b in batches:
        assert (b.base_offset, b.base_sequence) == (offset, offset)  # no gap, no repeat
        offset += b.record_count
    assert offset == n
    messages = consume_json(bootstrap, topic_name, "-o", "beginning")
    assert [(m["offset"], m["payload"]) for m in messages] == [(i, "seq-%05d" % i) for i in range(n)]


def test_balanced_consumer_commits_and_resumes(kgw_bootstrap, kgw_topic):
    """kcat -G (beyond this issue's assign-only scope, but cheap): librdkafka
    2.0.2 uses OffsetFetch v7, a flexible version, so any non-empty tagged
    field in kgw's answer would misalign it (CENSUS S1)."""
    produce(kgw_bootstrap, kgw_topic, [b"g%d" % i for i in range(5)])
    group = f"kcat-{kgw_topic}"

    def run_group():
        out = kcat(kgw_bootstrap, "-G", group, kgw_topic, "-e", "-q", "-f", "%o:%s\n",
                   "-X", "auto.offset.reset=earliest", "-X", "fetch.wait.max.ms=100")
        return out.stdout.decode().split()

    assert run_group() == [f"{i}:g{i}" for i in range(5)]
    assert run_group() == []  # committed on the way out
    produce(kgw_bootstrap, kgw_topic, [b"g5", b"g6"])
    assert run_group() == ["5:g5", "6:g6"]
