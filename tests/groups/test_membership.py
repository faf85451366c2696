"""The classic group protocol, driven through the handlers by simulated members."""

import trio

from protocol.error_codes import ErrorCode
from protocol.messages import FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, SYNC_GROUP

from .harness import Member, call, protocols, running, trio_test, until


def group_of(broker, group_id="g"):
    return broker.groups.groups[group_id]


@trio_test
async def test_find_coordinator_answers_node_0_for_groups_and_transactions(tmp_path):
    async with running(tmp_path) as broker:
        for version in range(0, 4):
            for key_type in (0, 1) if version >= 1 else (0,):
                response = await call(broker, FIND_COORDINATOR, version,
                                      FIND_COORDINATOR.Request(key="g", key_type=key_type))
                assert (response.error_code, response.node_id, response.host, response.port) == \
                    (ErrorCode.NONE, 0, "kgw.example", 19092)
        response = await call(broker, FIND_COORDINATOR, 6, FIND_COORDINATOR.Request(
            key_type=0, coordinator_keys=["a", "b"]))
        assert [(c.key, c.node_id, c.port, c.error_code) for c in response.coordinators] == \
            [("a", 0, 19092, 0), ("b", 0, 19092, 0)]
        response = await call(broker, FIND_COORDINATOR, 2, FIND_COORDINATOR.Request(key="g", key_type=7))
        assert (response.error_code, response.node_id) == (ErrorCode.INVALID_REQUEST, -1)
        response = await call(broker, FIND_COORDINATOR, 4, FIND_COORDINATOR.Request(
            key_type=7, coordinator_keys=["a"]))
        assert response.coordinators[0].error_code == ErrorCode.INVALID_REQUEST


@trio_test
async def test_first_member_needs_a_member_id_then_leads_generation_1(tmp_path):
    async with running(tmp_path) as broker:
        member = Member(broker, client_id="app")
        first = await member.join_once()
        assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED
        assert first.member_id.startswith("app-") and first.generation_id == -1
        second = await member.join_once()
        assert second.error_code == ErrorCode.NONE
        assert second.member_id == first.member_id == second.leader
        assert second.generation_id == 1
        assert (second.protocol_type, second.protocol_name) == ("consumer", "range")
        assert [(m.member_id, bytes(m.metadata)) for m in second.members] == \
            [(first.member_id, b"subrange")]
        assert group_of(broker).state == "CompletingRebalance"
        synced = await member.sync()
        assert synced.assignment == b"for " + member.member_id.encode()
        assert (synced.protocol_type, synced.protocol_name) == ("consumer", "range")
        assert group_of(broker).state == "Stable"
        assert await member.heartbeat() == ErrorCode.NONE


@trio_test
async def test_join_before_v4_gets_a_member_id_at_once(tmp_path):
    async with running(tmp_path) as broker:
        member = Member(broker, version=3)
        response = await member.join_once()
        assert response.error_code == ErrorCode.NONE and response.generation_id == 1


@trio_test
async def test_second_member_rebalances_the_group_and_sync_hands_out_the_leaders_assignment(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a"), Member(broker, client_id="b")
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            results = {}

            async def join_b():
                results["b"] = await b.join()

            nursery.start_soon(join_b)
            await until(lambda: group_of(broker).state == "PreparingRebalance", "rebalance")
            assert await a.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
            # A commit during the rebalance is still accepted, as in Kafka.
            assert (await a.commit({("t", 0): 5})) == {("t", 0): ErrorCode.NONE}
            joined_a = await a.join()
        assert joined_a.error_code == results["b"].error_code == ErrorCode.NONE
        assert a.generation == b.generation == 2
        assert a.leader == b.leader == a.member_id
        assert sorted(a.members) == sorted([a.member_id, b.member_id]) and b.members == []

        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.sync)
            await until(lambda: group_of(broker).members[b.member_id].sync_reply is not None, "b waits")
            assert group_of(broker).state == "CompletingRebalance"
            await a.sync({a.member_id: b"p0,p1", b.member_id: b"p2,p3"})
        assert (a.assignment, b.assignment) == (b"p0,p1", b"p2,p3")
        assert group_of(broker).state == "Stable"
        assert await a.heartbeat() == await b.heartbeat() == ErrorCode.NONE
        # A stale generation is refused.
        b.generation = 1
        assert await b.heartbeat() == ErrorCode.ILLEGAL_GENERATION


@trio_test
async def test_a_follower_rejoining_unchanged_gets_the_current_generation(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a"), Member(broker, client_id="b")
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.sync)
            await a.sync()
        again = await b.join()
        assert (again.error_code, again.generation_id, again.leader) == (ErrorCode.NONE, 2, a.member_id)
        assert group_of(broker).state == "Stable"
        # The leader's rejoin always rebalances.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await b.join()
        assert a.generation == b.generation == 3


@trio_test
async def test_leave_rebalances_the_rest_and_the_last_leave_empties_the_group(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a", version=3), Member(broker, client_id="b", version=5)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join_and_sync()
        assert await a.leave() == ErrorCode.NONE
        assert group_of(broker).state == "PreparingRebalance"
        assert await b.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
        await b.join_and_sync()
        assert (b.generation, b.leader) == (3, b.member_id)
        assert await b.leave() == ErrorCode.NONE
        group = group_of(broker)
        assert (group.state, group.generation_id, group.leader_id) == ("Empty", 4, None)
        assert await b.leave() == ErrorCode.UNKNOWN_MEMBER_ID
        assert await b.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID


@trio_test
async def test_batched_leave_reports_each_member(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a"), Member(broker, client_id="b", instance_id="b-1")
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join_and_sync()
        Identity = LEAVE_GROUP.Request.MemberIdentity
        response = await call(broker, LEAVE_GROUP, 5, LEAVE_GROUP.Request(group_id="g", members=[
            Identity(member_id=a.member_id), Identity(member_id="", group_instance_id="b-1"),
            Identity(member_id="nobody")]))
        assert response.error_code == ErrorCode.NONE
        assert [(m.member_id, m.group_instance_id, m.error_code) for m in response.members] == [
            (a.member_id, None, ErrorCode.NONE), ("", "b-1", ErrorCode.NONE),
            ("nobody", None, ErrorCode.UNKNOWN_MEMBER_ID)]
        assert group_of(broker).state == "Empty"
        response = await call(broker, LEAVE_GROUP, 5, LEAVE_GROUP.Request(group_id="other", members=[
            Identity(member_id="x")]))
        assert response.members[0].error_code == ErrorCode.UNKNOWN_MEMBER_ID
        response = await call(broker, LEAVE_GROUP, 1, LEAVE_GROUP.Request(group_id="", member_id="x"))
        assert response.error_code == ErrorCode.INVALID_GROUP_ID


@trio_test
async def test_session_timeout_removes_a_silent_member(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", session_timeout_ms=10_000)
        b = Member(broker, client_id="b", session_timeout_ms=30_000)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join_and_sync()
        # b heartbeats, a stays silent past its 10 s session.
        for _ in range(3):
            await trio.sleep(3)
            assert await b.heartbeat() == ErrorCode.NONE
        assert a.member_id in group_of(broker).members
        await trio.sleep(3)
        assert a.member_id not in group_of(broker).members
        assert await b.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
        assert await a.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID
        await b.join_and_sync()
        assert (b.generation, b.leader, group_of(broker).state) == (3, b.member_id, "Stable")


@trio_test
async def test_rebalance_timeout_kicks_out_a_member_that_does_not_rejoin(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", session_timeout_ms=60_000, rebalance_timeout_ms=20_000)
        b = Member(broker, client_id="b", session_timeout_ms=60_000, rebalance_timeout_ms=20_000)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join_and_sync()
        c = Member(broker, client_id="c", rebalance_timeout_ms=20_000)
        started = trio.current_time()
        # c's join starts a rebalance; b joins again, a never does.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(c.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            joined_b = await b.join()
        assert trio.current_time() - started == 20
        assert joined_b.error_code == ErrorCode.NONE and b.generation == 3
        assert set(group_of(broker).members) == {b.member_id, c.member_id}
        # The old leader did not come back, so a member that did leads.
        assert b.leader in (b.member_id, c.member_id) and b.leader == c.leader


@trio_test
async def test_members_that_never_sync_are_removed_after_the_rebalance_timeout(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", session_timeout_ms=60_000, rebalance_timeout_ms=15_000)
        b = Member(broker, client_id="b", session_timeout_ms=60_000, rebalance_timeout_ms=15_000)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join()
        # The follower syncs and waits; the leader never sends its assignment.
        synced = await b.sync()
        assert synced.error_code == ErrorCode.REBALANCE_IN_PROGRESS
        assert a.member_id not in group_of(broker).members
        assert group_of(broker).state == "PreparingRebalance"


@trio_test
async def test_pending_member_that_never_returns_expires_after_its_session(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a")
        await a.join_and_sync()
        lost = Member(broker, client_id="lost", session_timeout_ms=6_000)
        assert (await lost.join_once()).error_code == ErrorCode.MEMBER_ID_REQUIRED
        assert lost.member_id in group_of(broker).pending_members
        await trio.sleep(7)
        assert group_of(broker).pending_members == {}
        assert (await lost.join_once()).error_code == ErrorCode.UNKNOWN_MEMBER_ID


@trio_test
async def test_a_new_member_whose_client_went_away_is_dropped_after_five_minutes(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", session_timeout_ms=600_000, rebalance_timeout_ms=900_000)
        await a.join_and_sync()
        gone = Member(broker, client_id="gone", rebalance_timeout_ms=900_000)
        with trio.move_on_after(1):
            await gone.join()  # its connection closes while the join waits
        # a is slow to rejoin (a long max.poll.interval.ms) but alive.
        present = []
        for _ in range(5):
            await trio.sleep(60)
            assert await a.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
            present.append(gone.member_id in group_of(broker).members)
        assert present == [True, True, True, True, False]
        assert (await a.join()).error_code == ErrorCode.NONE
        assert a.members == [a.member_id] and a.generation == 2


@trio_test
async def test_static_member_rejoin_replaces_its_member_id_without_a_rebalance(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", instance_id="host-a")
        b = Member(broker, client_id="b", instance_id="host-b")
        response = await a.join()
        assert response.error_code == ErrorCode.NONE and a.member_id.startswith("host-a-")
        await a.sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join()
            # b learns its id from the same completion: take it from a's view.
            [b_id] = [m for m in a.members if m != a.member_id]
            await a.sync({a.member_id: b"A", b_id: b"B"})
        old_b = b.member_id
        # b restarts: same instance id, no member id, same protocols.
        restarted = Member(broker, client_id="b", instance_id="host-b")
        response = await restarted.join()
        assert response.error_code == ErrorCode.NONE
        assert response.member_id != old_b and response.generation_id == 2
        assert response.leader == a.member_id
        assert group_of(broker).state == "Stable"
        assert (await restarted.sync()).assignment == b"B"
        assert await a.heartbeat() == ErrorCode.NONE
        # The old member id is fenced.
        assert await b.heartbeat() == ErrorCode.FENCED_INSTANCE_ID
        # A static member that changes its protocols rebalances the group.
        changed = Member(broker, client_id="b", instance_id="host-b", names=("roundrobin",))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(changed.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join()
        assert a.generation == changed.generation == 3 and a.protocol == "roundrobin"


@trio_test
async def test_static_leader_returning_is_not_told_it_leads(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", instance_id="host-a")
        await a.join_and_sync()
        returned = Member(broker, client_id="a", instance_id="host-a")
        response = await returned.join()
        assert response.error_code == ErrorCode.NONE
        assert response.leader == a.member_id != response.member_id
        assert response.members == []
        assert group_of(broker).leader_id == response.member_id


@trio_test
async def test_static_member_that_does_not_rejoin_keeps_its_place_until_its_session_ends(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", rebalance_timeout_ms=10_000, session_timeout_ms=60_000)
        s = Member(broker, client_id="s", instance_id="static", rebalance_timeout_ms=10_000,
                   session_timeout_ms=60_000)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(s.join_and_sync)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join_and_sync()
        c = Member(broker, client_id="c", rebalance_timeout_ms=10_000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(c.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            await a.join()
        # The rebalance timed out without s, yet s is handed to the leader.
        assert s.member_id in a.members and a.generation == 3


@trio_test
async def test_protocol_mismatches_are_inconsistent_group_protocol(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", names=("range",))
        await a.join_and_sync()
        other_type = Member(broker, client_id="x", protocol_type="connect")
        assert (await other_type.join()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        no_common = Member(broker, client_id="y", names=("sticky",))
        assert (await no_common.join()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        empty_type = Member(broker, group_id="fresh", protocol_type="")
        assert (await empty_type.join()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        # SyncGroup v5 checks the type and name the member believes in.
        a.protocol = "roundrobin"
        assert (await a.sync()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        a.protocol = None
        assert (await a.sync()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        a.version = 4  # no protocol fields before v5: nothing to check
        assert (await a.sync()).error_code == ErrorCode.NONE


@trio_test
async def test_protocol_is_chosen_by_the_members_votes(tmp_path):
    async with running(tmp_path, initial_rebalance_delay_ms=3000) as broker:
        voters = [Member(broker, client_id="a", names=("sticky", "range", "roundrobin")),
                  Member(broker, client_id="b", names=("roundrobin", "range")),
                  Member(broker, client_id="c", names=("roundrobin", "sticky", "range"))]
        async with trio.open_nursery() as nursery:
            for voter in voters:
                nursery.start_soon(voter.join)
        # sticky is not supported by b: roundrobin has two votes, range one.
        assert {v.protocol for v in voters} == {"roundrobin"}
        assert {v.generation for v in voters} == {1}


@trio_test
async def test_initial_rebalance_delay_gathers_members_that_arrive_together(tmp_path):
    async with running(tmp_path, initial_rebalance_delay_ms=3000) as broker:
        members = [Member(broker, client_id=f"m{i}") for i in range(3)]
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for member in members:
                nursery.start_soon(member.join)
                await trio.sleep(1)
        # The delay restarted while members kept coming: 3 s after the first
        # join, then 3 s more because more had joined meanwhile.
        assert trio.current_time() - started == 6
        assert {m.generation for m in members} == {1}
        assert sorted(members[0].members) == sorted(m.member_id for m in members)


@trio_test
async def test_session_timeout_outside_the_limits_is_refused(tmp_path):
    async with running(tmp_path, min_session_timeout_ms=6000, max_session_timeout_ms=60_000) as broker:
        for timeout in (5999, 60_001):
            member = Member(broker, session_timeout_ms=timeout)
            assert (await member.join()).error_code == ErrorCode.INVALID_SESSION_TIMEOUT
        assert "g" not in broker.groups.groups


@trio_test
async def test_group_max_size(tmp_path):
    async with running(tmp_path, group_max_size=1) as broker:
        a = Member(broker, client_id="a")
        await a.join_and_sync()
        b = Member(broker, client_id="b")
        response = await b.join()
        assert (response.error_code, response.member_id) == (ErrorCode.GROUP_MAX_SIZE_REACHED, "")
        assert list(group_of(broker).members) == [a.member_id]
        assert await a.heartbeat() == ErrorCode.NONE


@trio_test
async def test_member_ids_handed_out_count_toward_group_max_size(tmp_path):
    async with running(tmp_path, group_max_size=3) as broker:
        # A flood of JoinGroups that never come back with their member id.
        answers = [await Member(broker, client_id=f"m{i}").join_once() for i in range(5)]
        assert [a.error_code for a in answers] == [ErrorCode.MEMBER_ID_REQUIRED] * 3 + [
            ErrorCode.GROUP_MAX_SIZE_REACHED] * 2
        assert len(group_of(broker).pending_members) == 3


@trio_test
async def test_unknown_members_and_groups(tmp_path):
    async with running(tmp_path) as broker:
        ghost = Member(broker, group_id="nowhere")
        ghost.member_id, ghost.protocol = "ghost", "range"
        assert (await ghost.join()).error_code == ErrorCode.UNKNOWN_MEMBER_ID
        assert (await ghost.sync()).error_code == ErrorCode.UNKNOWN_MEMBER_ID
        assert await ghost.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID
        assert "nowhere" not in broker.groups.groups
        nameless = Member(broker, group_id="")
        nameless.protocol = "range"
        assert (await nameless.join()).error_code == ErrorCode.INVALID_GROUP_ID
        assert await nameless.heartbeat() == ErrorCode.INVALID_GROUP_ID
        assert (await nameless.sync()).error_code == ErrorCode.INVALID_GROUP_ID


@trio_test
async def test_sync_during_a_rebalance_and_a_replaced_sync(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a"), Member(broker, client_id="b")
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            assert (await a.sync()).error_code == ErrorCode.REBALANCE_IN_PROGRESS
            await a.join()
        results = []

        async def follower_sync():
            results.append((await b.sync()).error_code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower_sync)
            await until(lambda: len(results) == 0 and
                        group_of(broker).members[b.member_id].sync_reply is not None)
            nursery.start_soon(follower_sync)
            await until(lambda: len(results) == 1, "the first sync superseded")
            await a.sync()
        assert results == [ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.NONE]


@trio_test
async def test_a_cancelled_join_does_not_wedge_the_group(tmp_path):
    async with running(tmp_path) as broker:
        a, b = Member(broker, client_id="a"), Member(broker, client_id="b")
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join)
            await until(lambda: group_of(broker).state == "PreparingRebalance")
            nursery.cancel_scope.cancel()
        # a rejoins; b's cancelled join still counts, as in Kafka, so the
        # generation completes at once and b, silent, later times out.
        assert (await a.join()).error_code == ErrorCode.NONE
        assert a.generation == 2
        await a.sync()
        for _ in range(5):
            await trio.sleep(3)
            await a.heartbeat()
        await a.join_and_sync()
        assert list(group_of(broker).members) == [a.member_id] and a.generation == 3


@trio_test
async def test_join_of_heartbeat_of_old_versions(tmp_path):
    async with running(tmp_path) as broker:
        old = Member(broker, version=0)
        response = await call(broker, JOIN_GROUP, 0, JOIN_GROUP.Request(
            group_id="g", session_timeout_ms=10_000, member_id="", protocol_type="consumer",
            protocols=protocols("range")))
        assert response.error_code == ErrorCode.NONE and response.generation_id == 1
        member = group_of(broker).members[response.member_id]
        # v0 has no rebalance timeout: the session timeout stands in.
        assert member.rebalance_timeout_ms == 10_000
        old.member_id, old.generation, old.leader = response.member_id, 1, response.leader
        old.members = [response.member_id]
        response = await call(broker, SYNC_GROUP, 0, SYNC_GROUP.Request(
            group_id="g", generation_id=1, member_id=old.member_id, assignments=[
                SYNC_GROUP.Request.SyncGroupRequestAssignment(member_id=old.member_id, assignment=b"x")]))
        assert (response.error_code, response.assignment) == (ErrorCode.NONE, b"x")
        response = await call(broker, HEARTBEAT, 0, HEARTBEAT.Request(
            group_id="g", generation_id=1, member_id=old.member_id))
        assert response.error_code == ErrorCode.NONE
        assert await old.leave() == ErrorCode.NONE
