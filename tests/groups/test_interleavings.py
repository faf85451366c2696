"""Random interleavings of joins, syncs, heartbeats, commits, leaves, hang-ups
and passing time, from a few members at once, never corrupt a group, and
the group always settles again once its members behave.

The clock is a MockClock without autojump here: time moves only when a
`tick` says so, and `wait_all_tasks_blocked` settles everything else in
between, which keeps each example reproducible for hypothesis to shrink.
"""

import tempfile
from pathlib import Path
from unittest import mock

import trio
from hypothesis import given, settings, strategies as st
from trio.testing import MockClock, wait_all_tasks_blocked

from kgw.groups.group import COMPLETING_REBALANCE, EMPTY, PREPARING_REBALANCE, STABLE
from kgw.journal import Journal
from protocol.error_codes import ErrorCode

from .harness import FakeBroker, Member, inline_fsync, coordinator

# (client id, JoinGroup version, static instance id)
MEMBERS = [("m0", 7, None), ("m1", 3, None), ("m2", 5, None), ("m3", 7, "static")]
ACTIONS = st.one_of(
    st.tuples(st.sampled_from(["join", "sync", "heartbeat", "leave", "commit", "hangup"]),
              st.integers(0, len(MEMBERS) - 1)),
    st.tuples(st.just("tick"), st.sampled_from([1, 3, 8, 20, 40])))


def tag(member_id: str) -> bytes:
    return b"for " + member_id.encode()


class Simulated(Member):
    def __init__(self, broker, client_id, version, instance_id):
        super().__init__(broker, client_id=client_id, version=version, instance_id=instance_id,
                         session_timeout_ms=10_000, rebalance_timeout_ms=30_000)
        self.scopes: list[trio.CancelScope] = []
        self.synced_generation = -1

    async def leader_sync(self):
        if self.is_leader:
            return await self.sync({m: tag(m) for m in self.members})
        return await self.sync()

    def fair_assignment(self, assignment: bytes) -> bool:
        """What the leader gave this member: tagged with its id or, for a
        static member that came back under a new id (KIP-345), with an
        earlier id of the same instance."""
        if self.instance_id is not None:
            return assignment.startswith(b"for " + self.instance_id.encode() + b"-")
        return assignment == tag(self.member_id)

    def expected_heartbeat(self, groups) -> ErrorCode:
        group = groups.get("g")
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if self.instance_id is not None:
            current = group.static_members.get(self.instance_id)
            if current is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if current != self.member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if self.member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if self.generation != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        return ErrorCode.REBALANCE_IN_PROGRESS if group.state == PREPARING_REBALANCE else ErrorCode.NONE


def check_group(groups) -> None:
    group = groups.get("g")
    if group is None:
        return
    assert group.state in (EMPTY, PREPARING_REBALANCE, COMPLETING_REBALANCE, STABLE)
    members = group.members
    if group.state == EMPTY:
        assert not members and group.leader_id is None
    else:
        assert members and group.leader_id in members
    assert {m.group_instance_id: m.member_id for m in members.values()
            if m.group_instance_id is not None} == group.static_members
    assert all(key == m.member_id for key, m in members.items())
    assert group.pending_sync <= set(members)
    assert not set(group.pending_members) & set(members)
    for member in members.values():
        assert member.protocol_type == group.protocol_type
        if member.join_reply is not None:
            assert group.state == PREPARING_REBALANCE and not member.join_reply.done
        if member.sync_reply is not None:
            assert group.state == COMPLETING_REBALANCE and not member.sync_reply.done
    if group.state == PREPARING_REBALANCE:
        assert group.join_timer is not None and group.join_timer.active
    if group.state in (COMPLETING_REBALANCE, STABLE):
        assert group.generation_id >= 1
        assert all(m.supports(group.protocol_name) for m in members.values())


async def act(member: Simulated, action: str, groups) -> None:
    with trio.CancelScope() as scope:
        member.scopes.append(scope)
        if action == "join":
            await member.join_once()
        elif action == "sync":
            response = await member.leader_sync()
            if response.error_code == ErrorCode.NONE and response.assignment:
                assert member.fair_assignment(response.assignment)
        elif action == "heartbeat":
            expected = member.expected_heartbeat(groups)
            assert await member.heartbeat() == expected
        elif action == "leave":
            await member.leave()
        elif action == "commit":
            await member.commit({("t", 0): 1})
    member.scopes.remove(scope)


async def behave(member: Simulated) -> None:
    """What a well-behaved client does: join, sync, heartbeat every 3 s,
    and join again whenever told to."""
    while True:
        joined = await member.join()
        if joined.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
            member.member_id = ""
            continue
        if joined.error_code != ErrorCode.NONE:
            continue
        synced = await member.leader_sync()
        if synced.error_code != ErrorCode.NONE:
            continue
        member.synced_generation = member.generation
        while await member.heartbeat() == ErrorCode.NONE:
            await trio.sleep(3)


def settled(groups, members) -> bool:
    group = groups.get("g")
    return (group is not None and group.state == STABLE
            and all(m.synced_generation == group.generation_id and m.member_id in group.members
                    for m in members))


async def scenario(data_dir: Path, actions) -> None:
    clock = trio.lowlevel.current_clock()
    groups_coordinator = coordinator(data_dir)
    broker = FakeBroker(groups_coordinator, {"t": 1})
    groups = groups_coordinator.groups
    members = [Simulated(broker, *spec) for spec in MEMBERS]
    generations = [0]
    async with trio.open_nursery() as nursery:
        await nursery.start(groups_coordinator.run)
        async with trio.open_nursery() as clients:
            for action, argument in actions:
                if action == "tick":
                    clock.jump(argument)
                elif action == "hangup":
                    for scope in members[argument].scopes:
                        scope.cancel()
                else:
                    clients.start_soon(act, members[argument], action, groups)
                await wait_all_tasks_blocked()
                check_group(groups)
                if "g" in groups:
                    assert groups["g"].generation_id >= generations[-1]
                    generations.append(groups["g"].generation_id)
            clients.cancel_scope.cancel()
        clock.autojump_threshold = 0
        async with trio.open_nursery() as clients:
            for member in members:
                clients.start_soon(behave, member)
            with trio.move_on_after(600) as timeout:
                while not settled(groups, members):
                    await trio.sleep(1)
            clients.cancel_scope.cancel()
        assert not timeout.cancelled_caught, f"the group never settled: {groups.get('g')}"
        check_group(groups)
        group = groups["g"]
        assert {m.leader for m in members} == {group.leader_id}
        for member in members:
            assert member.fair_assignment(member.assignment), (member.member_id, member.assignment)
        nursery.cancel_scope.cancel()
    groups_coordinator.close()


@settings(max_examples=120, deadline=None)
@given(st.lists(ACTIONS, max_size=40))
def test_random_interleavings_keep_the_group_consistent(actions):
    with tempfile.TemporaryDirectory() as data_dir, \
            mock.patch.object(Journal, "_fsync", inline_fsync):
        trio.run(scenario, Path(data_dir), actions, clock=MockClock())
