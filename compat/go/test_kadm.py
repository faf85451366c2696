"""franz-go's admin client (kadm) against kgw: topics and configs, offsets
and DeleteRecords, groups and their offsets, cluster and broker, and the
transaction admin APIs of KIP-664."""

import time

import pytest

from ..harness import BROKER, wait_until
from ..transactions import _util as u
from ._go import GoProcess, run


def partitions(n):
    return [{"partition": p, "leader": 0, "replicas": [0], "isr": [0], "error": ""} for p in range(n)]


def test_topics_configs_and_cluster(kgw_bootstrap, topic_name):
    r = run("kadm_topics", kgw_bootstrap, topic_name)
    host, port = kgw_bootstrap.split(":")
    assert r["created"] == {"error": "", "partitions": 3, "replicationFactor": 1, "hasId": True,
                            "retention.ms": "3600000"}
    assert r["createdAgain"] == "TOPIC_ALREADY_EXISTS"
    assert r["replicationFactor3"] == "INVALID_REPLICATION_FACTOR"
    assert (r["validateOnly"], r["dryRun"]) == ("", "UNKNOWN_TOPIC_OR_PARTITION")
    assert r["listed"] == {"partitions": partitions(3), "internal": False, "hasId": True}
    default = {"cleanup.policy": ["delete", "DEFAULT_CONFIG"], "max.message.bytes": ["1048588", "DEFAULT_CONFIG"],
               "retention.ms": ["604800000", "DEFAULT_CONFIG"]}
    assert r["configs"] == {**default, "retention.ms": ["3600000", "DYNAMIC_TOPIC_CONFIG"]}
    # IncrementalAlterConfigs: one set, one deleted back to its default.
    assert r["altered"] == ""
    assert r["configsAfterAlter"] == {**default, "max.message.bytes": ["2000", "DYNAMIC_TOPIC_CONFIG"]}
    assert r["alterUnknown"] == "INVALID_CONFIG"
    # AlterConfigs replaces every override.
    assert r["alterState"] == ""
    assert r["configsAfterAlterState"] == {**default, "cleanup.policy": ["compact", "DYNAMIC_TOPIC_CONFIG"]}
    assert (r["createPartitions"], r["shrinkPartitions"], r["afterGrow"]) == ("", "INVALID_PARTITIONS", 5)
    assert r["cluster"] == {"brokers": [{"nodeId": 0, "host": host, "port": int(port)}], "controller": 0,
                            "hasClusterId": True}
    assert r["brokerConfigs"]["error"] == "" and r["brokerConfigs"]["count"] > 0
    assert (r["deleted"], r["deletedAgain"], r["afterDelete"]) == (
        "", "UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_OR_PARTITION")


def test_list_offsets_and_delete_records(kgw_bootstrap, kgw_topic):
    base = int(time.time() * 1000) - 10_000
    # 0-5 at base+0..5; then 6-9 at base+100, +300, +200, +300.
    run("franz_produce", kgw_bootstrap, kgw_topic, count=6, timestamps=[base + i for i in range(6)])
    run("franz_produce", kgw_bootstrap, kgw_topic, count=4, prefix="late",
        timestamps=[base + 100, base + 300, base + 200, base + 300])
    r = run("kadm_offsets", kgw_bootstrap, kgw_topic, timestamp=base + 150, deleteBefore=4)
    assert (r["start"], r["end"], r["committedEnd"]) == ({"0": 0}, {"0": 10}, {"0": 10})
    assert r["afterTimestamp"] == {"0": 7}
    assert r["maxTimestamp"] == {"0": 7}  # the first record with the largest timestamp
    assert r["deleteRecords"] == {"lowWatermark": 4, "error": ""}
    assert r["startAfterDelete"] == {"0": 4}
    assert r["deleteBeyondEnd"] == "OFFSET_OUT_OF_RANGE"


@pytest.mark.kgw_topic(partitions=2)
def test_groups_and_their_offsets(kgw_bootstrap, kgw_topic):
    run("franz_produce", kgw_bootstrap, kgw_topic, count=10, partition=0)
    run("franz_produce", kgw_bootstrap, kgw_topic, count=4, partition=1)
    empty, live = u.unique("empty"), u.unique("live")
    member = GoProcess("franz_member", kgw_bootstrap, kgw_topic, group=live)
    try:
        member.wait_for(lambda lines: sum(1 for x in lines if "p" in x) == 14, what="14 records")
        r = run("kadm_groups", kgw_bootstrap, kgw_topic, group=empty, live=live)
    finally:
        member.close()
    assert r["commit"] == r["fetched"] == {"0": [5, "five"], "1": [3, ""]}
    assert r["listed"] == {empty: {"state": "Empty", "protocolType": "", "coordinator": 0},
                           live: {"state": "Stable", "protocolType": "consumer", "coordinator": 0}}
    assert r["described"] == {
        empty: {"state": "Empty", "protocolType": "", "protocol": "", "members": None, "error": ""},
        live: {"state": "Stable", "protocolType": "consumer", "protocol": "cooperative-sticky", "error": "",
               "members": [{"clientId": "kgw-compat-go", "subscribed": [kgw_topic],
                            "assigned": {kgw_topic: [0, 1]}}]}}
    assert r["lag"] == {"0": 5, "1": 1}
    assert (r["deleteOffsets"], r["fetchedAfterDelete"]) == ("", {"0": [5, "five"]})
    assert r["deleteOffsetsOfLive"] == "GROUP_SUBSCRIBED_TO_TOPIC"
    assert r["deleteLive"] == "NON_EMPTY_GROUP"
    assert (r["delete"], r["listedAfterDelete"]) == ("", False)


def test_transactions_and_producers(kgw_bootstrap, kgw_topic):
    run("franz_produce", kgw_bootstrap, kgw_topic, count=3)  # an idempotent producer, offsets 0-2
    tid = u.unique("kadm")
    opened = GoProcess("franz_txn_open", kgw_bootstrap, kgw_topic, transactionalId=tid,
                       txns=[{"records": {"0": ["t0", "t1"]}, "end": "commit"}])
    try:
        opened.event("open")
        r = run("kadm_transactions", kgw_bootstrap, kgw_topic, transactionalId=tid)
        opened.send("stop")
        assert opened.result("ended") == {"ended": ""}
    finally:
        opened.close()
    pid = r["listed"]["producerId"]
    assert r["coordinator"] == {"nodeId": 0, "error": ""}
    assert r["listed"] == {"state": "Ongoing", "producerId": pid, "coordinator": 0}
    assert r["listedOngoing"] is True
    assert r["described"] == {"state": "Ongoing", "producerId": pid, "epoch": 0, "timeoutMs": 40000,
                              "topics": {kgw_topic: [0]}, "error": "", "started": True}
    idempotent = [p for p in r["producers"]["active"] if p["producerId"] != pid]
    assert r["producers"]["error"] == ""
    assert [(p["lastSequence"], p["txnStartOffset"]) for p in idempotent] == [(2, -1)]
    assert [p for p in r["producers"]["active"] if p["producerId"] == pid] == [
        {"producerId": pid, "epoch": 0, "lastSequence": 1, "txnStartOffset": 3}]

    # Apache Kafka answers EndTxn before its markers are written, and shows
    # PrepareCommit until they are (kgw: CompleteCommit at once).
    after = wait_until(lambda: (lambda a: a if a["listed"]["state"] != "PrepareCommit" else None)(
        run("kadm_transactions", kgw_bootstrap, kgw_topic, transactionalId=tid)), "the transaction's completion")
    assert after["listed"] == {"state": "CompleteCommit", "producerId": pid, "coordinator": 0}
    assert after["listedOngoing"] is False
    # A completed transaction keeps its start time, as in Kafka.
    # franz-go speaks KIP-890's second transaction protocol where the broker
    # offers it, as Apache Kafka 4 does: each EndTxn bumps the epoch there.
    # kgw serves the first protocol (README), where the epoch stays.
    epoch = r["described"]["epoch"] + (1 if BROKER == "kafka" else 0)
    assert after["described"] == {**r["described"], "state": "CompleteCommit", "topics": {}, "started": True,
                                  "epoch": epoch}
    assert [p["txnStartOffset"] for p in after["producers"]["active"]] == [-1, -1]
