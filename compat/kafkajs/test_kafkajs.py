"""kafkajs 2.2.4 (node) against a live kgw: admin and AlterConfigs, produce with every acks
setting and codec, group consumption, seeks, watermarks, restarts, an
idempotent producer behind a cutting proxy, and consumer groups (issue 5)."""

import threading
import time
from collections import Counter

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from ._node import NodeProcess, now_ms, require_kafkajs, run, standard_messages, without_timestamps


@pytest.fixture(autouse=True)
def node():
    return require_kafkajs()


def create(bootstrap, topic, partitions=1):
    assert run("create_topic", bootstrap, topic, partitions=partitions) == {"created": True}


def offsets_of(result) -> dict:
    return {p["partition"]: (int(p["low"]), int(p["high"])) for p in result["offsets"]}


# --- admin -----------------------------------------------------------------

def test_admin_topics(kgw_bootstrap, topic_name):
    r = run("admin_topics", kgw_bootstrap, topic_name)
    host, port = kgw_bootstrap.split(":")
    assert r["created"] is True
    assert r["createdAgain"] is False  # TOPIC_ALREADY_EXISTS, which kafkajs maps to false
    assert r["invalid"] == ["INVALID_PARTITIONS"]
    assert r["listed"] is True
    assert r["metadata"] == [{"name": topic_name, "partitions": [
        {"partitionId": p, "leader": 0, "replicas": [0], "isr": [0], "errorCode": 0} for p in range(3)]}]
    assert r["topicConfigs"] == [{
        "errorCode": 0, "resourceType": 2, "resourceName": topic_name,
        "entries": {"retention.ms": "3600000", "cleanup.policy": "delete", "max.message.bytes": "1048588"},
    }]
    # includeSynonyms: the topic's override first, then the broker default.
    ((retention,),) = [r["synonyms"]]
    assert (retention["name"], retention["value"], retention["source"]) == ("retention.ms", "3600000", 1)
    assert retention["synonyms"][0] == {"configName": "retention.ms", "configValue": "3600000", "configSource": 1}
    assert [s["configSource"] for s in retention["synonyms"][1:]] == [5]
    assert r["partitionsAfterGrow"] == 5  # CreatePartitions
    assert r["shrink"] == "INVALID_PARTITIONS"
    assert r["brokerConfigError"] == 0 and r["brokerConfigCount"] > 0
    assert r["cluster"] == {"brokers": [{"nodeId": 0, "host": host, "port": int(port)}],
                            "controller": 0, "clusterIdType": "string"}
    assert r["listedAfterDelete"] is False
    assert r["metadataAfterDelete"] == "UNKNOWN_TOPIC_OR_PARTITION"


@pytest.mark.kgw_topic(partitions=3)
def test_watermarks_offsets_by_timestamp_and_delete_records(kgw_bootstrap, kgw_topic):
    before = now_ms() - 1
    run("produce", kgw_bootstrap, kgw_topic, count=6, partition=0)
    time.sleep(0.02)
    middle = now_ms()
    time.sleep(0.02)
    run("produce", kgw_bootstrap, kgw_topic, count=4, partition=0, prefix="late")
    run("produce", kgw_bootstrap, kgw_topic, count=3, partition=1)
    after = now_ms() + 60_000

    r = run("offsets", kgw_bootstrap, kgw_topic, timestamps=[before, middle, after])
    assert offsets_of(r) == {0: (0, 10), 1: (0, 3), 2: (0, 0)}
    assert [p["offset"] == str(p["high"]) for p in r["offsets"]] == [True] * 3
    # partition 1 was written after `middle`: its first offset is 0.
    assert r[f"ts_{before}"] == [{"partition": 0, "offset": "0"}, {"partition": 1, "offset": "0"},
                                 {"partition": 2, "offset": "0"}]
    assert r[f"ts_{middle}"] == [{"partition": 0, "offset": "6"}, {"partition": 1, "offset": "0"},
                                 {"partition": 2, "offset": "0"}]
    # No record that late: kafkajs substitutes the high watermark for Kafka's -1.
    assert r[f"ts_{after}"] == [{"partition": 0, "offset": "10"}, {"partition": 1, "offset": "3"},
                                {"partition": 2, "offset": "0"}]

    d = run("delete_records", kgw_bootstrap, kgw_topic, offset=4)
    assert [(p["partition"], p["low"], p["high"]) for p in d["afterDelete"]] == [
        (0, "4", "10"), (1, "0", "3"), (2, "0", "0")]
    # offset -1 means "up to the high watermark".
    assert [(p["partition"], p["low"], p["high"]) for p in d["afterDeleteAll"]] == [
        (0, "10", "10"), (1, "0", "3"), (2, "0", "0")]
    assert d["beyondEnd"] == {"name": "KafkaJSNonRetriableError", "cause": "KafkaJSDeleteTopicRecordsError",
                              "partitions": [{"partition": 0, "offset": "1000", "error": "OFFSET_OUT_OF_RANGE"}]}
    # A new group starting from the beginning starts at the log start offset.
    c = run("consume", kgw_bootstrap, kgw_topic, count=4, timeoutMs=1500)
    assert c["timedOut"] is True
    assert [(m["partition"], m["offset"]) for m in c["messages"]] == [(1, 0), (1, 1), (1, 2)]


# --- AlterConfigs (kafkajs has no IncrementalAlterConfigs) ------------------

CONFIG_NAMES = ["max.message.bytes", "retention.ms", "cleanup.policy"]
# DescribeConfigs' config_source: a topic override, a default.
TOPIC_CONFIG, DEFAULT_CONFIG = 1, 5
DEFAULT_CONFIGS = {"max.message.bytes": ["1048588", DEFAULT_CONFIG], "retention.ms": ["604800000", DEFAULT_CONFIG],
                   "cleanup.policy": ["delete", DEFAULT_CONFIG]}
TOO_LARGE = {"rejected": {"name": "KafkaJSProtocolError", "type": "MESSAGE_TOO_LARGE", "retriable": False}}


def alter_configs(bootstrap, topic, *calls) -> dict:
    """Each call's outcome, then the topic's CONFIG_NAMES as name -> [value, source]."""
    return run("alter_configs", bootstrap, topic, calls=list(calls), describe=CONFIG_NAMES)


def change(*resources, validate_only=False) -> dict:
    return {"resources": list(resources), "validateOnly": validate_only}


def resource(name, *entries, resource_type=2) -> dict:
    """A TOPIC (2) or BROKER (4) resource with (config name, value) entries."""
    return {"type": resource_type, "name": name, "configEntries": [{"name": k, "value": v} for k, v in entries]}


def done(topic) -> dict:
    return {"resources": [{"errorCode": 0, "errorMessage": None, "resourceType": 2, "resourceName": topic}]}


def refused(error) -> dict:
    return {"rejected": {"name": "KafkaJSProtocolError", "type": error}}


@pytest.mark.kgw_topic(configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
def test_alter_configs_replaces_the_overrides_and_takes_effect_at_once(kgw_bootstrap, kgw_topic):
    r = alter_configs(kgw_bootstrap, kgw_topic,
                      change(resource(kgw_topic, ("max.message.bytes", "2000"))),
                      change(resource(kgw_topic, ("max.message.bytes", "100")), validate_only=True))
    assert r["outcomes"] == [done(kgw_topic), done(kgw_topic)]
    # The configs not named are back to their defaults; the dry run changed nothing.
    assert r["configs"] == {**DEFAULT_CONFIGS, "max.message.bytes": ["2000", TOPIC_CONFIG]}
    assert run("produce_record", kgw_bootstrap, kgw_topic, size=5000) == TOO_LARGE
    assert run("produce_record", kgw_bootstrap, kgw_topic, size=1000) == {
        "accepted": {"partition": 0, "baseOffset": "0"}}
    # No entries at all: every override goes, and the large record is taken.
    assert alter_configs(kgw_bootstrap, kgw_topic, change(resource(kgw_topic))) == {
        "outcomes": [done(kgw_topic)], "configs": DEFAULT_CONFIGS}
    assert run("produce_record", kgw_bootstrap, kgw_topic, size=5000) == {
        "accepted": {"partition": 0, "baseOffset": "1"}}


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
def test_alter_configs_errors_and_restart(own_kgw, topic_name):
    create(own_kgw.bootstrap, topic_name)
    missing = f"{topic_name}-missing"
    r = alter_configs(
        own_kgw.bootstrap, topic_name,
        change(resource(missing, ("retention.ms", "1000"))),
        change(resource(topic_name, ("no.such.config", "1"))),
        change(resource(topic_name, ("max.message.bytes", "abc"))),
        change(resource(topic_name, ("retention.ms", "1000"), ("retention.ms", "2000"))),
        change(resource("0", ("log.retention.ms", "1000"), resource_type=4)),  # broker configs are static
        change(resource(topic_name, ("max.message.bytes", "-5")), validate_only=True),
        # Resources are altered one by one: kafkajs throws the missing
        # topic's error, and the other resource's change is made all the same.
        change(resource(topic_name, ("max.message.bytes", "2000"), ("retention.ms", "3600000")),
               resource(missing, ("retention.ms", "1000"))),
    )
    assert r["outcomes"] == [
        refused("UNKNOWN_TOPIC_OR_PARTITION"), refused("INVALID_CONFIG"), refused("INVALID_CONFIG"),
        refused("INVALID_REQUEST"), refused("INVALID_CONFIG"), refused("INVALID_CONFIG"),
        refused("UNKNOWN_TOPIC_OR_PARTITION")]
    altered = {**DEFAULT_CONFIGS, "max.message.bytes": ["2000", TOPIC_CONFIG],
               "retention.ms": ["3600000", TOPIC_CONFIG]}
    assert r["configs"] == altered
    # The overrides are in the topic's metadata file: they survive kill -9.
    own_kgw.restart(crash=True)
    assert alter_configs(own_kgw.bootstrap, topic_name) == {"outcomes": [], "configs": altered}
    assert run("produce_record", own_kgw.bootstrap, topic_name, size=5000) == TOO_LARGE


# --- produce and consume ---------------------------------------------------

def test_default_producer_auto_creates_topic(kgw_bootstrap, topic_name):
    # kafkajs producers allow auto-creation by default (Metadata v6
    # allow_auto_topic_creation=true), and kgw auto-creates with 1 partition.
    p = run("produce", kgw_bootstrap, topic_name, count=3, producer={"allowAutoTopicCreation": True})
    assert p["results"] == [[{"partition": 0, "errorCode": 0, "baseOffset": "0"}]]
    assert offsets_of(run("offsets", kgw_bootstrap, topic_name)) == {0: (0, 3)}


@pytest.mark.parametrize("acks", [None, 0, 1, -1], ids=["defaults", "acks0", "acks1", "acksall"])
def test_produce_acks_and_consume_from_beginning(kgw_bootstrap, kgw_topic, acks):
    options = {} if acks is None else {"acks": acks}
    before = now_ms()
    p = run("produce", kgw_bootstrap, kgw_topic, count=10, batch=4, **options)
    after = now_ms()
    if acks == 0:
        # No response: kafkajs reports nothing for acks=0.
        assert p["results"] == [[], [], []]
    else:
        assert p["results"] == [[{"partition": 0, "errorCode": 0, "baseOffset": str(o)}] for o in (0, 4, 8)]

    c = run("consume", kgw_bootstrap, kgw_topic, count=10)
    assert c["timedOut"] is False
    assert without_timestamps(c["messages"]) == standard_messages("m", 10)
    assert c["highWatermarks"] == {"0": "10"}
    assert all(before <= m["timestamp"] <= after for m in c["messages"])
    assert offsets_of(run("offsets", kgw_bootstrap, kgw_topic)) == {0: (0, 10)}
    # The group committed after each message: a second run of it gets nothing.
    again = run("consume", kgw_bootstrap, kgw_topic, count=1, timeoutMs=1000)
    assert (again["messages"], again["timedOut"]) == ([], True)


def test_record_above_max_message_bytes_is_refused(kgw_bootstrap, kgw_topic):
    assert run("produce_record", kgw_bootstrap, kgw_topic, size=1_100_000) == TOO_LARGE
    run("produce", kgw_bootstrap, kgw_topic, count=2)
    assert offsets_of(run("offsets", kgw_bootstrap, kgw_topic)) == {0: (0, 2)}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_compression_codecs(kgw_broker, kgw_topic, codec):
    p = run("produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec, acks=-1)
    assert p["results"] == [[{"partition": 0, "errorCode": 0, "baseOffset": str(o)}] for o in (0, 6)]
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    c = run("consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["messages"]) == standard_messages("m", 12)


def test_seek_to_offset_end_and_timestamp(kgw_bootstrap, kgw_topic):
    run("produce", kgw_bootstrap, kgw_topic, count=6)
    time.sleep(0.02)
    middle = now_ms()
    time.sleep(0.02)
    run("produce", kgw_bootstrap, kgw_topic, count=4, prefix="late")
    expected = standard_messages("m", 6) + standard_messages("late", 4, first_offset=6)

    r = run("seek", kgw_bootstrap, kgw_topic, group=f"{kgw_topic}-seek", count=10, seekOffset=7,
            timestamp=middle)
    assert without_timestamps(r["first"]) == expected
    assert without_timestamps(r["afterSeek"]) == expected[7:]
    assert r["idle"] == []  # at the end, nothing until a new record
    assert [(m["offset"], m["value"]) for m in r["afterEnd"]] == [(10, "after-end")]
    assert r["timestampOffset"] == "6"
    assert [(m["offset"], m["value"]) for m in r["afterTs"]] == (
        [(m["offset"], m["value"]) for m in expected[6:]] + [(10, "after-end")])
    assert [(m["offset"], m["value"]) for m in r["afterOutOfRange"]] == (
        [(m["offset"], m["value"]) for m in expected] + [(10, "after-end")])


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_restart_between_produce_and_consume_loses_nothing(own_kgw, topic_name, crash):
    create(own_kgw.bootstrap, topic_name, 2)
    run("produce", own_kgw.bootstrap, topic_name, count=10, batch=3, acks=-1, partition=0)
    run("produce", own_kgw.bootstrap, topic_name, count=5, acks=-1, partition=1, codec="gzip", prefix="z")
    own_kgw.restart(crash=crash)
    assert offsets_of(run("offsets", own_kgw.bootstrap, topic_name)) == {0: (0, 10), 1: (0, 5)}
    c = run("consume", own_kgw.bootstrap, topic_name, count=15)
    assert without_timestamps(c["messages"]) == (
        standard_messages("m", 10) + standard_messages("z", 5, partition=1))


@pytest.mark.kgw_only("cuts connections to a kgw of its own behind a proxy (kgw_behind_proxy)")
def test_idempotent_producer_with_cut_connections(kgw_behind_proxy, topic_name):
    server, proxy = kgw_behind_proxy
    bootstrap = f"127.0.0.1:{proxy.port}"
    create(bootstrap, topic_name)
    count = 60
    producer = NodeProcess("idempotent", bootstrap, topic_name, count=count, pauseMs=5)
    try:
        cuts = []
        for at in (10, 25, 40, 50):
            producer.wait_for(lambda lines, at=at: any(line.get("sent", 0) >= at for line in lines),
                              what=f"{at} messages sent")
            cuts.append(proxy.cut())
        acks = producer.wait_for(lambda lines: next((x["acks"] for x in lines if "acks" in x), None),
                                 what="the end of the stream")
    finally:
        producer.close()
    assert producer.proc.returncode == 0, "".join(producer.stderr[-30:])
    assert all(n > 0 for n in cuts), cuts
    assert proxy.connections > 1 + len(cuts)
    assert acks == list(range(count))
    c = run("consume", bootstrap, topic_name, count=count + 1, timeoutMs=1500)
    assert [(m["offset"], m["key"], m["value"]) for m in c["messages"]] == [
        (i, f"k{i}", f"idem-{i}") for i in range(count)]
    batches = stored_batches(server.data_dir, topic_name)
    assert len({b.producer_id for b in batches}) == 1 and batches[0].producer_id >= 0
    assert [b.base_sequence for b in batches] == list(range(count))


# --- consumer groups (issue 5) ---------------------------------------------

def _assignment(member: NodeProcess):
    """The member's latest assignment (None before its first join)."""
    joins = [x for x in member.snapshot() if x.get("event") == "joined"]
    return set(joins[-1]["assignment"]) if joins else None


def _processed_since_join(lines) -> int:
    last_join = max((i for i, x in enumerate(lines) if x.get("event") == "joined"), default=None)
    return 0 if last_join is None else sum(1 for x in lines[last_join:] if "p" in x)


def _wait_partitioned(members, partitions=6, timeout=30):
    """Until the members' latest assignments split every partition between
    them and each has processed a message since its last join."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assignments = [_assignment(m) for m in members]
        if all(a for a in assignments) and sum(len(a) for a in assignments) == partitions \
                and set().union(*assignments) == set(range(partitions)) \
                and all(_processed_since_join(m.snapshot()) > 0 for m in members):
            return assignments
        time.sleep(0.1)
    raise AssertionError(f"no stable split: {[_assignment(m) for m in members]}\n"
                         + "\n".join("".join(m.stderr[-10:]) for m in members))


@pytest.mark.kgw_topic(partitions=6)
def test_group_processes_each_message_once_across_rebalances(kgw_bootstrap, kgw_topic):
    group = f"{kgw_topic}-g"
    members = {}
    stream = NodeProcess("stream", kgw_bootstrap, kgw_topic, partitions=6, minimum=600, pauseMs=15)
    try:
        stream.wait_for(lambda lines: any(x.get("event") == "started" for x in lines), what="producer start")
        for name in ("A", "B"):
            members[name] = NodeProcess("member", kgw_bootstrap, kgw_topic, group=group, clientId=name,
                                        sessionTimeout=6000)
        _wait_partitioned([members["A"], members["B"]])
        # A member joins.
        members["C"] = NodeProcess("member", kgw_bootstrap, kgw_topic, group=group, clientId="C",
                                   sessionTimeout=6000)
        _wait_partitioned([members["A"], members["B"], members["C"]])
        # A member leaves cleanly.
        members["B"].send("stop")
        members["B"].wait_for(lambda lines: any(x.get("event") == "stopped" for x in lines), what="B's exit")
        _wait_partitioned([members["A"], members["C"]])
        # A member's process is killed once everything it printed is committed.
        members["C"].send("freeze")
        members["C"].wait_for(lambda lines: any(x.get("event") == "frozen" for x in lines), what="C frozen")
        members["C"].kill()
        _wait_partitioned([members["A"]], timeout=40)  # after the session timeout
        stream.send("stop")
        end = stream.wait_for(lambda lines: next((x for x in lines if "total" in x), None), what="producer end")
        total = end["total"]
        members["A"].wait_for(
            lambda lines: sum(len([x for x in m.snapshot() if "p" in x]) for m in members.values()) >= total,
            timeout=30, what=f"{total} messages processed")
        time.sleep(1)  # anything processed twice would show up now
        members["A"].send("stop")
        members["A"].wait_for(lambda lines: any(x.get("event") == "stopped" for x in lines), what="A's exit")
    finally:
        for m in members.values():
            m.close()
        stream.close()

    processed = {name: [(x["p"], x["o"], x["v"]) for x in m.snapshot() if "p" in x] for name, m in members.items()}
    everything = [x for items in processed.values() for x in items]
    counts = Counter((p, o) for p, o, _ in everything)
    duplicates = {k: v for k, v in counts.items() if v > 1}
    assert duplicates == {}, f"processed more than once: {sorted(duplicates)[:20]} ({len(duplicates)})"
    expected = {(p, o) for p in range(6) for o in range(end["perPartition"][str(p)])}
    assert set(counts) == expected, f"missing {sorted(expected - set(counts))[:20]}"
    # The stream writes s-n to partition n % 6 at offset n // 6.
    assert sorted(v for _, _, v in everything) == sorted(f"s-{n}" for n in range(total))
    assert all(v == f"s-{o * 6 + p}" for p, o, v in everything)
    assert all(processed[name] for name in "ABC"), {k: len(v) for k, v in processed.items()}
    # The committed offsets are the ends of the partitions.
    offsets = run("fetch_offsets", kgw_bootstrap, kgw_topic, group=group)["offsets"]
    assert offsets == [{"topic": kgw_topic, "partitions": [
        {"partition": p, "offset": str(end["perPartition"][str(p)]), "metadata": None} for p in range(6)]}]


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
def test_group_resumes_from_committed_offsets_across_restarts(own_kgw, topic_name):
    create(own_kgw.bootstrap, topic_name, 2)
    group = f"{topic_name}-g"
    run("produce", own_kgw.bootstrap, topic_name, count=6, partition=0)
    run("produce", own_kgw.bootstrap, topic_name, count=4, partition=1)
    first = run("consume", own_kgw.bootstrap, topic_name, group=group, count=10)
    assert [(m["partition"], m["offset"]) for m in first["messages"]] == (
        [(0, o) for o in range(6)] + [(1, o) for o in range(4)])

    # The consumer restarts: only the new messages.
    run("produce", own_kgw.bootstrap, topic_name, count=3, partition=0, prefix="second")
    second = run("consume", own_kgw.bootstrap, topic_name, group=group, count=4, timeoutMs=1500)
    assert second["timedOut"] is True
    assert without_timestamps(second["messages"]) == standard_messages("second", 3, first_offset=6)

    # kgw itself restarts (kill -9): the committed offsets survived.
    run("produce", own_kgw.bootstrap, topic_name, count=2, partition=1, prefix="third")
    own_kgw.restart(crash=True)
    offsets = run("fetch_offsets", own_kgw.bootstrap, topic_name, group=group)["offsets"]
    assert offsets == [{"topic": topic_name, "partitions": [
        {"partition": 0, "offset": "9", "metadata": None}, {"partition": 1, "offset": "4", "metadata": None}]}]
    third = run("consume", own_kgw.bootstrap, topic_name, group=group, count=3, timeoutMs=1500)
    assert third["timedOut"] is True
    assert without_timestamps(third["messages"]) == standard_messages("third", 2, partition=1, first_offset=4)


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_live_member_rides_out_a_kgw_restart(own_kgw, topic_name, crash):
    """A member keeps consuming while kgw restarts under it. kgw forgets
    membership on restart (documented), so the member rejoins. Nothing may
    be lost, and a message may come twice only past the member's last
    commit that kgw acknowledged before the restart: an acknowledged commit
    survives even kill -9."""
    create(own_kgw.bootstrap, topic_name, 2)
    stream = NodeProcess("stream", own_kgw.bootstrap, topic_name, partitions=2, minimum=0, pauseMs=15)
    member = NodeProcess("member", own_kgw.bootstrap, topic_name, group=f"{topic_name}-g", clientId="A",
                         traceCommits=True)
    try:
        member.wait_for(lambda lines: sum("p" in x for x in lines) >= 40, what="40 messages")
        own_kgw.restart(crash=crash)
        before = sum("p" in x for x in member.snapshot())
        member.wait_for(lambda lines: sum("p" in x for x in lines) >= before + 40, what="40 more messages")
        stream.send("stop")
        stream.wait_for(lambda lines: any("total" in x for x in lines), what="producer end")
        high = {p: hw for p, (_, hw) in offsets_of(run("offsets", own_kgw.bootstrap, topic_name)).items()}
        member.wait_for(lambda lines: {(x["p"], x["o"]) for x in lines if "p" in x}
                        >= {(p, o) for p in high for o in range(high[p])}, what="every offset")
        member.send("stop")
        member.wait_for(lambda lines: any(x.get("event") == "stopped" for x in lines), what="exit")
    finally:
        member.close()
        stream.close()
    lines = member.snapshot()
    joins = [x["memberId"] for x in lines if x.get("event") == "joined"]
    assert len(joins) == 2 and joins[0] != joins[1], joins  # rejoined once, as a new member
    acked = {0: 0, 1: 0}
    for x in lines:
        if x.get("event") == "commit" and x["memberId"] == joins[0]:
            for p, o in x["offsets"]:
                acked[p] = max(acked[p], o)
    counts = Counter((x["p"], x["o"]) for x in lines if "p" in x)
    assert set(counts) == {(p, o) for p in high for o in range(high[p])}
    assert all(n == 1 or o >= acked[p] for (p, o), n in counts.items()), (acked, sorted(
        k for k, n in counts.items() if n > 1))
    assert max(counts.values()) <= 2


@pytest.mark.kgw_topic(partitions=3)
def test_two_groups_each_read_everything(kgw_bootstrap, kgw_topic):
    for p in range(3):
        run("produce", kgw_bootstrap, kgw_topic, count=5, partition=p, prefix=f"p{p}")
    results = {}

    def consume(group):
        results[group] = run("consume", kgw_bootstrap, kgw_topic, group=group, count=16, timeoutMs=2000)

    threads = [threading.Thread(target=consume, args=(f"{kgw_topic}-{g}",)) for g in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [m for p in range(3) for m in standard_messages(f"p{p}", 5, partition=p)]
    for group, r in results.items():
        assert r["timedOut"] is True, group  # 15 messages, not 16
        assert without_timestamps(r["messages"]) == expected, group


@pytest.mark.kgw_topic(partitions=2)
def test_group_errors(kgw_bootstrap, kgw_topic):
    r = run("group_errors", kgw_bootstrap, kgw_topic, group=f"{kgw_topic}-g")
    assert r["shortSession"] == {"type": "INVALID_SESSION_TIMEOUT", "name": "KafkaJSProtocolError",
                                 "retriable": False}
    assert r["inconsistentProtocol"] == {"type": "INCONSISTENT_GROUP_PROTOCOL", "name": "KafkaJSProtocolError",
                                         "retriable": False}
    # The group itself was not disturbed.
    assert r["groupAfter"] == [{"state": "Stable", "protocol": "RoundRobinAssigner", "members": 1}]


@pytest.mark.kgw_topic(partitions=2)
def test_group_admin(kgw_bootstrap, kgw_topic):
    group = f"{kgw_topic}-g"
    run("produce", kgw_bootstrap, kgw_topic, count=5, partition=0)
    run("produce", kgw_bootstrap, kgw_topic, count=2, partition=1)
    time.sleep(0.02)
    middle = now_ms()
    time.sleep(0.02)
    run("produce", kgw_bootstrap, kgw_topic, count=3, partition=0, prefix="late")

    r = run("group_admin", kgw_bootstrap, kgw_topic, group=group, count=10, timestamp=middle,
            expectAfterReset=3)
    assert r["consumed"] == 10
    assert r["listLive"] == [{"groupId": group, "protocolType": "consumer"}]
    (live,) = r["describeLive"]
    (member,) = live.pop("members")
    assert live == {"groupId": group, "errorCode": 0, "state": "Stable", "protocolType": "consumer",
                    "protocol": "RoundRobinAssigner"}
    assert member["memberIdIsOurs"] is True
    assert member["clientId"] == "kgw-admin-member"
    assert member["clientHost"] == "/127.0.0.1"  # as Kafka writes it
    # kafkajs's RoundRobinAssigner writes version 0 of both structures.
    assert member["metadata"] == {"version": 0, "topics": [kgw_topic], "userData": {"type": "Buffer", "data": []}}
    assert member["assignment"] == {"version": 0, "assignment": {kgw_topic: [0, 1]},
                                    "userData": {"type": "Buffer", "data": []}}

    def committed(p0, p1):
        return [{"topic": kgw_topic, "partitions": [
            {"partition": 0, "offset": str(p0), "metadata": None},
            {"partition": 1, "offset": str(p1), "metadata": None}]}]

    assert r["offsetsLive"] == committed(8, 2)
    assert r["deleteLive"] == {"name": "KafkaJSDeleteGroupsError", "groups": [
        {"groupId": group, "errorCode": 68, "error": "NON_EMPTY_GROUP"}]}
    assert r["resetLive"] == "KafkaJSNonRetriableError"  # kafkajs refuses: the group is not empty

    assert r["describeEmpty"] == [{"state": "Empty", "members": 0, "protocolType": "consumer"}]
    assert r["listEmpty"] == [{"groupId": group, "protocolType": "consumer"}]
    # kafkajs commits the special offset -2 (earliest) as is; Kafka stores it
    # and a consumer of the group resolves it when it starts.
    assert r["afterResetEarliest"] == committed(-2, -2)
    assert r["afterSetByTimestamp"] == committed(5, 2)
    assert r["resumed"] == [[0, 5], [0, 6], [0, 7]]
    assert r["afterResume"] == committed(8, 2)
    assert r["describeUnknown"] == [{"groupId": f"{group}-unknown", "state": "Dead", "errorCode": 0, "members": 0}]
    assert r["offsetsUnknown"] == committed(-1, -1)
    assert r["deleteEmpty"] == [{"groupId": group, "errorCode": 0}]
    assert r["listAfterDelete"] == []
    assert r["offsetsAfterDelete"] == committed(-1, -1)
