"""The classic group protocol: FindCoordinator, JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, and the group admin APIs."""

from protocol.messages import (
    DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, LEAVE_GROUP, LIST_GROUPS,
)

from ..scenario import Ref, scenario, step
from .common import assignment, create, join, member_of, sync

SCENARIOS = [
    *[scenario(f"findcoordinator.v{v}.group",
               step(FIND_COORDINATOR, v, {"key": "$g"} if v < 4 else {"coordinator_keys": ["$g", "$h"]}))
      for v in range(0, 7)],
    scenario("joingroup.v7.member-id-required-then-stable",
             create("t"),
             join(save_as="m1"),
             join(member=Ref("m1"), save_as="m1"),
             sync("m1", assignments={"m1": assignment(t=[0])}),
             step(HEARTBEAT, 4, {"group_id": "$g", "generation_id": Ref("m1.gen"), "member_id": Ref("m1")}),
             step(DESCRIBE_GROUPS, 5, {"groups": ["$g"], "include_authorized_operations": False}),
             step(LEAVE_GROUP, 5, {"group_id": "$g", "members": [{"member_id": Ref("m1"), "reason": "done"}]}),
             step(DESCRIBE_GROUPS, 5, {"groups": ["$g"]})),
    scenario("heartbeat.unknown-group",
             step(HEARTBEAT, 4, {"group_id": "$g", "generation_id": 1, "member_id": "nobody"})),
    scenario("heartbeat.illegal-generation", create("t"), member_of(),
             step(HEARTBEAT, 4, {"group_id": "$g", "generation_id": 7, "member_id": Ref("m1")})),
    scenario("joingroup.invalid-session-timeout", join(session_ms=1000)),
    scenario("listgroups.v5", create("t"), member_of(),
             step(LIST_GROUPS, 5, {"states_filter": [], "types_filter": []})),
    scenario("deletegroups.non-empty-and-unknown", create("t"), member_of(),
             step(DELETE_GROUPS, 2, {"groups_names": ["$g", "$unknown"]})),
    scenario("heartbeat.unknown-member", create("t"), member_of(),
             step(HEARTBEAT, 4, {"group_id": "$g", "generation_id": Ref("m1.gen"), "member_id": "stranger"})),
]
