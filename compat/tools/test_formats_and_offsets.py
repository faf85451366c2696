"""The tools' output formats, start positions, commits and topic changes,
checked against what real clients wrote, read and see: kcat's own -f
output, confluent-kafka (librdkafka) producers, consumers and admin."""

import json
import time

import pytest

from ..confluent.util import DEADLINE_S, Deliveries, admin, ck, consumer, producer, read_all
from ..harness import require, require_program
from ..kcat.util import kcat

BASE_TS = 1_700_000_000_000
TEMPLATE = "%t|%p|%o|%T|%k|%K|%s|%S|%h\\n"


@pytest.mark.kgw_topic(partitions=2)
def test_templates_print_what_kcat_prints(kgw_bootstrap, cli, kgw_topic):
    """kcat -f and kgw consume -f agree, token for token, on what
    librdkafka wrote (kcat prints a null as nothing: --null-literal '')."""
    require("confluent_kafka")
    require_program("kcat")
    reports = Deliveries()
    with producer(kgw_bootstrap) as p:
        for i in range(6):
            p.produce(kgw_topic, key=None if i == 2 else f"k{i}", value=f"value {i}", partition=i % 2,
                      headers=[("h", f"{i}".encode()), ("n", b"x")] if i % 3 else None,
                      timestamp=BASE_TS + i, on_delivery=reports)
    assert reports.errors == []
    for partition in (0, 1):
        theirs = kcat(kgw_bootstrap, "-C", "-t", kgw_topic, "-p", str(partition), "-e", "-q",
                      "-f", TEMPLATE).stdout.decode()
        ours = cli("consume", kgw_topic, "-p", partition, "--from-beginning", "-f", TEMPLATE,
                   "--null-literal", "")
        assert (ours.exit_code, ours.stderr) == (0, "")
        assert ours.stdout == theirs
        assert len(theirs.splitlines()) == 3


def test_nulls_and_binary_values_librdkafka_wrote(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    with producer(kgw_bootstrap) as p:
        p.produce(kgw_topic, key=b"null", value=None, timestamp=BASE_TS)
        p.produce(kgw_topic, key=None, value=b"null", timestamp=BASE_TS + 1)
        p.produce(kgw_topic, key=b"\xff\x01", value=bytes(range(250, 256)), timestamp=BASE_TS + 2)
    text = cli("consume", kgw_topic, "--from-beginning", "--print-key", "--print-offset")
    assert text.stdout_bytes.splitlines() == [
        b"Offset:0\tnull\t(null)", b"Offset:1\t(null)\tnull", b"Offset:2\t\xff\x01\t" + bytes(range(250, 256))]
    hexed = cli("consume", kgw_topic, "--offset", 2, "--print-key", "--key-format", "hex",
                "--value-format", "hex")
    assert hexed.stdout == "ff01\tfafbfcfdfeff\n"
    objects = [json.loads(line) for line in cli("consume", kgw_topic, "--from-beginning",
                                                "-f", "json").stdout.splitlines()]
    assert [(o["key"], o["key_encoding"], o["value"], o["value_encoding"]) for o in objects] == [
        ("null", "text", None, None), (None, None, "null", "text"), ("/wE=", "base64", "+vv8/f7/", "base64")]


def test_kgw_produce_creates_the_topic_for_a_real_consumer(kgw_bootstrap, cli, topic_name):
    """Asked as a producer asks (allow_auto_topic_creation), the broker
    creates the topic; binary values go in as base64 lines."""
    require("confluent_kafka")
    produced = cli("produce", topic_name, "--value-format", "base64", "--key", "k", input="AAEC\n/w==\n")
    try:
        assert (produced.exit_code, produced.stderr) == (0, "")
        rows = read_all(kgw_bootstrap, topic_name)
        assert [(r[1], r[2], r[3]) for r in rows] == [(0, b"k", b"\x00\x01\x02"), (1, b"k", b"\xff")]
    finally:
        cli("topics", "delete", topic_name, "--if-exists")


def test_a_real_consumer_resumes_where_kgw_consume_committed(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    TopicPartition = ck().TopicPartition
    cli("produce", kgw_topic, input="".join(f"m{i}\n" for i in range(5)))
    idle, group = f"{kgw_topic}-idle", f"{kgw_topic}-group"
    # A new group that printed nothing has nothing committed...
    assert cli("consume", kgw_topic, "--group", idle).stdout == ""
    # ...and one that printed three records has exactly those.
    assert cli("consume", kgw_topic, "--group", group, "--from-beginning", "--count", 3).stdout == "m0\nm1\nm2\n"
    conf = dict(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
    with consumer(kgw_bootstrap, **conf) as c:
        (tp,) = c.committed([TopicPartition(kgw_topic, 0)], timeout=DEADLINE_S)
        assert tp.offset == 3
        c.subscribe([kgw_topic])
        values = []
        while len(values) < 2:
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                values.append((msg.offset(), msg.value()))
        assert values == [(3, b"m3"), (4, b"m4")]
    with consumer(kgw_bootstrap, group_id=idle, enable_auto_commit=False) as c:
        (tp,) = c.committed([TopicPartition(kgw_topic, 0)], timeout=DEADLINE_S)
        assert tp.offset == ck().OFFSET_INVALID


def test_alter_partitions_as_a_real_client_sees_it(kgw_bootstrap, cli, kgw_topic):
    require("confluent_kafka")
    altered = cli("topics", "alter", kgw_topic, "--partitions", 3)
    assert (altered.exit_code, altered.stderr) == (0, "")
    # Kafka's brokers learn of new partitions from its controller a moment
    # after CreatePartitions is answered.
    deadline = time.monotonic() + DEADLINE_S
    with admin(kgw_bootstrap) as adm:
        while sorted(adm.list_topics(kgw_topic, timeout=DEADLINE_S).topics[kgw_topic].partitions) != [0, 1, 2]:
            assert time.monotonic() < deadline, "the new partitions never showed"
            time.sleep(0.1)
    reports = Deliveries()
    with producer(kgw_bootstrap) as p:
        p.produce(kgw_topic, value=b"in the new partition", partition=2, on_delivery=reports)
    assert reports.errors == []
    assert cli("consume", kgw_topic, "-p", 2, "--from-beginning").stdout == "in the new partition\n"
    described = json.loads(cli("topics", "describe", kgw_topic, "--format", "json").stdout)
    assert [(d["partition"], d["end_offset"]) for d in described[0]["partition_details"]] == [(0, 0), (1, 0), (2, 1)]
