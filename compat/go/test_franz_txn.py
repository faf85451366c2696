"""franz-go's transactional producer against kgw (KIP-98), with the
expectations compat/transactions holds for every client, and
GroupTransactSession's consume-transform-produce in a changing group."""

import pytest

from ..transactions import _util as u
from ..harness import committed_offsets, create_topic, wait_until
from ._go import GoProcess, run


def txn(records: dict, end: str) -> dict:
    return {"records": {str(p): values for p, values in records.items()}, "end": end}


def settled(bootstrap, topic, ends: dict):
    """Until every partition's last stable offset and high watermark are
    `ends`: Apache Kafka writes the markers after it answers EndTxn."""
    wait_until(lambda: u.stable_and_high(bootstrap, topic, len(ends)) == ends, f"the markers in {topic}")


def rows(records) -> list[tuple]:
    return [(r["partition"], r["offset"], r["key"], r["value"]) for r in records]


def consume(bootstrap, topic, count, isolation, idle_ms=1500) -> list[tuple]:
    return rows(run("franz_consume", bootstrap, topic, count=count, isolation=isolation, idleMs=idle_ms)["records"])


@pytest.mark.kgw_topic(partitions=2)
def test_commit_over_two_partitions(kgw_broker, kgw_topic):
    bootstrap = kgw_broker.bootstrap
    r = run("franz_txn", bootstrap, kgw_topic, transactionalId=u.unique("franz"),
            txns=[txn(u.COMMIT_TXN1, "commit"), txn(u.COMMIT_TXN2, "commit")])
    assert [sorted(offsets) for offsets in r["offsets"]] == [
        [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1]], [[0, 4], [0, 5], [1, 3]]]
    settled(bootstrap, kgw_topic, {p: (e, e) for p, e in u.COMMIT_ENDS2.items()})
    assert {p: u.log_layout(kgw_broker.data_dir, kgw_topic, p) for p in (0, 1)} == u.COMMIT_LAYOUT
    for isolation in ("committed", "uncommitted"):
        assert consume(bootstrap, kgw_topic, 8, isolation) == u.COMMIT_ROWS_ALL


def test_abort_then_commit(kgw_broker, kgw_topic):
    bootstrap = kgw_broker.bootstrap
    r = run("franz_txn", bootstrap, kgw_topic, transactionalId=u.unique("franz"),
            txns=[txn({0: u.ABORTED}, "abort"), txn({0: u.COMMITTED}, "commit")])
    assert r["offsets"] == [[[0, 0], [0, 1], [0, 2]], [[0, 4], [0, 5]]]
    settled(bootstrap, kgw_topic, {0: (u.ABORT_END, u.ABORT_END)})
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT
    assert consume(bootstrap, kgw_topic, 5, "committed") == u.ABORT_COMMITTED_ROWS
    assert consume(bootstrap, kgw_topic, 5, "uncommitted") == u.ABORT_ALL_ROWS


def test_open_transaction_holds_the_lso_until_fenced(kgw_broker, kgw_topic):
    bootstrap = kgw_broker.bootstrap
    tid = u.unique("franz")
    run("franz_txn", bootstrap, kgw_topic, transactionalId=tid, txns=[txn({0: u.LSO_FIRST}, "commit")])
    opened = GoProcess("franz_txn_open", bootstrap, kgw_topic, transactionalId=tid,
                       txns=[txn({0: u.LSO_OPEN}, "commit")])
    try:
        opened.event("open")
        assert u.stable_and_high(bootstrap, kgw_topic) == {0: (3, 6)}
        assert consume(bootstrap, kgw_topic, 5, "committed") == u.LSO_FIRST_ROWS
        # A new producer with the same id aborts the open transaction (ABORT
        # at 6) and commits its own; the old one is fenced.
        r = run("franz_txn", bootstrap, kgw_topic, transactionalId=tid, txns=[txn({0: ["n0"]}, "commit")])
        assert r["offsets"] == [[[0, 7]]]
        opened.send("stop")
        assert opened.result("ended")["ended"].startswith("PRODUCER_FENCED")
    finally:
        opened.close()
    settled(bootstrap, kgw_topic, {0: (9, 9)})
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.layout(
        ("txn", 2), ("COMMIT", 1), ("txn", 3), ("ABORT", 1), ("txn", 1), ("COMMIT", 1))
    assert consume(bootstrap, kgw_topic, 4, "committed") == u.LSO_FIRST_ROWS + u.rows(0, 7, ["n0"])


def _committed(member: GoProcess) -> list[tuple]:
    return [tuple(rec) for x in member.snapshot() if x.get("event") == "committed" for rec in x["records"]]


def _owned(member: GoProcess) -> set:
    changes = [x for x in member.snapshot() if "owned" in x]
    return set(changes[-1]["owned"]) if changes else set()


def _committed_since_change(member: GoProcess) -> int:
    lines = member.snapshot()
    last = max((i for i, x in enumerate(lines) if "owned" in x), default=len(lines))
    return sum(1 for x in lines[last:] if x.get("event") == "committed")


def _wait_split(members, partitions, timeout=60):
    """Until the members own every partition between them, once each, and
    each has committed a transaction since its last change."""
    members[0].wait_for(
        lambda _: sorted(p for m in members for p in _owned(m)) == list(range(partitions))
        and all(_owned(m) and _committed_since_change(m) for m in members),
        timeout, what=f"partitions split between {[m.name for m in members]}: {[_owned(m) for m in members]}")


@pytest.mark.kgw_topic(partitions=3)
def test_group_transact_session_exactly_once_across_rebalances(kgw_broker, kgw_topic):
    bootstrap = kgw_broker.bootstrap
    output, group = f"{kgw_topic}-out", u.unique("ctp")
    create_topic(bootstrap, output, 3)
    stream = GoProcess("franz_stream", bootstrap, kgw_topic, partitions=3, minimum=300, pauseMs=10)
    members = {}

    def member(name):
        members[name] = GoProcess("franz_ctp_member", bootstrap, kgw_topic, name=name, group=group,
                                  output=output, transactionalId=f"{group}-{name}")
        return members[name]

    try:
        stream.event("started")
        a = member("A")
        _wait_split([a], 3)
        b = member("B")  # joins: cooperative-sticky moves some of A's partitions to B
        _wait_split([a, b], 3)
        a.send("stop")  # leaves: B takes everything
        a.event("stopped")
        _wait_split([b], 3)
        stream.send("stop")
        end = stream.result("total")
        total = end["total"]
        b.wait_for(lambda _: len(_committed(a)) + len(_committed(b)) >= total, what=f"{total} transformed")
    finally:
        for m in members.values():
            m.close()
        stream.close()
    assert all(m.proc.returncode == 0 for m in members.values()), [m.stderr[-10:] for m in members.values()]

    # Every input record was committed exactly once, by one member or the other.
    done = _committed(members["A"]) + _committed(members["B"])
    assert sorted(done) == sorted((n % 3, n // 3, f"s-{n}") for n in range(total))
    assert _committed(members["A"]) and _committed(members["B"])
    # The output, read_committed, is exactly the transformed input, in each
    # partition in input order; aborted attempts show only read_uncommitted.
    got = run("franz_consume", bootstrap, output, count=total + 1, isolation="committed", idleMs=2000)
    assert got["timedOut"] is True
    by_partition = {p: [r["value"] for r in got["records"] if r["partition"] == p] for p in range(3)}
    assert by_partition == {p: [f"out-s-{n}" for n in range(p, total, 3)] for p in range(3)}
    # The group's offsets, committed inside the transactions, are the ends.
    ends = {int(p): n for p, n in end["perPartition"].items()}
    assert committed_offsets(bootstrap, group, kgw_topic, 3) == ends
