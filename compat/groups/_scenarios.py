"""The group scenarios every client runs (each client's module calls these).

Members commit synchronously after each message they process (kcat:
auto-commit every 100 ms plus on revoke and close), so the guarantee each
scenario asserts is spelled out where it is checked.
"""

import time

from ..harness import create_topic
from ..harness import committed_offsets, end_offsets, wait_until
from ._util import (
    PRODUCERS, check_processing, describe_group, kcat_burst, states, wait_all_processed,
    wait_balanced, wait_each_processes,
)

PARTITIONS = 6


def churn(client, bootstrap, topic, group, members, producer_client=None):
    """Three members over the PARTITIONS partitions of `topic` (the caller
    creates it) while a producer writes, through a member joining, a member
    leaving cleanly, another joining, and that one being SIGKILLed (its
    partitions move when its 6 s session expires).

    Asserted: every message in the log was processed, with its value, and
    every produced value is in the log; no message was processed twice
    except messages the killed member processed and whose commit it never
    saw acknowledged (Python members: at most the one message it was
    working on; kcat, which auto-commits every 100 ms, at most the messages
    of its last 100 ms); no commit failed; and the group's committed
    offsets are the end offsets."""
    make = lambda name: members(f"{client}-{name}", client, bootstrap, group, topic)  # noqa: E731
    producer = PRODUCERS[producer_client or client](bootstrap, topic, PARTITIONS, "v").start()
    try:
        a, b = make("a"), make("b")
        wait_balanced([a, b], PARTITIONS, "two members to share the partitions")
        wait_each_processes([a, b], "both members to process")

        c = make("c")  # joins
        wait_balanced([a, b, c], PARTITIONS, "the group to take in a third member")
        wait_each_processes([a, b, c], "three members to process")

        b.stop()  # leaves cleanly: LeaveGroup
        wait_balanced([a, c], PARTITIONS, "the group to rebalance after a member left")
        wait_each_processes([a, c], "the two remaining members to process")

        d = make("d")  # joins, then dies
        wait_balanced([a, c, d], PARTITIONS, "the group to take in member d")
        wait_each_processes([a, c, d], "three members to process again")
        d_held = d.assignment
        d.kill()
        wait_balanced([a, c], PARTITIONS, "the session timeout to hand d's partitions over", timeout=30)
        wait_each_processes([a, c], "the two survivors to process")
    finally:
        produced = producer.stop()
    ends = wait_all_processed([a, b, c, d], bootstrap, topic, PARTITIONS, group)
    assert sum(ends.values()) == len(produced)
    a.stop()
    c.stop()

    for m in (a, b, c, d):
        assert not m.of("cf"), f"{m.name}: commits failed: {m.of('cf')[:5]}"
    redelivered = check_processing([a, b, c, d], ends, produced, redelivery_ok=[d])
    last_by_d = {}
    for p, o, _, _ in d.processed:
        last_by_d[p] = o
    if client == "kcat":
        # Auto-commit: only d's partitions, and only messages d got after
        # its last commit (we cannot see when that was; each is re-delivered
        # once, which check_processing established).
        assert all(key[0] in d_held for key, _ in redelivered), redelivered
    else:
        # One message at a time, committed before the next: at most the one
        # d was working on when it died, its last on that partition.
        assert len(redelivered) <= 1, redelivered
        for (p, o), _ in redelivered:
            assert last_by_d[p] == o and (p, o) not in d.commits
    assert committed_offsets(bootstrap, group, topic, PARTITIONS) == ends
    # Everyone left or died and the session expired: the group is empty.
    described = describe_group(bootstrap, group)
    assert (described.error_code, described.group_state, described.members) == (0, "Empty", [])
    return redelivered


def two_groups(client, bootstrap, topic, members):
    """Two groups on one topic of PARTITIONS partitions (two members in one,
    one in the other) read every message each, exactly once per group, and
    commit independently."""
    g1, g2 = f"g1-{topic}", f"g2-{topic}"
    producer = PRODUCERS[client](bootstrap, topic, PARTITIONS, "w").start()
    try:
        first = [members(f"{client}-g1-{i}", client, bootstrap, g1, topic) for i in range(2)]
        second = [members(f"{client}-g2-0", client, bootstrap, g2, topic)]
        wait_balanced(first, PARTITIONS, "group 1 to share the partitions")
        wait_balanced(second, PARTITIONS, "group 2's member to own every partition")
        wait_each_processes(first + second, "both groups to process")
    finally:
        produced = producer.stop()
    ends = wait_all_processed(first, bootstrap, topic, PARTITIONS, g1)
    assert wait_all_processed(second, bootstrap, topic, PARTITIONS, g2) == ends
    for m in first + second:
        m.stop()
    assert check_processing(first, ends, produced) == []
    assert check_processing(second, ends, produced) == []
    assert (committed_offsets(bootstrap, g1, topic, PARTITIONS) == ends
            == committed_offsets(bootstrap, g2, topic, PARTITIONS))
    return ends, produced


def _run_to_end(client, server, topic, group, members, name, since):
    """Start one member, wait until the group is done with every partition
    (from `since`), stop it cleanly; returns the member."""
    m = members(f"{client}-{name}", client, server.bootstrap, group, topic)
    wait_all_processed([m], server.bootstrap, topic, PARTITIONS, group, since=since)
    m.stop()
    return m


def _new_messages_only(member, before, produced_now, ends):
    """`member` processed exactly the messages between `before` and `ends`
    (the ones produced since the group last committed), each once."""
    got = sorted((p, o) for p, o, _, _ in member.processed)
    assert got == sorted((p, o) for p in ends for o in range(before[p], ends[p])), \
        f"{member.name} did not resume at {before}"
    assert sorted(v for _, _, v, _ in member.processed) == sorted(produced_now)


def resume(client, server, topic, group, members):
    """A restarted member resumes at the group's committed offsets; so does
    the group after kgw restarts (SIGTERM) and after kgw is SIGKILLed, with
    the group empty; and a member that is working while kgw is SIGKILLed
    carries on after the restart without processing again any message whose
    commit kgw had acknowledged."""
    create_topic(server.bootstrap, topic, PARTITIONS)
    if client == "kcat":
        producer = None
        burst = lambda n: kcat_burst(server.bootstrap, topic, PARTITIONS, n, f"r{len(sent_all)}")  # noqa: E731
    else:
        producer = PRODUCERS[client](server.bootstrap, topic, PARTITIONS, "r")
        burst = producer.burst
    sent_all = []
    try:
        # 1. First run, then a restarted member in the same group.
        sent_all += (first := burst(4))
        m1 = _run_to_end(client, server, topic, group, members, "m1", None)
        ends1 = end_offsets(server.bootstrap, topic, PARTITIONS)
        _new_messages_only(m1, {p: 0 for p in ends1}, first, ends1)
        sent_all += (second := burst(3))
        m2 = _run_to_end(client, server, topic, group, members, "m2", ends1)
        ends2 = end_offsets(server.bootstrap, topic, PARTITIONS)
        _new_messages_only(m2, ends1, second, ends2)

        # 2. kgw restarts gracefully with the group empty.
        server.restart()
        assert committed_offsets(server.bootstrap, group, topic, PARTITIONS) == ends2
        sent_all += (third := burst(3))
        m3 = _run_to_end(client, server, topic, group, members, "m3", ends2)
        ends3 = end_offsets(server.bootstrap, topic, PARTITIONS)
        _new_messages_only(m3, ends2, third, ends3)

        # 3. kgw is SIGKILLed right after the last acknowledged commits.
        server.restart(crash=True)
        assert committed_offsets(server.bootstrap, group, topic, PARTITIONS) == ends3
        sent_all += (fourth := burst(3))
        m4 = _run_to_end(client, server, topic, group, members, "m4", ends3)
        ends4 = end_offsets(server.bootstrap, topic, PARTITIONS)
        _new_messages_only(m4, ends3, fourth, ends4)
    finally:
        if producer is not None:
            producer.close()
    return ends4, sent_all


def crash_while_working(client, server, topic, group, members):
    """kgw is SIGKILLed while a member processes and commits and an
    idempotent producer writes: the member rejoins the restarted kgw and
    carries on; a message is processed twice only if its commit was never
    acknowledged (so every acknowledged commit survived the kill); the log
    holds each produced message once; after a clean stop the group's
    committed offsets are the end offsets."""
    create_topic(server.bootstrap, topic, PARTITIONS)
    producer = PRODUCERS[client](server.bootstrap, topic, PARTITIONS, "k").start()
    try:
        m = members(f"{client}-w", client, server.bootstrap, group, topic)
        wait_balanced([m], PARTITIONS, "the member to own every partition")
        wait_until(lambda: len(m.of("p")) >= 20, "the member to process 20 messages", details=states([m]))
        crashed_at = time.monotonic()
        server.restart(crash=True)
        # kgw does not keep group membership across a restart (see
        # kgw/groups/offsets.py): the member learns it from its next commit
        # or heartbeat (UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION) and rejoins.
        # Until then its commits fail, so what it processes is re-delivered.
        wait_until(lambda: any(e["t"] > crashed_at and set(e["parts"]) == set(range(PARTITIONS))
                               for e in m.of("assignment")),
                   "the member to rejoin the restarted kgw", details=states([m]))
        rejoined = len(m.of("p"))
        wait_until(lambda: len(m.of("p")) >= rejoined + 20, "the member to carry on after rejoining",
                   details=states([m]))
    finally:
        produced = producer.stop()
    ends = wait_all_processed([m], server.bootstrap, topic, PARTITIONS, group)
    m.stop()
    redelivered = check_processing([m], ends, produced, redelivery_ok=[m])
    assert committed_offsets(server.bootstrap, group, topic, PARTITIONS) == ends, m.stderr[-12:]
    return m, redelivered
