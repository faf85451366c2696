"""ListGroups, DescribeGroups, DeleteGroups and OffsetDelete."""

import struct

import trio

from kgw.authorized_operations import NOT_REQUESTED
from protocol.error_codes import ErrorCode
from protocol.messages import DELETE_GROUPS, DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_DELETE

from .harness import Member, call, commit, fetch, running, trio_test, until


async def stable_pair(broker, group_id="g"):
    a = Member(broker, group_id, client_id="app-a", instance_id="host-a")
    b = Member(broker, group_id, client_id="app-b")
    await a.join_and_sync()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.join_and_sync)
        await until(lambda: broker.groups.groups[group_id].state == "PreparingRebalance")
        await a.join()
        [b_id] = [m for m in a.members if m != a.member_id]
        await a.sync({a.member_id: b"A", b_id: b"B"})
    return a, b


async def listed(broker, version, **filters):
    response = await call(broker, LIST_GROUPS, version, LIST_GROUPS.Request(**filters))
    assert response.error_code == ErrorCode.NONE
    return sorted((g.group_id, g.protocol_type, g.group_state, g.group_type) for g in response.groups)


@trio_test
async def test_list_groups_with_state_and_type_filters(tmp_path):
    async with running(tmp_path) as broker:
        await stable_pair(broker, "busy")
        await commit(broker, "offsets-only", {("t", 0): 1})
        assert await listed(broker, 5) == [
            ("busy", "consumer", "Stable", "classic"), ("offsets-only", "", "Empty", "classic")]
        assert await listed(broker, 4, states_filter=["empty"]) == [
            ("offsets-only", "", "Empty", "")]
        assert await listed(broker, 5, states_filter=["Stable", "Dead"]) == [
            ("busy", "consumer", "Stable", "classic")]
        assert await listed(broker, 5, types_filter=["consumer"]) == []
        assert len(await listed(broker, 5, types_filter=["Classic"])) == 2
        # v0-3 have no state: the filter fields do not exist there either.
        assert await listed(broker, 0, states_filter=["Stable"]) == [
            ("busy", "consumer", "", ""), ("offsets-only", "", "", "")]


@trio_test
async def test_describe_groups(tmp_path):
    async with running(tmp_path) as broker:
        a, b = await stable_pair(broker)
        await commit(broker, "offsets-only", {("t", 0): 1})
        response = await call(broker, DESCRIBE_GROUPS, 5, DESCRIBE_GROUPS.Request(
            groups=["g", "offsets-only", "unknown"], include_authorized_operations=True))
        g, offsets_only, unknown = response.groups
        assert (g.error_code, g.group_id, g.group_state, g.protocol_type, g.protocol_data) == \
            (ErrorCode.NONE, "g", "Stable", "consumer", "range")
        # What Kafka 4.4 answers: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS and
        # ALTER_CONFIGS (3400), for a known group and a Dead one alike.
        assert g.authorized_operations == unknown.authorized_operations == 3400
        assert sorted((m.member_id, m.group_instance_id, m.client_id, m.client_host,
                       bytes(m.member_metadata), bytes(m.member_assignment)) for m in g.members) == \
            sorted([(a.member_id, "host-a", "app-a", "/127.0.0.1", b"subrange", b"A"),
                    (b.member_id, None, "app-b", "/127.0.0.1", b"subrange", b"B")])
        assert (offsets_only.group_state, offsets_only.protocol_type, offsets_only.members) == \
            ("Empty", "", [])
        # Kafka before DescribeGroups v6 describes an unknown group as Dead.
        assert (unknown.error_code, unknown.group_state, unknown.members) == \
            (ErrorCode.NONE, "Dead", [])

        response = await call(broker, DESCRIBE_GROUPS, 3, DESCRIBE_GROUPS.Request(groups=["g"]))
        assert response.groups[0].authorized_operations == NOT_REQUESTED
        # During a rebalance nothing about the next assignment is settled.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.join)
            await until(lambda: broker.groups.groups["g"].state == "PreparingRebalance")
            response = await call(broker, DESCRIBE_GROUPS, 0, DESCRIBE_GROUPS.Request(groups=["g"]))
            described = response.groups[0]
            assert (described.group_state, described.protocol_data) == ("PreparingRebalance", "")
            assert {(bytes(m.member_metadata), bytes(m.member_assignment))
                    for m in described.members} == {(b"", b"")}
            await b.join()


@trio_test
async def test_delete_groups(tmp_path):
    async with running(tmp_path) as broker:
        a, b = await stable_pair(broker, "busy")
        await a.commit({("t", 0): 5})
        await commit(broker, "idle", {("t", 0): 7, ("t", 1): 8})
        response = await call(broker, DELETE_GROUPS, 2, DELETE_GROUPS.Request(
            groups_names=["busy", "idle", "ghost", "idle"]))
        assert [(r.group_id, r.error_code) for r in response.results] == [
            ("busy", ErrorCode.NON_EMPTY_GROUP), ("idle", ErrorCode.NONE),
            ("ghost", ErrorCode.GROUP_ID_NOT_FOUND)]
        assert await fetch(broker, "idle", None) == {}
        assert await fetch(broker, "busy", None) == {("t", 0): (5, "m")}
        assert [g.group_id for g in broker.groups.list_groups()] == ["busy"]
        # Once its members are gone the group can go too, offsets and all.
        assert await a.leave() == await b.leave() == ErrorCode.NONE
        response = await call(broker, DELETE_GROUPS, 0, DELETE_GROUPS.Request(groups_names=["busy"]))
        assert [(r.group_id, r.error_code) for r in response.results] == [("busy", ErrorCode.NONE)]
    async with running(tmp_path) as broker:
        assert broker.groups.list_groups() == []


@trio_test
async def test_a_deleted_group_can_be_used_again(tmp_path):
    async with running(tmp_path) as broker:
        await commit(broker, "g", {("t", 0): 1})
        assert await broker.groups.delete_groups(["g"]) == {"g": ErrorCode.NONE}
        member = Member(broker)
        await member.join_and_sync()
        assert member.generation == 1
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (-1, "")}


def subscription(*topics: str) -> bytes:
    """Kafka's ConsumerProtocolSubscription v0, written out by hand."""
    encoded = b"".join(struct.pack(">h", len(t)) + t.encode() for t in topics)
    return struct.pack(">hi", 0, len(topics)) + encoded + struct.pack(">i", -1)


async def delete_offsets(broker, group_id, partitions):
    Topic = OFFSET_DELETE.Request.OffsetDeleteRequestTopic
    by_topic = {}
    for topic, partition in partitions:
        by_topic.setdefault(topic, []).append(Topic.OffsetDeleteRequestPartition(partition_index=partition))
    response = await call(broker, OFFSET_DELETE, 0, OFFSET_DELETE.Request(
        group_id=group_id, topics=[Topic(name=t, partitions=ps) for t, ps in by_topic.items()]))
    return response.error_code, {(t.name, p.partition_index): p.error_code
                                 for t in response.topics for p in t.partitions}


@trio_test
async def test_offset_delete_keeps_what_a_live_consumer_group_subscribes_to(tmp_path):
    async with running(tmp_path, topics={"t": 2, "u": 1}) as broker:
        member = Member(broker, "g", metadata=subscription("t"))
        await member.join_and_sync()
        await member.commit({("t", 0): 5, ("u", 0): 7})
        assert await delete_offsets(broker, "g", [("t", 0), ("u", 0), ("t", 9)]) == (ErrorCode.NONE, {
            ("t", 0): ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ("u", 0): ErrorCode.NONE,
            ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION})
        assert await fetch(broker, "g", [("t", 0), ("u", 0)]) == {("t", 0): (5, "m"), ("u", 0): (-1, "")}

        # Once the group is empty, nothing is protected.
        assert await member.leave() == ErrorCode.NONE
        assert await delete_offsets(broker, "g", [("t", 0)]) == (ErrorCode.NONE, {("t", 0): ErrorCode.NONE})
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (-1, "")}


@trio_test
async def test_offset_delete_is_durable(tmp_path):
    async with running(tmp_path) as broker:
        await commit(broker, "offsets-only", {("t", 0): 1, ("t", 1): 2})
        assert (await delete_offsets(broker, "offsets-only", [("t", 0)]))[0] == ErrorCode.NONE
    async with running(tmp_path) as broker:
        assert await fetch(broker, "offsets-only", [("t", 0), ("t", 1)]) == {
            ("t", 0): (-1, ""), ("t", 1): (2, "m")}


@trio_test
async def test_offset_delete_group_errors(tmp_path):
    async with running(tmp_path) as broker:
        assert await delete_offsets(broker, "unknown", [("t", 0)]) == (ErrorCode.GROUP_ID_NOT_FOUND, {})
        assert await delete_offsets(broker, "", [("t", 0)]) == (ErrorCode.INVALID_GROUP_ID, {})
        connect = Member(broker, "workers", protocol_type="connect")
        await connect.join_and_sync()
        await connect.commit({("t", 0): 3})
        assert await delete_offsets(broker, "workers", [("t", 0)]) == (ErrorCode.NON_EMPTY_GROUP, {})
        # A consumer group whose subscription cannot be read protects nothing, as in Kafka.
        garbled = Member(broker, "garbled", metadata=b"\x00")
        await garbled.join_and_sync()
        await garbled.commit({("t", 0): 3})
        assert await delete_offsets(broker, "garbled", [("t", 0)]) == (ErrorCode.NONE, {("t", 0): ErrorCode.NONE})
