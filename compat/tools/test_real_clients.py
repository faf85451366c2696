"""`kgw log dump`, `consume`, `produce` and `groups` on data real clients wrote
and read: confluent-kafka (librdkafka) and kafka-python, every codec."""

import json
import re
import time

import pytest

from kgw.tools.command import table
from kgw.tools.partitioner import partition_for_key

from ..confluent.util import DEADLINE_S, Deliveries, consumer, producer, read_all
from ..harness import require, stored_batches
from ..kafka_python._kp import Clients, require_codec
from ..kafka_python._kp import read_all as kp_read_all

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BASE_TS = 1_700_000_000_000
MESSAGES = 20


@pytest.fixture
def kp():
    require("kafka")
    made = Clients()
    yield made
    assert made.close_all() == []


def _record_lines(dump: str) -> list[str]:
    return [line for line in dump.splitlines() if line.startswith("| ")]


def _codecs(dump: str) -> set[str]:
    return set(re.findall(r" codec: (\S+) ", dump))


def _value(i: int) -> str:
    # librdkafka sends a batch uncompressed when the codec does not make it
    # smaller, and on a loaded machine it may send one message per batch (a
    # flush that starts before the topic's metadata arrives drops the linger).
    # A long run of one letter makes every record shrink under every codec,
    # however the client batches them.
    return "v" * (64 + i) + str(i)


def _expected_records(count: int, first_offset: int = 0) -> list[str]:
    return [f'| offset: {first_offset + i} CreateTime: {BASE_TS + i} key: "k{i}" '
            f'value: "{_value(i)}" headers: {{"n": "{i}"}}' for i in range(count)]


@pytest.mark.kgw_only("kgw's offline tool `kgw log dump`")
@pytest.mark.parametrize("codec", CODECS)
def test_dump_of_what_librdkafka_wrote(kgw_broker, cli, kgw_topic, codec):
    require("confluent_kafka")
    reports = Deliveries()
    with producer(kgw_broker.bootstrap, compression_type=codec, linger_ms=10_000) as p:
        for i in range(MESSAGES):
            p.produce(kgw_topic, key=f"k{i}", value=_value(i), headers=[("n", str(i))],
                      timestamp=BASE_TS + i, on_delivery=reports)
    assert reports.errors == []
    dump = cli("log", "dump", kgw_broker.data_dir / f"{kgw_topic}-0")
    assert (dump.exit_code, dump.stderr) == (0, "")
    assert _codecs(dump.stdout) == {codec}
    assert "valid: false" not in dump.stdout
    assert _record_lines(dump.stdout) == _expected_records(MESSAGES)


@pytest.mark.kgw_only("kgw's offline tool `kgw log dump`")
@pytest.mark.parametrize("codec", CODECS)
def test_dump_of_what_kafka_python_wrote(kgw_broker, cli, kp, kgw_topic, codec):
    if codec != "none":
        require_codec(codec)
    sender = kp.producer(kgw_broker.bootstrap, compression_type=None if codec == "none" else codec,
                         linger_ms=10_000)
    for i in range(MESSAGES):
        sender.send(kgw_topic, key=f"k{i}".encode(), value=_value(i).encode(),
                    headers=[("n", str(i).encode())], timestamp_ms=BASE_TS + i)
    sender.flush(10)
    dump = cli("log", "dump", kgw_broker.data_dir / f"{kgw_topic}-0")
    assert (dump.exit_code, dump.stderr) == (0, "")
    assert _codecs(dump.stdout) == {codec}
    assert _record_lines(dump.stdout) == _expected_records(MESSAGES)


def test_consume_what_librdkafka_wrote(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    with producer(kgw_bootstrap, compression_type="zstd") as p:
        p.produce(kgw_topic, key=b"k", value=b"hello", headers=[("h", b"1"), ("h", None)],
                  timestamp=BASE_TS)
        p.produce(kgw_topic, value=b"\x00\xff", timestamp=BASE_TS + 1)
    result = cli("consume", kgw_topic, "--from-beginning", "-f", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"topic": kgw_topic, "partition": 0, "offset": 0, "timestamp": BASE_TS,
         "key": "k", "key_encoding": "text", "value": "hello", "value_encoding": "text",
         "headers": [{"key": "h", "value": "1", "value_encoding": "text"},
                     {"key": "h", "value": None, "value_encoding": None}]},
        {"topic": kgw_topic, "partition": 0, "offset": 1, "timestamp": BASE_TS + 1,
         "key": None, "key_encoding": None, "value": "AP8=", "value_encoding": "base64",
         "headers": []},
    ]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_real_clients_read_what_kgw_produce_wrote(kgw_bootstrap, cli, kp, kgw_topic, codec):
    require("confluent_kafka")
    require_codec(codec)
    produced = cli("produce", kgw_topic, "-z", codec, "-k", ":", "-H", "source=kgw",
                   input="a:1\nb:2\nc:3\n")
    assert produced.exit_code == 0, produced.stderr
    rows = read_all(kgw_bootstrap, kgw_topic)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (i, k, v, [("source", b"kgw")]) for i, (k, v) in enumerate([(b"a", b"1"), (b"b", b"2"),
                                                                     (b"c", b"3")])]
    (records,) = kp_read_all(kp.consumer(kgw_bootstrap), kgw_topic, [0], 3).values()
    assert [(r.key, r.value, list(r.headers)) for r in records] == [
        (b"a", b"1", [("source", b"kgw")]), (b"b", b"2", [("source", b"kgw")]),
        (b"c", b"3", [("source", b"kgw")])]


def test_consume_read_committed_skips_what_librdkafka_aborted(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    with producer(kgw_bootstrap, transactional_id=f"tools-{kgw_topic}") as p:
        p.init_transactions(10)
        for values, commit in ((["c1", "c2"], True), (["a1", "a2"], False), (["c3"], True),
                               (["open"], None)):
            p.begin_transaction()
            for value in values:
                p.produce(kgw_topic, value=value, partition=0)
            p.flush(10)
            if commit is not None:
                (p.commit_transaction if commit else p.abort_transaction)(10)
        # The last transaction is still open: read_committed stops before it.
        committed = cli("consume", kgw_topic, "--from-beginning", "--isolation-level", "read_committed")
        everything = cli("consume", kgw_topic, "--from-beginning", "-f", "json")
    assert (committed.exit_code, committed.stderr) == (0, "")
    assert committed.stdout.splitlines() == ["c1", "c2", "c3"]
    # Read uncommitted, every record shows, with the offsets the markers took.
    assert [(r["offset"], r["value"]) for r in map(json.loads, everything.stdout.splitlines())] == [
        (0, "c1"), (1, "c2"), (3, "a1"), (4, "a2"), (6, "c3"), (8, "open")]


def test_transactions_tool_shows_what_librdkafka_left_open(kgw_broker, cli, kgw_topic):
    require("confluent_kafka")
    txn_id = f"tools-{kgw_topic}"
    with producer(kgw_broker.bootstrap, transactional_id=txn_id, transaction_timeout_ms=40_000) as p:
        p.init_transactions(10)
        p.begin_transaction()
        p.produce(kgw_topic, value="kept", partition=0)
        p.commit_transaction(10)
        p.begin_transaction()
        p.produce(kgw_topic, value="open", partition=0)
        p.flush(10)
        # Offsets: kept 0, its COMMIT marker 1, open 2.
        (pid,) = {b.producer_id for b in stored_batches(kgw_broker.data_dir, kgw_topic)}
        listed = cli("transactions", "list", "--state", "Ongoing", "--producer-id", pid)
        described = cli("transactions", "describe", txn_id)
        producers = cli("transactions", "describe-producers", kgw_topic, "-p", 0)
        p.abort_transaction(10)
    assert (listed.exit_code, listed.stderr) == (0, "")
    assert listed.stdout.splitlines()[1:] == [
        table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
              [[txn_id, 0, pid, "Ongoing"]]).splitlines()[1]]
    header, row = described.stdout.splitlines()
    cells = row.split()
    assert header.split() == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch",
                              "TransactionState", "TransactionTimeoutMs",
                              "CurrentTransactionStartTimeMs", "TopicPartitions"]
    assert cells[:6] + cells[7:] == ["0", txn_id, str(pid), "0", "Ongoing", "40000", f"{kgw_topic}-0"]
    assert int(cells[6]) > BASE_TS
    header, row = producers.stdout.splitlines()
    assert header.split()[0] == "ProducerId"
    # Epoch 0, the COMMIT marker's coordinator epoch 0, sequences 0 and 1, the
    # open transaction from offset 2.
    cells = row.split()
    assert cells[:4] + cells[5:] == [str(pid), "0", "0", "1", "2"]
    assert int(cells[4]) > BASE_TS
    bogus = cli("transactions", "list", "--state", "Bogus")
    assert bogus.exit_code == 2 and "unknown transaction state(s): Bogus" in bogus.stderr
    missing = cli("transactions", "describe", f"{txn_id}-never")
    assert (missing.exit_code, missing.stderr) == (
        1, f"Error: describing transactional id '{txn_id}-never': TRANSACTIONAL_ID_NOT_FOUND\n")


@pytest.mark.kgw_topic(partitions=5)
def test_keys_land_where_the_java_partitioner_puts_them(kgw_bootstrap, cli, kgw_topic):
    """librdkafka's murmur2_random is the Java client's partitioner for keyed
    messages; `kgw produce` must agree with it."""
    require("confluent_kafka")
    keys = [f"user-{i}" for i in range(40)]
    reports = Deliveries()
    with producer(kgw_bootstrap, partitioner="murmur2_random") as p:
        for key in keys:
            p.produce(kgw_topic, key=key, value=b"librdkafka", on_delivery=reports)
    assert reports.errors == []
    librdkafka = {r[3].decode(): r[1] for r in reports.reports}
    assert librdkafka == {k: partition_for_key(k.encode(), 5) for k in keys}
    cli("produce", kgw_topic, "-k", "=", input="".join(f"{k}=kgw\n" for k in keys))
    placed = {}
    for partition in range(5):
        out = cli("consume", kgw_topic, "--from-beginning", "-p", partition, "--print-key").stdout
        for line in out.splitlines():
            key, value = line.split("\t")
            if value == "kgw":
                placed[key] = partition
    assert placed == librdkafka


def test_groups_of_a_real_consumer(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    group = f"{kgw_topic}-group"
    cli("produce", kgw_topic, input="".join(f"m{i}\n" for i in range(10)))
    conf = dict(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                session_timeout_ms=30000, client_id="compat-tools")
    with consumer(kgw_bootstrap, **conf) as c:
        c.subscribe([kgw_topic])
        got = _poll(c, 4)
        c.commit(message=got[-1], asynchronous=False)
        described = cli("groups", "describe", group)
        lines = described.stdout.splitlines()
        assert lines[0] == f"Group: {group}\tState: Stable\tProtocol: range\tMembers: 1"
        row = lines[3].split()
        assert row[:5] == [kgw_topic, "0", "4", "10", "6"]
        assert row[-1] == "compat-tools"
        refused = cli("groups", "reset-offsets", group, "--all-topics", "--to-earliest")
        assert (refused.exit_code, refused.stderr) == (
            1, f"Error: group '{group}' is Stable with 1 member(s); stop its consumers before "
               "resetting its offsets\n")
    reset = cli("groups", "reset-offsets", group, "--all-topics", "--to-offset", 7)
    assert reset.exit_code == 0, reset.stderr
    with consumer(kgw_bootstrap, **conf) as c:
        c.subscribe([kgw_topic])
        (msg,) = _poll(c, 1)
        assert (msg.offset(), msg.value()) == (7, b"m7")
    assert cli("groups", "delete", group).stdout == f"Deleted group {group}.\n"


def _poll(c, count: int) -> list:
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} messages"
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg)
    return got


@pytest.mark.kgw_only("kgw's offline tool `kgw log check`")
@pytest.mark.kgw_topic(partitions=3)
def test_log_check_after_real_clients(kgw_broker, cli, kgw_topic):
    require("confluent_kafka")
    with producer(kgw_broker.bootstrap, compression_type="lz4") as p:
        for i in range(300):
            p.produce(kgw_topic, key=str(i), value=b"x" * 100)
    result = cli("log", "check", kgw_broker.data_dir)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1].endswith(": no problems")
