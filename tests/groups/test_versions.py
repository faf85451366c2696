"""Every version kgw serves, end to end through its own wire encoding.

`harness.call` encodes each request and each response in the version under
test, so each case also proves that the responses built for that version,
success and error alike, are encodable.
"""

import pytest
import trio

from kgw.handlers import HANDLERS
from protocol.error_codes import ErrorCode
from protocol.messages import (
    DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP,
    LIST_GROUPS, OFFSET_COMMIT, OFFSET_FETCH, SYNC_GROUP,
)

from .harness import Member, call, commit, fetch, running, trio_test

SERVED = {FIND_COORDINATOR: (0, 6), JOIN_GROUP: (0, 7), SYNC_GROUP: (0, 5), HEARTBEAT: (0, 4),
          LEAVE_GROUP: (0, 5), OFFSET_COMMIT: (2, 9), OFFSET_FETCH: (1, 9), LIST_GROUPS: (0, 5),
          DESCRIBE_GROUPS: (0, 6), DELETE_GROUPS: (0, 2)}


def test_registered_versions():
    assert {api: (HANDLERS[api.key].min_version, HANDLERS[api.key].max_version)
            for api in SERVED} == SERVED


@pytest.mark.parametrize("version", range(0, 7))
@trio_test
async def test_find_coordinator(tmp_path, version):
    async with running(tmp_path) as broker:
        for key_type in (0, 1, 2):
            body = FIND_COORDINATOR.Request(key="k", key_type=key_type, coordinator_keys=["k", "l"])
            response = await call(broker, FIND_COORDINATOR, version, body)
            errors = [c.error_code for c in response.coordinators] if version >= 4 else [response.error_code]
            expected = ErrorCode.INVALID_REQUEST if key_type == 2 and version >= 1 else ErrorCode.NONE
            assert set(errors) == {expected}


@pytest.mark.parametrize("version", range(0, 8))
@trio_test
async def test_group_lifecycle(tmp_path, version):
    """Join, sync, heartbeat and leave, each at `version` (capped at the
    API's maximum), plus an error answer from each."""
    async with running(tmp_path) as broker:
        a = Member(broker, client_id="a", version=version)
        b = Member(broker, client_id="b", version=version)
        await a.join_and_sync()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.join_and_sync)
            while broker.groups.groups["g"].state != "PreparingRebalance":
                await trio.sleep(0)
            assert await a.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
            await a.join_and_sync()
        assert a.generation == b.generation == 2 and b.assignment == b"for " + b.member_id.encode()
        assert await b.heartbeat() == ErrorCode.NONE
        mismatched = Member(broker, client_id="c", version=version, protocol_type="other")
        assert (await mismatched.join()).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        b.generation = 7
        assert (await b.sync()).error_code == ErrorCode.ILLEGAL_GENERATION
        assert await b.heartbeat() == ErrorCode.ILLEGAL_GENERATION
        assert await b.leave() == ErrorCode.NONE
        assert await b.leave() == ErrorCode.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize("version", range(2, 10))
@trio_test
async def test_offset_commit(tmp_path, version):
    async with running(tmp_path) as broker:
        member = Member(broker)
        await member.join_and_sync()
        assert await member.commit({("t", 0): 3, ("t", 1): 4}, version=version) == \
            {("t", 0): ErrorCode.NONE, ("t", 1): ErrorCode.NONE}
        assert await commit(broker, "g", {("t", 0): 1, ("x", 0): 1}, version=version) == \
            {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID, ("x", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}


@pytest.mark.parametrize("version", range(1, 10))
@trio_test
async def test_offset_fetch(tmp_path, version):
    async with running(tmp_path) as broker:
        await commit(broker, "g", {("t", 0): 3})
        if version >= 8:
            Group = OFFSET_FETCH.Request.OffsetFetchRequestGroup
            response = await call(broker, OFFSET_FETCH, version, OFFSET_FETCH.Request(groups=[
                Group(group_id="g", topics=None), Group(group_id="none", topics=[
                    Group.OffsetFetchRequestTopics(name="t", partition_indexes=[0])])]))
            assert [(g.group_id, [(t.name, [p.committed_offset for p in t.partitions])
                                  for t in g.topics]) for g in response.groups] == \
                [("g", [("t", [3])]), ("none", [("t", [-1])])]
            return
        assert await fetch(broker, "g", [("t", 0), ("t", 1)], version=version) == \
            {("t", 0): (3, "m"), ("t", 1): (-1, "")}
        if version >= 2:
            assert await fetch(broker, "g", None, version=version) == {("t", 0): (3, "m")}


@pytest.mark.parametrize("version", range(0, 7))
@trio_test
async def test_list_and_describe_groups(tmp_path, version):
    async with running(tmp_path) as broker:
        member = Member(broker, client_id="a", instance_id="i" if version >= 4 else None)
        await member.join_and_sync()
        response = await call(broker, LIST_GROUPS, min(version, 5), LIST_GROUPS.Request())
        assert [(g.group_id, g.protocol_type) for g in response.groups] == [("g", "consumer")]
        response = await call(broker, DESCRIBE_GROUPS, version, DESCRIBE_GROUPS.Request(
            groups=["g", "nope"], include_authorized_operations=True))
        assert [(g.group_state, len(g.members)) for g in response.groups] == [("Stable", 1), ("Dead", 0)]
        # v6 (KIP-1043) makes the unknown group an error, as Kafka 4.4 answers it.
        unknown = response.groups[1]
        assert (unknown.error_code, unknown.error_message, unknown.authorized_operations) == (
            (ErrorCode.GROUP_ID_NOT_FOUND, "Group nope not found.", -(1 << 31)) if version >= 6
            else (ErrorCode.NONE, None, 3400 if version >= 3 else -(1 << 31)))


@pytest.mark.parametrize("version", range(0, 3))
@trio_test
async def test_delete_groups(tmp_path, version):
    async with running(tmp_path) as broker:
        await commit(broker, "g", {("t", 0): 3})
        response = await call(broker, DELETE_GROUPS, version, DELETE_GROUPS.Request(
            groups_names=["g", "g"]))
        assert [(r.group_id, r.error_code) for r in response.results] == [("g", ErrorCode.NONE)]
        response = await call(broker, DELETE_GROUPS, version, DELETE_GROUPS.Request(groups_names=["g"]))
        assert response.results[0].error_code == ErrorCode.GROUP_ID_NOT_FOUND
