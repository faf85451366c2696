"""Consumer groups of franz-go (cooperative-sticky) and Sarama (sticky):
members join, leave and die while a producer writes; every record is
processed exactly once across the group and the committed offsets end at
the ends of the partitions."""

from collections import Counter

import pytest

from ..harness import committed_offsets
from ..transactions import _util as u
from ._go import GoProcess

PARTITIONS = 6


def _owned(member: GoProcess):
    changes = [x for x in member.snapshot() if "owned" in x]
    return set(changes[-1]["owned"]) if changes else None


def _processed(member: GoProcess) -> list[tuple]:
    return [(x["p"], x["o"], x["v"]) for x in member.snapshot() if "p" in x]


def _processed_since_change(member: GoProcess) -> int:
    lines = member.snapshot()
    last = max((i for i, x in enumerate(lines) if "owned" in x), default=len(lines))
    return sum(1 for x in lines[last:] if "p" in x)


def _wait_split(members, timeout=60):
    """Until the members own every partition between them, once each, and
    each has processed a record since its last change."""
    members[0].wait_for(
        lambda _: sorted(p for m in members for p in (_owned(m) or ())) == list(range(PARTITIONS))
        and all(_owned(m) and _processed_since_change(m) for m in members),
        timeout, what=f"partitions split between {[m.name for m in members]}")


@pytest.mark.parametrize("scenario", ["franz_member", "sarama_member"])
@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_group_processes_each_record_once_across_rebalances(kgw_bootstrap, kgw_topic, scenario):
    group = u.unique("g")
    members = {}

    def member(name):
        members[name] = GoProcess(scenario, kgw_bootstrap, kgw_topic, name=name, group=group)
        return members[name]

    stream = GoProcess("franz_stream", kgw_bootstrap, kgw_topic, partitions=PARTITIONS, minimum=600, pauseMs=15)
    try:
        stream.event("started")
        a, b = member("A"), member("B")
        _wait_split([a, b])
        c = member("C")  # joins
        _wait_split([a, b, c])
        b.send("stop")  # leaves cleanly
        b.event("stopped")
        _wait_split([a, c])
        c.send("freeze")  # dies once what it printed is committed
        c.event("frozen")
        c.kill()
        _wait_split([a])  # after C's session timeout
        stream.send("stop")
        end = stream.result("total")
        total = end["total"]
        a.wait_for(lambda _: sum(len(_processed(m)) for m in members.values()) >= total,
                   what=f"{total} records processed")
        a.send("stop")
        a.event("stopped")
    finally:
        for m in members.values():
            m.close()
        stream.close()

    processed = {name: _processed(m) for name, m in members.items()}
    assert all(processed.values()), {name: len(p) for name, p in processed.items()}
    everything = [x for items in processed.values() for x in items]
    duplicates = {k: n for k, n in Counter((p, o) for p, o, _ in everything).items() if n > 1}
    assert duplicates == {}
    # The stream writes s-n to partition n % 6 at offset n // 6.
    assert sorted(everything) == sorted((n % PARTITIONS, n // PARTITIONS, f"s-{n}") for n in range(total))
    errors = [x for m in members.values() for x in m.snapshot() if "error" in x]
    assert errors == []
    ends = {int(p): n for p, n in end["perPartition"].items()}
    assert committed_offsets(kgw_bootstrap, group, kgw_topic, PARTITIONS) == ends


@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_a_static_member_comes_back_to_its_partitions(kgw_bootstrap, kgw_topic):
    """KIP-345 with franz-go: B (not the leader) is killed and restarted with
    its instance id inside its session timeout; it gets its partitions back
    without a rebalance (A sees no change) and resumes from its commits."""
    group = u.unique("static")
    stream = GoProcess("franz_stream", kgw_bootstrap, kgw_topic, partitions=PARTITIONS, minimum=300, pauseMs=10)
    members = {}

    def member(name):
        members[name] = GoProcess("franz_member", kgw_bootstrap, kgw_topic, name=name, group=group,
                                  instanceId=name[0], sessionTimeoutMs=30_000)
        return members[name]

    try:
        stream.event("started")
        a = member("A")
        _wait_split([a])  # A joins first, so A leads
        b = member("B")
        _wait_split([a, b])
        owned = {name: _owned(m) for name, m in members.items()}
        changes_of_a = len([x for x in a.snapshot() if "owned" in x])
        b.kill()
        again = member("B2")
        again.wait_for(lambda _: _owned(again) == owned["B"] and _processed(again), what="B's partitions back")
        stream.send("stop")
        end = stream.result("total")
        a.wait_for(lambda _: sum(len(_processed(m)) for m in members.values()) >= end["total"],
                   what=f"{end['total']} processed")
        assert len([x for x in a.snapshot() if "owned" in x]) == changes_of_a
        assert _owned(a) == owned["A"]
    finally:
        for m in members.values():
            m.close()
        stream.close()
    everything = [x for m in members.values() for x in _processed(m)]
    assert [k for k, n in Counter(everything).items() if n > 1] == []
    assert sorted(everything) == sorted((n % PARTITIONS, n // PARTITIONS, f"s-{n}") for n in range(end["total"]))
