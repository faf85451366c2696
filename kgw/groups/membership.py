"""The classic group membership protocol: JoinGroup, SyncGroup, Heartbeat,
LeaveGroup and the timers that bound them.

The state machine is Apache Kafka's (GroupCoordinator.scala, before the
KIP-848 rewrite kept it as "classic"):

    Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
    CompletingRebalance --leader's SyncGroup--> Stable --join/leave/expiry-->
    PreparingRebalance ...

Every method here runs to completion without awaiting; a request that has to
wait (JoinGroup until the rebalance completes, SyncGroup until the leader's
assignment) gets a `Reply` that a later state change sets. Timer callbacks
run in the coordinator's timer task and follow the same rule.
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Callable

from protocol.error_codes import ErrorCode

from .api import JoinRequest, JoinResult, Reply, SyncRequest, SyncResult
from .group import (
    COMPLETING_REBALANCE, EMPTY, PREPARING_REBALANCE, STABLE, Group, Member,
)
from .timers import TimerQueue

log = logging.getLogger("kgw.groups")

# Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member cannot
# heartbeat before it has a generation, and a client that disconnected while
# its JoinGroup waited must not hold the group's rebalance forever.
NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class MembershipSettings:
    initial_rebalance_delay_ms: int
    group_max_size: int | None
    min_session_timeout_ms: int
    max_session_timeout_ms: int


class Membership:
    def __init__(self, groups: dict[str, Group], timers: TimerQueue,
                 settings: MembershipSettings, now_ms: Callable[[], int],
                 emptiness_changed: Callable[[Group], None]):
        self._groups = groups
        self._timers = timers
        self._settings = settings
        self._now_ms = now_ms
        # Told when a group becomes empty or stops being empty: the offsets'
        # retention counts from the first and must survive a restart.
        self._emptiness_changed = emptiness_changed

    # --- JoinGroup -------------------------------------------------------------

    def join(self, request: JoinRequest) -> Reply:
        settings = self._settings
        if not request.group_id:
            return Reply(JoinResult(ErrorCode.INVALID_GROUP_ID, request.member_id))
        if not (settings.min_session_timeout_ms <= request.session_timeout_ms
                <= settings.max_session_timeout_ms):
            return Reply(JoinResult(ErrorCode.INVALID_SESSION_TIMEOUT, request.member_id))
        unknown = request.member_id == ""
        group = self._groups.get(request.group_id)
        if group is None:
            # Only a member without an id may create a group.
            if not unknown:
                return Reply(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, request.member_id))
            group = self._groups[request.group_id] = Group(request.group_id, self._now_ms())
        reply = Reply()
        if not self._accepts(group, request.member_id):
            self._refuse_over_capacity(group, request.member_id)
            reply.set(JoinResult(ErrorCode.GROUP_MAX_SIZE_REACHED))
        elif unknown:
            self._join_new_member(group, request, reply)
        else:
            self._join_known_member(group, request, reply)
        self._maybe_complete_join(group)
        return reply

    def _accepts(self, group: Group, member_id: str) -> bool:
        """Kafka's acceptJoiningMember, for group.max.size; and, unlike Kafka,
        the member ids handed out and not yet used count as members, so that
        a flood of JoinGroups cannot grow a group without bound."""
        limit = self._settings.group_max_size
        if limit is None:
            return True
        if member_id == "" and len(group.members) + len(group.pending_members) >= limit:
            return False
        if group.state == EMPTY:
            return True
        member = group.members.get(member_id)
        if group.state == PREPARING_REBALANCE:
            # Counting members that rejoined lets a shrunk limit push out
            # the last members to come back.
            return (member is not None and member.join_reply is not None) or \
                group.awaiting_join() < limit
        return member is not None or len(group.members) < limit

    def _refuse_over_capacity(self, group: Group, member_id: str) -> None:
        pending = group.pending_members.pop(member_id, None)
        if pending is not None:
            pending.cancel()
        member = group.members.get(member_id)
        if member is not None:
            self._remove_member(group, member)

    def _join_new_member(self, group: Group, request: JoinRequest, reply: Reply) -> None:
        names = [name for name, _ in request.protocols]
        if not group.supports(request.protocol_type, names):
            reply.set(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
            return
        instance_id = request.group_instance_id
        # Kafka names members after their instance id, else their client id.
        prefix = instance_id if instance_id is not None else request.client_id
        new_member_id = f"{prefix}-{uuid.uuid4()}"
        if instance_id is not None:
            if instance_id in group.static_members:
                self._rejoin_static_member(group, instance_id, new_member_id, request, reply)
            else:
                self._add_member(group, new_member_id, request, reply)
        elif request.require_known_member_id:
            group.pending_members[new_member_id] = self._timers.call_later(
                request.session_timeout_ms, lambda: self._expire_pending_member(group, new_member_id))
            reply.set(JoinResult(ErrorCode.MEMBER_ID_REQUIRED, new_member_id))
        else:
            self._add_member(group, new_member_id, request, reply)

    def _join_known_member(self, group: Group, request: JoinRequest, reply: Reply) -> None:
        member_id = request.member_id
        if not group.supports(request.protocol_type, [name for name, _ in request.protocols]):
            reply.set(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id))
            return
        if member_id in group.pending_members and request.group_instance_id is None:
            group.pending_members.pop(member_id).cancel()
            self._add_member(group, member_id, request, reply)
            return
        error = self.validate_member(group, member_id, request.group_instance_id)
        if error is not None:
            reply.set(JoinResult(error, member_id))
            return
        member = group.members[member_id]
        unchanged = member.protocols == request.protocols
        if group.state == COMPLETING_REBALANCE and unchanged:
            # The member most likely missed its JoinGroup response: resend it.
            reply.set(self._generation_result(group, member_id, member_id == group.leader_id))
        elif group.state == STABLE and unchanged and member_id != group.leader_id:
            reply.set(self._generation_result(group, member_id, False))
        else:
            # A leader's rejoin always rebalances: that is how a consumer
            # leader reacts to metadata changes its members cannot see.
            self._update_member(member, request, reply)
            self._maybe_prepare_rebalance(group)

    def _generation_result(self, group: Group, member_id: str, with_members: bool) -> JoinResult:
        return JoinResult(ErrorCode.NONE, member_id, group.generation_id, group.protocol_type,
                          group.protocol_name, group.leader_id or "",
                          group.member_metadata() if with_members else ())

    def _add_member(self, group: Group, member_id: str, request: JoinRequest, reply: Reply) -> None:
        member = Member(member_id, request.group_instance_id, request.client_id, request.client_host,
                        request.session_timeout_ms, request.rebalance_timeout_ms,
                        request.protocol_type, list(request.protocols), is_new=True)
        if group.state == PREPARING_REBALANCE and group.generation_id == 0:
            group.new_member_added = True
        group.add(member)
        self._await_join(member, reply)
        self._schedule_session(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
        self._maybe_prepare_rebalance(group)

    def _update_member(self, member: Member, request: JoinRequest, reply: Reply) -> None:
        member.protocols = list(request.protocols)
        member.session_timeout_ms = request.session_timeout_ms
        member.rebalance_timeout_ms = request.rebalance_timeout_ms
        self._await_join(member, reply)

    @staticmethod
    def _await_join(member: Member, reply: Reply) -> None:
        if member.join_reply is not None:
            # A JoinGroup retried on a new connection supersedes the old one,
            # whose handler would otherwise wait on a dead socket forever.
            member.join_reply.set(JoinResult(ErrorCode.REBALANCE_IN_PROGRESS, member.member_id))
        member.join_reply = reply

    def _rejoin_static_member(self, group: Group, instance_id: str, new_member_id: str,
                              request: JoinRequest, reply: Reply) -> None:
        """A static member restarted (KIP-345): it takes over its old
        identity, fencing any request still waiting under the old id."""
        leader_before = group.leader_id
        old_member = group.members[group.static_members[instance_id]]
        if old_member.join_reply is not None:
            old_member.join_reply.set(JoinResult(ErrorCode.FENCED_INSTANCE_ID, old_member.member_id))
        if old_member.sync_reply is not None:
            old_member.sync_reply.set(SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        old_member.join_reply = old_member.sync_reply = None
        member = group.replace_static(instance_id, new_member_id)
        self._update_member(member, request, reply)
        self._schedule_session(group, member, member.session_timeout_ms)
        if group.state == STABLE:
            if group.protocol_name == group.select_protocol():
                # No rebalance. The old leader id is returned so that a
                # returning leader does not compute an assignment a stable
                # group would never hand out (Kafka, JoinGroup before v9).
                member.join_reply = None
                reply.set(JoinResult(ErrorCode.NONE, new_member_id, group.generation_id,
                                     group.protocol_type, group.protocol_name, leader_before or ""))
            else:
                self._maybe_prepare_rebalance(group)
        elif group.state == COMPLETING_REBALANCE:
            # The leader may already be assigning to the old member id.
            self._prepare_rebalance(group)

    # --- rebalancing -------------------------------------------------------------

    def _maybe_prepare_rebalance(self, group: Group) -> None:
        if group.state in (STABLE, COMPLETING_REBALANCE, EMPTY):
            self._prepare_rebalance(group)

    def _prepare_rebalance(self, group: Group) -> None:
        if group.state == COMPLETING_REBALANCE:
            self._propagate_assignment(group, ErrorCode.REBALANCE_IN_PROGRESS)
        self._clear_pending_sync(group)
        was_empty = group.state == EMPTY
        log.info("group %s: rebalancing (generation %d, %d member(s))", group.group_id,
                 group.generation_id, len(group.members))
        self._transition(group, PREPARING_REBALANCE)
        if group.join_timer is not None:
            group.join_timer.cancel()
        if was_empty:
            self._emptiness_changed(group)
            delay = self._settings.initial_rebalance_delay_ms
            self._schedule_initial_join(group, delay, max(group.rebalance_timeout_ms() - delay, 0))
        else:
            self._schedule_join(group)
            self._maybe_complete_join(group)

    def _schedule_join(self, group: Group) -> None:
        group.initial_join = False
        group.join_timer = self._timers.call_later(
            group.rebalance_timeout_ms(), lambda: self._complete_join(group))

    def _schedule_initial_join(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        """KIP-134: a new group waits `group.initial.rebalance.delay.ms`, and
        again while members keep arriving, up to its rebalance timeout, so
        that a fleet starting together does not rebalance once per member."""
        group.initial_join = True
        group.join_timer = self._timers.call_later(
            delay_ms, lambda: self._initial_join_expired(group, delay_ms, remaining_ms))

    def _initial_join_expired(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        if group.new_member_added and remaining_ms > 0:
            group.new_member_added = False
            next_delay_ms = min(self._settings.initial_rebalance_delay_ms, remaining_ms)
            self._schedule_initial_join(group, next_delay_ms, max(remaining_ms - delay_ms, 0))
        else:
            self._complete_join(group)

    def _maybe_complete_join(self, group: Group) -> None:
        if group.state == PREPARING_REBALANCE and not group.initial_join and group.all_joined():
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.join_timer is not None:
            group.join_timer.cancel()
            group.join_timer = None
        # Dynamic members that did not rejoin in time are out; static ones
        # stay until their session expires (KIP-345).
        for member in [m for m in group.members.values()
                       if m.join_reply is None and m.group_instance_id is None]:
            self._drop(group, member)
        if not group.elect_joined_leader() and group.members:
            # Only static members that did not rejoin are left: wait again.
            self._schedule_join(group)
            return
        group.generation_id += 1
        if not group.members:
            group.protocol_name = None
            self._transition(group, EMPTY)
            self._emptiness_changed(group)
            log.info("group %s: empty at generation %d", group.group_id, group.generation_id)
            return
        group.protocol_name = group.select_protocol()
        self._transition(group, COMPLETING_REBALANCE)
        log.info("group %s: generation %d with %d member(s), protocol %s, leader %s",
                 group.group_id, group.generation_id, len(group.members), group.protocol_name,
                 group.leader_id)
        everyone = group.member_metadata()
        for member in group.members.values():
            reply, member.join_reply = member.join_reply, None
            if reply is not None:
                reply.set(JoinResult(
                    ErrorCode.NONE, member.member_id, group.generation_id, group.protocol_type,
                    group.protocol_name, group.leader_id or "",
                    everyone if member.member_id == group.leader_id else ()))
            member.is_new = False
            self._schedule_session(group, member, member.session_timeout_ms)
            group.pending_sync.add(member.member_id)
        generation = group.generation_id
        group.sync_timer = self._timers.call_later(
            group.rebalance_timeout_ms(), lambda: self._expire_pending_sync(group, generation))

    def _expire_pending_sync(self, group: Group, generation: int) -> None:
        """Members given a generation must send SyncGroup within the
        rebalance timeout, or they are removed and the group rebalances."""
        if generation != group.generation_id or group.state not in (COMPLETING_REBALANCE, STABLE):
            return
        if group.pending_sync:
            for member_id in list(group.pending_sync):
                self._drop(group, group.members[member_id])
            self._prepare_rebalance(group)

    def _clear_pending_sync(self, group: Group) -> None:
        group.pending_sync.clear()
        if group.sync_timer is not None:
            group.sync_timer.cancel()
            group.sync_timer = None

    def _synced(self, group: Group, member_id: str) -> None:
        group.pending_sync.discard(member_id)
        if not group.pending_sync:
            self._clear_pending_sync(group)

    def _transition(self, group: Group, state: str) -> None:
        group.state = state
        group.state_since_ms = self._now_ms()

    # --- SyncGroup -------------------------------------------------------------

    def sync(self, request: SyncRequest) -> Reply:
        if not request.group_id:
            return Reply(SyncResult(ErrorCode.INVALID_GROUP_ID))
        group = self._groups.get(request.group_id)
        if group is None:
            return Reply(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        error = self.validate_member(group, request.member_id, request.group_instance_id)
        if error is None and request.generation_id != group.generation_id:
            error = ErrorCode.ILLEGAL_GENERATION
        if error is None and not (request.protocol_type in (None, group.protocol_type)
                                  and request.protocol_name in (None, group.protocol_name)):
            error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if error is None and group.state == PREPARING_REBALANCE:
            error = ErrorCode.REBALANCE_IN_PROGRESS
        if error is not None:
            return Reply(SyncResult(error))
        member = group.members[request.member_id]
        self._synced(group, member.member_id)
        if group.state == STABLE:
            self._schedule_session(group, member, member.session_timeout_ms)
            return Reply(self._assignment_result(group, member))
        reply = Reply()
        if member.sync_reply is not None:
            member.sync_reply.set(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        member.sync_reply = reply
        if member.member_id == group.leader_id:
            assignments = dict(request.assignments)
            for each in group.members.values():
                each.assignment = assignments.get(each.member_id, b"")
            self._transition(group, STABLE)
            self._propagate_assignment(group, ErrorCode.NONE)
        return reply

    @staticmethod
    def _assignment_result(group: Group, member: Member) -> SyncResult:
        return SyncResult(ErrorCode.NONE, group.protocol_type, group.protocol_name, member.assignment)

    def _propagate_assignment(self, group: Group, error: ErrorCode) -> None:
        for member in group.members.values():
            if error != ErrorCode.NONE:
                member.assignment = b""
            reply, member.sync_reply = member.sync_reply, None
            if reply is not None:
                reply.set(self._assignment_result(group, member) if error == ErrorCode.NONE
                          else SyncResult(error))
                # Its session may have run out while it waited for the leader.
                self._schedule_session(group, member, member.session_timeout_ms)

    # --- Heartbeat, LeaveGroup, and the checks OffsetCommit shares -------------

    def heartbeat(self, group_id: str, generation_id: int, member_id: str,
                  group_instance_id: str | None) -> ErrorCode:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        error = self.validate_member(group, member_id, group_instance_id)
        if error is not None:
            return error
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        member = group.members[member_id]
        self._schedule_session(group, member, member.session_timeout_ms)
        if group.state == PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def leave(self, group_id: str,
              leaving: list[tuple[str, str | None]]) -> tuple[ErrorCode, list[ErrorCode]]:
        """(group error, one error per (member id, group instance id))."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID] * len(leaving)
        return ErrorCode.NONE, [self._leave_one(group, member_id, instance_id)
                                for member_id, instance_id in leaving]

    def _leave_one(self, group: Group, member_id: str, instance_id: str | None) -> ErrorCode:
        if member_id == "":
            # KIP-345: an admin removes a static member by instance id alone.
            current = group.static_members.get(instance_id) if instance_id is not None else None
            if current is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            self._remove_member(group, group.members[current])
            return ErrorCode.NONE
        if member_id in group.pending_members:
            group.pending_members.pop(member_id).cancel()
            self._maybe_complete_join(group)
            return ErrorCode.NONE
        error = self.validate_member(group, member_id, instance_id)
        if error is None:
            self._remove_member(group, group.members[member_id])
            return ErrorCode.NONE
        return error

    @staticmethod
    def validate_member(group: Group, member_id: str, instance_id: str | None) -> ErrorCode | None:
        if instance_id is not None:
            current = group.static_members.get(instance_id)
            if current is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if current != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return None

    def validate_commit(self, group: Group, generation_id: int, member_id: str,
                        instance_id: str | None) -> ErrorCode | None:
        """Kafka's validateOffsetCommit. Generation -1 with no member id is
        an admin or an assign() consumer, allowed while the group is empty."""
        if generation_id < 0 and group.state == EMPTY:
            return None
        if generation_id >= 0 or member_id or instance_id is not None:
            error = self.validate_member(group, member_id, instance_id)
            if error is None and generation_id != group.generation_id:
                error = ErrorCode.ILLEGAL_GENERATION
            if error is not None:
                return error
        elif group.state != EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.state == COMPLETING_REBALANCE:
            # Its JoinGroup succeeded but the assignment is not out yet.
            return ErrorCode.REBALANCE_IN_PROGRESS
        member = group.members[member_id]
        # A commit proves the member alive, as a heartbeat does.
        self._schedule_session(group, member, member.session_timeout_ms)
        return None

    # --- expiry -------------------------------------------------------------

    def _schedule_session(self, group: Group, member: Member, timeout_ms: int) -> None:
        if member.heartbeat is not None and member.heartbeat.active:
            self._timers.reschedule(member.heartbeat, timeout_ms)
        else:
            member.heartbeat = self._timers.call_later(
                timeout_ms, lambda: self._expire_session(group, member))

    def _expire_session(self, group: Group, member: Member) -> None:
        if group.members.get(member.member_id) is not member:
            return
        # A member waiting for its JoinGroup or SyncGroup cannot heartbeat;
        # the rebalance and sync timeouts bound those waits instead.
        if member.is_new or (member.join_reply is None and member.sync_reply is None):
            log.info("group %s: member %s timed out", group.group_id, member.member_id)
            self._remove_member(group, member)

    def _expire_pending_member(self, group: Group, member_id: str) -> None:
        if group.pending_members.pop(member_id, None) is not None:
            self._maybe_complete_join(group)

    def _remove_member(self, group: Group, member: Member) -> None:
        """A member leaves or times out: Kafka's removeMemberAndUpdateGroup."""
        if member.join_reply is not None:
            member.join_reply.set(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID))
        if member.sync_reply is not None:
            member.sync_reply.set(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        member.join_reply = member.sync_reply = None
        self._drop(group, member)
        if group.state in (STABLE, COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group)
        else:
            self._maybe_complete_join(group)

    @staticmethod
    def _drop(group: Group, member: Member) -> None:
        group.remove(member.member_id)
        if member.heartbeat is not None:
            member.heartbeat.cancel()
            member.heartbeat = None
