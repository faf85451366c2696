"""KafkaConsumer (kafka-clients 4.4.0) against kgw: assign, seek,
beginningOffsets/endOffsets/offsetsForTimes, out-of-range offsets, commits
(commitSync, commitAsync, auto-commit) and a group of three subscribers
whose members leave and come back (the classic protocol)."""

import time

import pytest


def offsets(records):
    return [(r["partition"], r["offset"], r["value"]) for r in records]


@pytest.mark.kgw_topic(partitions=2)
def test_assign_seek_and_offsets_by_time(java, kgw_bootstrap, kgw_topic):
    base = (int(time.time()) - 3600) * 1000
    r = java.call("consumer_positions", bootstrap=kgw_bootstrap, topic=kgw_topic, base=base)
    # [partition, leader, replicas, in-sync replicas]
    assert r["partitionsFor"] == [[0, 0, 1, 1], [1, 0, 1, 1]]
    assert r["beginning"] == {"0": 0, "1": 0}
    assert r["end"] == {"0": 10, "1": 5}
    # The first record at or after the time: [offset, its timestamp]; none after the last one.
    assert r["beforeAll"] == {"0": [0, base], "1": [0, base + 100_000]}
    assert r["middle"] == {"0": [4, base + 4000], "1": [2, base + 102_000]}
    assert r["afterAll"] == {"0": None, "1": None}
    assert offsets(r["fromSeven"]) == [(0, 7, "p0-7"), (0, 8, "p0-8"), (0, 9, "p0-9")]
    assert [m["timestamp"] for m in r["fromSeven"]] == [base + 7000, base + 8000, base + 9000]
    assert (r["positionAtEnd"], r["positionAtBeginning"]) == (5, 0)
    assert offsets(r["p1"]) == [(1, i, f"p1-{i}") for i in range(5)]
    # auto.offset.reset=none: kgw's OFFSET_OUT_OF_RANGE reaches the application.
    assert r["beyondEnd"] == {"0": 50}
    # After DeleteRecords before offset 4 the log starts there.
    assert r["beginningAfterDelete"] == {"0": 4}
    assert r["beforeAllAfterDelete"] == 4
    assert (r["afterDeleteFirst"], r["afterDeleteCount"]) == (4, 6)


@pytest.mark.kgw_topic(partitions=2)
def test_commit_sync_async_and_auto_commit(java, kgw_bootstrap, kgw_topic):
    r = java.call("consumer_commits", bootstrap=kgw_bootstrap, topic=kgw_topic, group=f"{kgw_topic}-g")
    assert r["committedBefore"] == {"0": None, "1": None}
    assert r["asyncCallback"] == "ok 2"
    assert r["committed"] == {"0": [3, "three"], "1": [2, ""]}
    # A subscriber of the group starts from the committed offsets.
    assert r["resumed"] == {"first": {"0": 3, "1": 2}, "counts": {"0": 7, "1": 3}}
    # commitSync()/commitAsync() without arguments commit the positions.
    assert r["committedPositions"] == {"0": [10, ""], "1": [5, ""]}
    # Auto-commit commits the positions when the consumer closes.
    assert r["autoCommittedOnClose"] == {"0": 10, "1": 5}


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
@pytest.mark.kgw_topic(partitions=6)
def test_group_of_three_member_leaves_and_rejoins(java, kgw_bootstrap, kgw_topic, assignor):
    strategy = {"range": "org.apache.kafka.clients.consumer.RangeAssignor",
                "cooperative-sticky": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"}[assignor]
    r = java.call("group_of_three", bootstrap=kgw_bootstrap, topic=kgw_topic, group=f"{kgw_topic}-g",
                  assignor=strategy, partitions=6, perPartition=10)
    three, two, again = r["phases"]
    assert sorted(len(a) for a in three["assignments"].values()) == [2, 2, 2]
    assert sorted(len(a) for a in two["assignments"].values()) == [3, 3]
    assert set(two["assignments"]) == {"m1", "m2"}
    assert sorted(len(a) for a in again["assignments"].values()) == [2, 2, 2]
    assert three["generation"] < two["generation"] < again["generation"]
    if assignor == "range":
        assert three["assignments"] == {"m1": [0, 1], "m2": [2, 3], "m3": [4, 5]}
    # 3 rounds of 10 records on each of 6 partitions, each read once.
    assert r["distinct"] == 180 and r["duplicates"] == []
    assert sum(r["readByEachMember"]) == 180
    assert r["committed"] == {str(p): 30 for p in range(6)}


@pytest.mark.kgw_only("Kafka serves KIP-848")
def test_the_new_group_protocol_is_refused_with_a_clear_error(java, kgw_bootstrap, kgw_topic):
    # kgw serves the classic protocol only (no ConsumerGroupHeartbeat, KIP-848):
    # the consumer says so at its first poll instead of hanging.
    r = java.call("consumer_new_group_protocol", bootstrap=kgw_bootstrap, topic=kgw_topic, group=f"{kgw_topic}-g")
    assert r["outcome"] == "UnsupportedVersionException"
    assert "Set group.protocol=classic" in r["message"]
