"""The transactional KafkaProducer (kafka-clients 4.4.0) against kgw: commit
and abort over two partitions, fencing by a second instance, a
read_committed consumer at the last stable offset, and
consume-transform-produce with sendOffsetsToTransaction. Each scenario's
offsets count the COMMIT and ABORT markers, one per partition per
transaction."""

import pytest


def values(records):
    return sorted((r["partition"], r["offset"], r["value"]) for r in records)


@pytest.mark.kgw_topic(partitions=2)
def test_commit_abort_commit_over_two_partitions(java, kgw_bootstrap, kgw_topic):
    r = java.call("txn_commit_abort", bootstrap=kgw_bootstrap, topic=kgw_topic, txnId=f"{kgw_topic}-txn")
    assert (r["a"], r["b"], r["x"], r["y"]) == ([0, 1, 2], [0, 1], [4, 5, 6], [8, 9])
    # p0: a0-a2, COMMIT 3, x0-x2, ABORT 7, y0 y1, COMMIT 10; p1: b0 b1, COMMIT 2.
    assert r["ends"] == {"read_committed": {"0": 11, "1": 3}, "read_uncommitted": {"0": 11, "1": 3}}
    assert values(r["read_committed"]) == [
        (0, 0, "a0"), (0, 1, "a1"), (0, 2, "a2"), (0, 8, "y0"), (0, 9, "y1"), (1, 0, "b0"), (1, 1, "b1")]
    assert values(r["read_uncommitted"]) == sorted(values(r["read_committed"]) + [
        (0, 4, "x0"), (0, 5, "x1"), (0, 6, "x2")])


def test_a_second_instance_fences_the_first_and_aborts_its_transaction(java, kgw_bootstrap, kgw_topic):
    r = java.call("txn_fencing", bootstrap=kgw_bootstrap, topic=kgw_topic, txnId=f"{kgw_topic}-txn")
    assert (r["f0"], r["f1"], r["f2"]) == ([0], [2], [4])
    # B's initTransactions wrote the ABORT marker of A's open transaction (3).
    assert r["endsAfterFence"] == {"read_committed": {"0": 4}, "read_uncommitted": {"0": 4}}
    assert r["fencedCommit"] == "ProducerFencedException"
    assert r["ends"] == {"read_committed": {"0": 6}, "read_uncommitted": {"0": 6}}
    assert values(r["read_committed"]) == [(0, 0, "f0"), (0, 4, "f2")]
    assert values(r["read_uncommitted"]) == [(0, 0, "f0"), (0, 2, "f1"), (0, 4, "f2")]


def test_read_committed_consumer_stops_at_the_last_stable_offset(java, kgw_bootstrap, kgw_topic):
    r = java.call("txn_read_committed", bootstrap=kgw_bootstrap, topic=kgw_topic, txnId=f"{kgw_topic}-txn")
    assert (r["s"], r["o"], r["p"]) == ([0, 1], [3, 4, 5], [6])
    assert r["endsWhileOpen"] == {"read_committed": {"0": 3}, "read_uncommitted": {"0": 7}}
    assert values(r["whileOpen"]) == [(0, 0, "s0"), (0, 1, "s1")]
    assert r["whileOpenMore"] == [] and r["positionWhileOpen"] == 3
    # The plain record p0 waited behind the open transaction too.
    assert values(r["afterCommit"]) == [(0, 3, "o0"), (0, 4, "o1"), (0, 5, "o2"), (0, 6, "p0")]
    assert r["aborted"] == [8]
    assert r["afterAbort"] == [] and r["positionAfterAbort"] == 10
    assert r["ends"] == {"read_committed": {"0": 10}, "read_uncommitted": {"0": 10}}


def test_consume_transform_produce_commits_offsets_with_the_output(java, kgw_bootstrap, topic_name):
    r = java.call("txn_consume_transform_produce", bootstrap=kgw_bootstrap, input=f"{topic_name}-in",
                  output=f"{topic_name}-out", group=f"{topic_name}-g", txnId=f"{topic_name}-txn")
    assert r["round1"] == ["0:i0", "1:i1", "2:i2"] and r["committedAfterRound1"] == 3
    assert r["round2"] == ["3:i3", "4:i4"] and r["committedAfterRound2"] == 3  # aborted with the output
    assert r["round3"] == ["3:i3", "4:i4"] and r["committedAfterRound3"] == 5
    assert r["ends"] == {"read_committed": {"0": 10}, "read_uncommitted": {"0": 10}}
    assert values(r["read_committed"]) == [
        (0, 0, "out-i0"), (0, 1, "out-i1"), (0, 2, "out-i2"), (0, 7, "out-i3"), (0, 8, "out-i4")]
    assert values(r["read_uncommitted"]) == sorted(values(r["read_committed"]) + [
        (0, 4, "out-i3"), (0, 5, "out-i4")])
