"""The classic group protocol: FindCoordinator, JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, and the group admin APIs ListGroups, DescribeGroups
and DeleteGroups, with every error the coordinator answers a client."""

from protocol.messages import (
    DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, LIST_GROUPS, OFFSET_COMMIT,
    OFFSET_DELETE, SYNC_GROUP,
)

from ..scenario import Ref, collect, scenario, step
from .common import assignment, create, in_state, join, member_of, sync


def heartbeat(member: str = "m1", version: int = 4, group: str = "$g", generation=None, conn: str = "main",
              member_id=None, instance_id=None, **options):
    return step(HEARTBEAT, version, {
        "group_id": group, "generation_id": generation if generation is not None else Ref(f"{member}.gen"),
        "member_id": member_id if member_id is not None else Ref(member), "group_instance_id": instance_id},
        conn=conn, **options)


def leave(*members: str, version: int = 5, group: str = "$g", conn: str = "main", **options):
    if version < 3:
        (member,) = members
        return step(LEAVE_GROUP, version, {"group_id": group, "member_id": Ref(member) if member else "nobody"},
                    conn=conn, **options)
    return step(LEAVE_GROUP, version, {"group_id": group, "members": [
        {"member_id": Ref(m) if m else "nobody", "reason": "leaving"} for m in members]}, conn=conn, **options)


def describe(version: int = 5, groups=("$g",), operations: bool = False, **options):
    return step(DESCRIBE_GROUPS, version, {"groups": list(groups), "include_authorized_operations": operations},
                **options)


def list_groups(version: int = 5, states=(), types=(), **options):
    return step(LIST_GROUPS, version, {"states_filter": list(states), "types_filter": list(types)}, **options)


def delete_groups(version: int = 2, groups=("$g",), **options):
    return step(DELETE_GROUPS, version, {"groups_names": list(groups)}, **options)


def joined(version: int, name: str = "m1", conn: str = "main", **options) -> list:
    """A member's JoinGroup at `version`, compared: from v4 it is first
    told to come back with the member id the coordinator made up."""
    first = join(version=version, conn=conn, save_as=name, **options)
    if version < 4:
        return [first]
    return [first, join(version=version, member=Ref(name), conn=conn, save_as=name, **options)]


def second_member_rebalance() -> list:
    """m1 stable alone; m2 joins on connection "b", which sends the group
    into a rebalance that waits for m1: m1's heartbeat learns of it, m1
    rejoins, and both get their answers."""
    return [create("t"), member_of(),
            join(conn="b", save_as="m2", check=False),
            join(conn="b", member=Ref("m2"), save_as="m2", defer=True),
            in_state("PreparingRebalance"),
            heartbeat(),
            join(member=Ref("m1"), save_as="m1"),
            collect("b")]


SCENARIOS = [
    *[scenario(f"findcoordinator.v{v}.group",
               step(FIND_COORDINATOR, v, {"key": "$g"} if v < 4 else {"coordinator_keys": ["$g", "$h"]}))
      for v in range(0, 7)],
    *[scenario(f"findcoordinator.v{v}.transaction",
               step(FIND_COORDINATOR, v, {"key": "$x", "key_type": 1} if v < 4 else
                    {"key_type": 1, "coordinator_keys": ["$x"]}))
      for v in (1, 3, 4, 6)],
    scenario("findcoordinator.v3.unknown-key-type", step(FIND_COORDINATOR, 3, {"key": "$g", "key_type": 5})),
    scenario("findcoordinator.v4.unknown-key-type", step(FIND_COORDINATOR, 4, {"key_type": 7,
                                                                               "coordinator_keys": ["$g"]})),
    scenario("findcoordinator.v4.no-keys", step(FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": []})),
    # One lifecycle per JoinGroup version: join, sync, heartbeat, describe, leave.
    *[scenario(f"joingroup.v{v}.lifecycle", create("t"), joined(v),
               sync("m1", assignments={"m1": assignment(t=[0])}), heartbeat(), describe(),
               leave("m1"), describe())
      for v in range(0, 8)],
    *[scenario(f"syncgroup.v{v}.leader-assigns", create("t"), joined(7),
               sync("m1", version=v, assignments={"m1": assignment(t=[0])}),
               sync("m1", version=v, assignments={}))
      for v in range(0, 6)],
    *[scenario(f"heartbeat.v{v}.stable", create("t"), member_of(), heartbeat(version=v),
               heartbeat(version=v, generation=9))
      for v in range(0, 5)],
    *[scenario(f"leavegroup.v{v}", create("t"), member_of(), leave("m1", version=v), leave("m1", version=v))
      for v in range(0, 6)],
    *[scenario(f"describegroups.v{v}", create("t"), member_of(), describe(v, groups=("$g", "$none")))
      for v in range(0, 7)],
    *[scenario(f"listgroups.v{v}", create("t"), member_of(), list_groups(v)) for v in range(0, 6)],
    *[scenario(f"deletegroups.v{v}", create("t"), member_of(), leave("m1"),
               delete_groups(v, groups=("$g", "$none")), describe())
      for v in range(0, 3)],
    # JoinGroup's errors.
    scenario("joingroup.empty-group-id", join(group="")),
    scenario("joingroup.v0.empty-group-id", join(group="", version=0)),
    scenario("joingroup.session-timeout-too-low", join(session_ms=1000)),
    scenario("joingroup.session-timeout-too-high", join(session_ms=1_800_001)),
    scenario("joingroup.negative-rebalance-timeout", step(JOIN_GROUP, 7, {
        "group_id": "$g", "session_timeout_ms": 10000, "rebalance_timeout_ms": -3, "member_id": "",
        "protocol_type": "consumer", "protocols": [{"name": "range", "metadata": b""}]})),
    scenario("joingroup.unknown-member-id", join(member="stranger")),
    scenario("joingroup.v3.unknown-member-id", join(member="stranger", version=3)),
    scenario("joingroup.empty-protocol-type", join(protocol_type="")),
    scenario("joingroup.no-protocols", join(protocols=())),
    scenario("joingroup.other-protocol-type", create("t"), member_of(),
             join(conn="b", protocol_type="connect")),
    scenario("joingroup.no-common-protocol", create("t"), member_of(),
             join(conn="b", protocols=("roundrobin",))),
    scenario("joingroup.rejoin-stable-unchanged", create("t"), member_of(),
             join(member=Ref("m1"), save_as="m1"), heartbeat()),
    scenario("joingroup.two-members-rebalance", second_member_rebalance(),
             sync("m2", conn="b", defer=True),
             sync("m1", assignments={"m1": assignment(t=[0]), "m2": assignment(t=[])}),
             collect("b"), heartbeat(), heartbeat("m2", conn="b"),
             describe()),
    scenario("heartbeat.rebalance-in-progress-then-late-sync", second_member_rebalance(),
             heartbeat(), sync("m1", generation=1, assignments={})),
    scenario("joingroup.static-member-replaced", create("t"),
             member_of(instance_id="i1"),
             join(conn="b", instance_id="i1", save_as="m2"),
             heartbeat(instance_id="i1"),
             heartbeat("m2", conn="b", instance_id="i1"),
             describe()),
    scenario("joingroup.static-member-leaves", create("t"), member_of(instance_id="i1"),
             step(LEAVE_GROUP, 5, {"group_id": "$g", "members": [{"member_id": "", "group_instance_id": "i1"},
                                                                 {"member_id": "", "group_instance_id": "i9"}]}),
             describe()),
    # SyncGroup's errors.
    scenario("syncgroup.unknown-member", create("t"), member_of(),
             step(SYNC_GROUP, 5, {
                 "group_id": "$g", "generation_id": Ref("m1.gen"), "member_id": "stranger",
                 "protocol_type": "consumer", "protocol_name": "range", "assignments": []})),
    scenario("syncgroup.illegal-generation", create("t"), member_of(), sync("m1", generation=5)),
    scenario("syncgroup.other-protocol-name", create("t"), member_of(), sync("m1", protocol_name="roundrobin")),
    scenario("syncgroup.other-protocol-type", create("t"), member_of(), sync("m1", protocol_type="connect")),
    scenario("syncgroup.v5-null-protocol", create("t"), member_of(),
             sync("m1", protocol_type=None, protocol_name=None)),
    scenario("syncgroup.unknown-group", step(SYNC_GROUP, 5, {
        "group_id": "$g", "generation_id": 1, "member_id": "stranger", "protocol_type": "consumer",
        "protocol_name": "range", "assignments": []})),
    # Heartbeat's and LeaveGroup's errors.
    scenario("heartbeat.unknown-group", heartbeat(generation=1, member_id="nobody")),
    scenario("heartbeat.empty-group-id", heartbeat(group="", generation=1, member_id="nobody")),
    scenario("heartbeat.illegal-generation", create("t"), member_of(), heartbeat(generation=7)),
    scenario("heartbeat.unknown-member", create("t"), member_of(), heartbeat(member_id="stranger")),
    scenario("heartbeat.before-sync", create("t"), join(save_as="m1"), join(member=Ref("m1"), save_as="m1"),
             heartbeat()),
    scenario("leavegroup.v2.unknown-member", create("t"), member_of(), leave("", version=2)),
    scenario("leavegroup.v5.unknown-and-known-member", create("t"), member_of(), leave("", "m1")),
    scenario("leavegroup.unknown-group", leave("", version=5), leave("", version=1)),
    scenario("joingroup.completing-rebalance", create("t"), join(save_as="m1"), join(member=Ref("m1"), save_as="m1"),
             describe(), list_groups(4, states=("CompletingRebalance",)), heartbeat(),
             step(DELETE_GROUPS, 2, {"groups_names": ["$g"]})),
    scenario("heartbeat.static-member-wrong-instance", create("t"), member_of(instance_id="i1"),
             heartbeat(instance_id="i2"), heartbeat(instance_id=None)),
    scenario("joingroup.static-member-other-instance-id", create("t"), member_of(instance_id="i1"),
             join(member=Ref("m1"), instance_id="i2")),
    scenario("leavegroup.v3.no-members", create("t"), member_of(),
             step(LEAVE_GROUP, 3, {"group_id": "$g", "members": []}), describe()),
    scenario("deletegroups.during-rebalance", second_member_rebalance(), delete_groups()),
    scenario("offsetdelete.other-protocol-type", create("t"), member_of(protocol_type="connect"),
             step(OFFSET_COMMIT, 9, {"group_id": "$g", "generation_id_or_member_epoch": Ref("m1.gen"),
                                     "member_id": Ref("m1"), "topics": [{"name": "$t", "partitions": [
                                         {"partition_index": 0, "committed_offset": 1, "committed_metadata": ""}]}]}),
             step(OFFSET_DELETE, 0, {"group_id": "$g", "topics": [{"name": "$t", "partitions": [
                 {"partition_index": 0}]}]})),
    # The admin APIs.
    scenario("listgroups.v4.states-filter", create("t"), member_of(), member_of(group="h", name="n1", conn="b"),
             leave("n1", conn="b", group="$h"),
             list_groups(4, states=("Stable",)), list_groups(4, states=("empty",)),
             list_groups(4, states=("Dead", "nonsense"))),
    scenario("listgroups.v5.types-filter", create("t"), member_of(),
             list_groups(5, types=("classic",)), list_groups(5, types=("consumer",)),
             list_groups(5, types=("Classic", "share"))),
    scenario("describegroups.empty-and-dead", create("t"), member_of(), leave("m1"),
             describe(groups=("$g", "$none", ""))),
    scenario("describegroups.v3.authorized-operations", create("t"), member_of(),
             step(DESCRIBE_GROUPS, 3, {"groups": ["$g"], "include_authorized_operations": True})),
    # v6 (KIP-1043) answers GROUP_ID_NOT_FOUND, with a message, where older
    # versions describe an unknown group as Dead.
    scenario("describegroups.v6.authorized-operations", create("t"), member_of(),
             describe(6, groups=("$g", "$none"), operations=True)),
    scenario("describegroups.v6.empty-then-deleted", create("t"), member_of(), leave("m1"),
             describe(6, groups=("$g", "")), delete_groups(), describe(6), describe(5)),
    scenario("describegroups.v6.offsets-only", create("t"),
             step(OFFSET_COMMIT, 9, {"group_id": "$g", "generation_id_or_member_epoch": -1, "member_id": "",
                                     "topics": [{"name": "$t", "partitions": [
                                         {"partition_index": 0, "committed_offset": 1, "committed_metadata": ""}]}]}),
             describe(6, operations=True)),
    scenario("describegroups.v6.completing-rebalance", create("t"), join(save_as="m1"),
             join(member=Ref("m1"), save_as="m1"), describe(6)),
    scenario("describegroups.v6.no-groups", describe(6, groups=())),
    scenario("deletegroups.non-empty-and-unknown", create("t"), member_of(),
             delete_groups(groups=("$g", "$unknown", ""))),
    scenario("deletegroups.twice", create("t"), member_of(), leave("m1"), delete_groups(), delete_groups()),
]
