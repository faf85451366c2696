"""One group, members of different clients: kafka-python with confluent-kafka
(librdkafka 2.16), and aiokafka in the roundrobin group, with the range,
roundrobin and cooperative-sticky assignors (kafka-python 3.0.12 has a
cooperative-sticky assignor, as librdkafka does; aiokafka has none). The
leader, whichever client it is, computes every member's assignment, so each
client must read the other's subscription and assignment encodings."""

import pytest

from ..harness import committed_offsets, wait_until
from ._util import (
    PRODUCERS, check_processing, describe_group, states, wait_all_processed, wait_balanced,
    wait_each_processes,
)
from .conftest import require_client

PARTITIONS = 6


def assignment_shape_ok(assignor: str, assignments: list[set[int]]) -> bool:
    """What each assignor gives 3 members over 6 partitions of one topic."""
    shapes = sorted(tuple(sorted(a)) for a in assignments)
    if assignor == "range":  # contiguous pairs
        return shapes == [(0, 1), (2, 3), (4, 5)]
    if assignor == "roundrobin":  # every third partition
        return shapes == [(0, 3), (1, 4), (2, 5)]
    return all(len(a) == 2 for a in assignments)  # sticky: balanced


def assignments_since(member, t: float) -> list[set[int]]:
    return [set(e["parts"]) for e in member.of("assignment") if e["t"] > t]


@pytest.mark.kgw_topic(partitions=PARTITIONS)
@pytest.mark.parametrize("assignor, clients", [
    ("range", ["kafka-python", "confluent", "kafka-python"]),
    ("roundrobin", ["confluent", "kafka-python", "aiokafka"]),
    ("cooperative-sticky", ["kafka-python", "confluent", "confluent"]),
])
def test_mixed_group(kgw_bootstrap, kgw_topic, group_name, members, assignor, clients):
    """Two members, a third joins, the second leaves cleanly, while a
    producer writes: the protocol the group runs is `assignor`, its
    assignments have that assignor's shape, and every message is
    processed exactly once (each member commits after each message).
    Eager assignors revoke everything at each rebalance; with
    cooperative-sticky the members that stay never lose all their
    partitions and keep the ones they had."""
    for client in set(clients):
        require_client(client)
    producer = PRODUCERS["confluent"](kgw_bootstrap, kgw_topic, PARTITIONS, "x").start()
    try:
        a, b = (members(f"{clients[i]}-{n}", clients[i], kgw_bootstrap, group_name, kgw_topic,
                        assignor=assignor) for i, n in ((0, "a"), (1, "b")))
        wait_balanced([a, b], PARTITIONS, "two members to share the partitions")
        wait_each_processes([a, b], "both members to process")
        before_join = {m.name: m.assignment for m in (a, b)}
        joined_at = max(e["t"] for m in (a, b) for e in m.of("assignment"))

        c = members(f"{clients[2]}-c", clients[2], kgw_bootstrap, group_name, kgw_topic,
                    assignor=assignor)
        wait_balanced([a, b, c], PARTITIONS, "the group to take in a third member")
        wait_each_processes([a, b, c], "three members to process")
        assert assignment_shape_ok(assignor, [m.assignment for m in (a, b, c)]), \
            [m.assignment for m in (a, b, c)]
        described = describe_group(kgw_bootstrap, group_name)
        assert (described.error_code, described.group_state, described.protocol_type,
                described.protocol_data) == (0, "Stable", "consumer", assignor)
        assert sorted(m.client_id for m in described.members) == sorted(m.name for m in (a, b, c))

        if assignor == "cooperative-sticky":
            for m in (a, b):
                seen = assignments_since(m, joined_at)
                assert seen and all(seen), f"{m.name} lost all its partitions: {seen}"
                assert m.assignment <= before_join[m.name], (m.assignment, before_join[m.name])
        else:
            for m in (a, b):
                assert set() in assignments_since(m, joined_at), f"{m.name} did not revoke (eager)"

        before_leave = {m.name: m.assignment for m in (a, c)}
        b.stop()
        wait_balanced([a, c], PARTITIONS, "the group to rebalance after a member left")
        wait_each_processes([a, c], "the two remaining members to process")
        if assignor == "cooperative-sticky":
            for m in (a, c):
                assert m.assignment >= before_leave[m.name], (m.assignment, before_leave[m.name])
    finally:
        produced = producer.stop()
    ends = wait_all_processed([a, b, c], kgw_bootstrap, kgw_topic, PARTITIONS, group_name)
    a.stop()
    c.stop()
    for m in (a, b, c):
        assert not m.of("cf") and not m.of("error"), m.describe()
    assert check_processing([a, b, c], ends, produced) == []
    assert committed_offsets(kgw_bootstrap, group_name, kgw_topic, PARTITIONS) == ends


@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_static_members_fencing_and_removal(kgw_bootstrap, kgw_topic, group_name, members):
    """Static membership (KIP-345) with a kafka-python member (the leader)
    and a confluent member, while a producer writes:
    - a new process with the confluent member's group.instance.id joins
      while the old one still runs: it takes over the old one's partitions
      without a rebalance (the leader sees no revoke or assign), and the
      old one is fenced (FENCED_INSTANCE_ID) so none of its later commits
      succeed;
    - static members send no LeaveGroup on close, so after the successor
      closes the group still holds its instance until kafka-python's
      admin removes it by group.instance.id (batched LeaveGroup v3+): the
      leader then gets every partition.
    Every message is processed; only the fenced member's unacknowledged
    processings are repeated."""
    for client in ("kafka-python", "confluent"):
        require_client(client)
    from kafka import KafkaAdminClient
    from kafka.admin import MemberToRemove

    producer = PRODUCERS["confluent"](kgw_bootstrap, kgw_topic, PARTITIONS, "s").start()
    admin = KafkaAdminClient(bootstrap_servers=kgw_bootstrap, request_timeout_ms=5000)
    try:
        a = members("kafka-python-a", "kafka-python", kgw_bootstrap, group_name, kgw_topic,
                    assignor="range", instance_id="static-a")
        wait_balanced([a], PARTITIONS, "the leader to own every partition")
        b = members("confluent-b", "confluent", kgw_bootstrap, group_name, kgw_topic,
                    assignor="range", instance_id="static-b")
        wait_balanced([a, b], PARTITIONS, "two static members to share the partitions")
        wait_each_processes([a, b], "both members to process")
        a_events = len(a.of("assignment"))
        b_held = b.assignment
        before = {m.group_instance_id: m.member_id for m in describe_group(kgw_bootstrap, group_name).members}

        b2 = members("confluent-b2", "confluent", kgw_bootstrap, group_name, kgw_topic,
                     assignor="range", instance_id="static-b")
        wait_until(lambda: b2.assignment == b_held, "the successor to take over static-b's partitions",
                   details=states([a, b, b2]))
        wait_each_processes([a, b2], "the leader and the successor to process")
        wait_until(lambda: any("FENCED" in e["err"].upper() for e in b.of("cf") + b.of("error")),
                   "the old static-b to be fenced", details=states([b]))
        assert len(a.of("assignment")) == a_events, "the leader went through a rebalance"
        # The instance has a new member id; as in Kafka (replaceStaticMember
        # keeps "everything else unchanged"), client id and host stay those
        # the instance joined with first.
        after = {m.group_instance_id: (m.member_id, m.client_id)
                 for m in describe_group(kgw_bootstrap, group_name).members}
        assert after["static-a"] == (before["static-a"], "kafka-python-a")
        assert after["static-b"][0] != before["static-b"] and after["static-b"][1] == "confluent-b"
        assert after["static-b"][0].startswith("static-b-")  # named after the instance id
        b.kill()

        b2.stop()  # no LeaveGroup: static-b stays in the group
        assert sorted(m.group_instance_id for m in describe_group(kgw_bootstrap, group_name).members) == \
            ["static-a", "static-b"]
        removed = admin.remove_group_members(group_name, [MemberToRemove(group_instance_id="static-b")])
        # kafka-python keys the result by the member id the response echoes,
        # or by the instance id when it is empty, as Kafka echoes it here.
        assert {key: error.__name__ for key, error in removed.items()} == {"static-b": "NoError"}
        assert [m.group_instance_id for m in describe_group(kgw_bootstrap, group_name).members] == \
            ["static-a"]
        wait_balanced([a], PARTITIONS, "the leader to get every partition back")
        wait_each_processes([a], "the leader to process alone")
    finally:
        produced = producer.stop()
        admin.close()
    ends = wait_all_processed([a, b, b2], kgw_bootstrap, kgw_topic, PARTITIONS, group_name)
    a.stop()
    for m in (a, b2):
        assert not m.of("cf"), m.describe()
    redelivered = check_processing([a, b, b2], ends, produced, redelivery_ok=[b])
    assert all(name == "confluent-b" for _, name in redelivered), redelivered
    assert committed_offsets(kgw_bootstrap, group_name, kgw_topic, PARTITIONS) == ends


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_session_timeout_below_the_minimum_is_refused(kgw_bootstrap, kgw_topic, group_name, client):
    """kgw's group.min.session.timeout.ms is Kafka's 6000: a JoinGroup asking
    for 1000 gets INVALID_SESSION_TIMEOUT (26), which each client surfaces."""
    require_client(client)
    if client == "confluent":
        from confluent_kafka import Consumer, KafkaError

        consumer = Consumer({"bootstrap.servers": kgw_bootstrap, "group.id": group_name,
                             "session.timeout.ms": 1000, "heartbeat.interval.ms": 300})
        try:
            consumer.subscribe([kgw_topic])
            error = wait_until(lambda: (lambda m: m.error() if m is not None else None)(consumer.poll(0.1)),
                               "the JoinGroup error")
            assert (error.code(), error.fatal()) == (KafkaError.INVALID_SESSION_TIMEOUT, False)
        finally:
            consumer.close()
    else:
        from kafka import KafkaConsumer
        from kafka.errors import InvalidSessionTimeoutError

        consumer = KafkaConsumer(bootstrap_servers=kgw_bootstrap, group_id=group_name,
                                 session_timeout_ms=1000, heartbeat_interval_ms=300)
        try:
            consumer.subscribe([kgw_topic])
            with pytest.raises(InvalidSessionTimeoutError):
                consumer.poll(timeout_ms=5000)
        finally:
            consumer.close()
    described = describe_group(kgw_bootstrap, group_name)
    assert (described.group_state, described.members) == ("Dead", [])
