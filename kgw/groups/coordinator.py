"""The group coordinator: kgw is the coordinator of every group.

It owns the registry of groups, shared by the membership protocol
(kgw.groups.membership) and the committed offsets (kgw.groups.offsets), and
the one task that runs every timer. The broker starts `run` in its nursery
and calls `close` once `run` has been cancelled.
"""

import logging
import time
from pathlib import Path
from typing import Callable

import trio

from protocol.error_codes import ErrorCode

from .api import (
    GroupDescription, GroupListing, JoinRequest, JoinResult, MemberDescription, OffsetCommit,
    SyncRequest, SyncResult,
)
from .group import DEAD, EMPTY, STABLE, CommittedOffset, Group
from .membership import Membership, MembershipSettings
from .offsets import OffsetStore
from .subscription import CONSUMER_PROTOCOL_TYPE, subscribed_topics
from .timers import TimerQueue

log = logging.getLogger("kgw.groups")

OFFSETS_DIR = "__consumer_offsets"
# Kafka's offset.metadata.max.bytes.
MAX_METADATA_SIZE = 4096
# Kafka's offsets.retention.check.interval.ms.
RETENTION_CHECK_INTERVAL_MS = 600_000
# OffsetCommit v2-4's "use the broker's retention" value.
DEFAULT_RETENTION_TIME = -1


class GroupCoordinator:
    def __init__(self, data_dir: Path, *, initial_rebalance_delay_ms: int = 0,
                 offsets_retention_minutes: int = 10080,
                 offsets_retention_check_interval_ms: int = RETENTION_CHECK_INTERVAL_MS,
                 group_max_size: int | None = None, min_session_timeout_ms: int = 6000,
                 max_session_timeout_ms: int = 1_800_000, clock: Callable[[], float] = time.time,
                 durable: bool = True):
        """`clock` gives wall-clock seconds for commit timestamps and
        retention, which outlive the process; session, rebalance and
        retention-check timers run on trio's clock.  Not `durable`,
        committed offsets are never fsynced."""
        self._clock = clock
        self._retention_ms = offsets_retention_minutes * 60_000
        self._retention_check_interval_ms = offsets_retention_check_interval_ms
        self._store = OffsetStore(Path(data_dir) / OFFSETS_DIR, self.now_ms(), durable)
        self.groups = self._store.groups
        self._timers = TimerQueue()
        self._membership = Membership(
            self.groups, self._timers,
            MembershipSettings(initial_rebalance_delay_ms, group_max_size,
                               min_session_timeout_ms, max_session_timeout_ms),
            self.now_ms, self._store.group_state_changed)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._timers.call_later(self._retention_check_interval_ms, self._expire_offsets)
        task_status.started()
        await self._timers.run()

    def close(self) -> None:
        self._store.close()

    # --- membership -------------------------------------------------------------

    async def join_group(self, request: JoinRequest) -> JoinResult:
        return await self._membership.join(request).wait()

    async def sync_group(self, request: SyncRequest) -> SyncResult:
        return await self._membership.sync(request).wait()

    def heartbeat(self, group_id: str, generation_id: int, member_id: str,
                  group_instance_id: str | None) -> ErrorCode:
        return self._membership.heartbeat(group_id, generation_id, member_id, group_instance_id)

    def leave_group(self, group_id: str,
                    members: list[tuple[str, str | None]]) -> tuple[ErrorCode, list[ErrorCode]]:
        return self._membership.leave(group_id, members)

    # --- committed offsets -------------------------------------------------------

    async def commit_offsets(self, group_id: str, generation_id: int, member_id: str,
                             group_instance_id: str | None, offsets: list[OffsetCommit],
                             retention_time_ms: int = DEFAULT_RETENTION_TIME) -> list[ErrorCode]:
        """One error per entry of `offsets`, in order."""
        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                # A member of a group kgw no longer knows, e.g. after a
                # restart (OffsetCommit before v9 says ILLEGAL_GENERATION).
                return [ErrorCode.GROUP_ID_NOT_FOUND] * len(offsets)
            group = self.groups[group_id] = Group(group_id, self.now_ms())
        error = self._membership.validate_commit(group, generation_id, member_id, group_instance_id)
        if error is not None:
            return [error] * len(offsets)
        now = self.now_ms()
        expire = None if retention_time_ms == DEFAULT_RETENTION_TIME else now + retention_time_ms
        errors, accepted = _accepted(offsets, now, expire)
        if accepted:
            try:
                await self._store.commit(group, accepted)
            except OSError as exc:
                log.error("group %s: commit failed: %s", group_id, exc)
                # Kafka answers a failed append to its offsets log so, and
                # clients retry after looking up the coordinator again.
                return [ErrorCode.NOT_COORDINATOR if e == ErrorCode.NONE else e for e in errors]
        return errors

    async def commit_transactional_offsets(
            self, group_id: str, producer_id: int, generation_id: int, member_id: str,
            group_instance_id: str | None, offsets: list[OffsetCommit]) -> list[ErrorCode]:
        """TxnOffsetCommit: offsets held for the producer's transaction, one
        error per entry. A producer that sends no member (v0-2) is not
        checked against the group's generation, as in Kafka."""
        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                # Kafka's validateTransactionalOffsetCommit: a generation of
                # a group it does not know.
                return [ErrorCode.ILLEGAL_GENERATION] * len(offsets)
            group = self.groups[group_id] = Group(group_id, self.now_ms())
        if generation_id >= 0 or member_id or group_instance_id is not None:
            error = self._membership.validate_commit(group, generation_id, member_id,
                                                     group_instance_id)
            if error is not None:
                return [error] * len(offsets)
        errors, accepted = _accepted(offsets, self.now_ms())
        if accepted:
            try:
                await self._store.commit_transactional(group, producer_id, accepted)
            except OSError as exc:
                log.error("group %s: transactional commit failed: %s", group_id, exc)
                return [ErrorCode.NOT_COORDINATOR if e == ErrorCode.NONE else e for e in errors]
        return errors

    async def end_transaction(self, group_id: str, producer_id: int, commit: bool) -> None:
        """Commit or drop what TxnOffsetCommit held for the transaction.
        Raises OSError when the journal cannot be written."""
        group = self.groups.get(group_id)
        if group is not None and producer_id in group.pending_txn:
            await self._store.end_transaction(group, producer_id, commit)

    def is_unstable(self, group_id: str, topic: str, partition: int) -> bool:
        """Whether OffsetFetch with require_stable must answer UNSTABLE_OFFSET_COMMIT."""
        group = self.groups.get(group_id)
        return group is not None and group.is_unstable((topic, partition))

    def fetch_offsets(self, group_id: str, partitions: list[tuple[str, int]] | None
                      ) -> list[tuple[str, int, CommittedOffset | None]]:
        """The committed offset of each partition (None if never committed),
        or with `partitions` None every committed partition of the group. An
        unknown group has no committed offsets: Kafka does not call it an error."""
        group = self.groups.get(group_id)
        offsets = group.offsets if group is not None else {}
        if partitions is None:
            return [(topic, partition, offsets[topic, partition])
                    for topic, partition in sorted(offsets)]
        return [(topic, partition, offsets.get((topic, partition))) for topic, partition in partitions]

    async def delete_offsets(self, group_id: str, partitions: list[tuple[str, int]]
                             ) -> tuple[ErrorCode, dict[tuple[str, int], ErrorCode]]:
        """OffsetDelete: the group's error, else an error per partition. A
        consumer group with members keeps the offsets of topics it subscribes
        to; an empty group loses any, as in Kafka."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, {}
        group = self.groups.get(group_id)
        if group is None or group.state == DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND, {}
        if group.state != EMPTY and group.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return ErrorCode.NON_EMPTY_GROUP, {}
        subscribed = subscribed_topics(group) or set()
        errors = {key: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC if key[0] in subscribed else ErrorCode.NONE
                  for key in partitions}
        doomed = [key for key, error in errors.items() if error == ErrorCode.NONE and key in group.offsets]
        if doomed:
            try:
                await self._store.delete_offsets(group, doomed)
            except OSError as exc:
                log.error("group %s: deleting offsets failed: %s", group_id, exc)
                return ErrorCode.NOT_COORDINATOR, {}
        return ErrorCode.NONE, errors

    def forget_topic(self, topic: str) -> None:
        self._store.forget_topic(topic)

    def _expire_offsets(self) -> None:
        self._store.expire_offsets(self.now_ms(), self._retention_ms)
        for group_id, group in list(self.groups.items()):
            # Kafka drops an empty group once it has no offsets left; one
            # with a commit on its way to disk or in an open transaction, or
            # a member id just handed out, is kept until the next check.
            if (group.state == EMPTY and not group.offsets and not group.uncommitted
                    and not group.pending_txn and not group.pending_members):
                del self.groups[group_id]
        self._timers.call_later(self._retention_check_interval_ms, self._expire_offsets)

    # --- administration -------------------------------------------------------------

    def list_groups(self) -> list[GroupListing]:
        return [GroupListing(g.group_id, g.protocol_type or "", g.state)
                for g in self.groups.values()]

    def describe_group(self, group_id: str) -> GroupDescription:
        group = self.groups.get(group_id)
        if group is None:
            # Kafka describes an unknown group as a Dead one, without error
            # (before DescribeGroups v6).
            return GroupDescription(group_id, DEAD, "", "")
        stable = group.state == STABLE
        # Metadata and assignments are only shown once they are settled.
        members = [MemberDescription(
            m.member_id, m.group_instance_id, m.client_id, m.client_host,
            m.metadata(group.protocol_name) if stable else b"", m.assignment if stable else b"")
            for m in group.members.values()]
        return GroupDescription(group_id, group.state, group.protocol_type or "",
                                (group.protocol_name or "") if stable else "", members)

    async def delete_groups(self, group_ids: list[str]) -> dict[str, ErrorCode]:
        """An error per distinct group id, in the order asked."""
        results: dict[str, ErrorCode] = {}
        doomed: list[Group] = []
        for group_id in dict.fromkeys(group_ids):
            group = self.groups.get(group_id)
            if group is None:
                results[group_id] = ErrorCode.GROUP_ID_NOT_FOUND
            elif group.state != EMPTY:
                results[group_id] = ErrorCode.NON_EMPTY_GROUP
            else:
                # What Kafka answers when its offsets log cannot be written;
                # NONE once the deletion is durable.
                results[group_id] = ErrorCode.NOT_COORDINATOR
                doomed.append(group)
        if not doomed:
            return results
        try:
            position = self._store.delete(doomed)
        except OSError as exc:
            log.error("deleting groups failed: %s", exc)
            return results
        for group in doomed:
            del self.groups[group.group_id]
            group.state = DEAD
            for pending in group.pending_members.values():
                pending.cancel()
        try:
            await self._store.until_durable(position)
        except OSError as exc:
            log.error("deleting groups failed: %s", exc)
            return results
        results.update((group.group_id, ErrorCode.NONE) for group in doomed)
        return results


def _accepted(offsets: list[OffsetCommit], now_ms: int, expire_ms: int | None = None
              ) -> tuple[list[ErrorCode], list[tuple[str, int, CommittedOffset]]]:
    """An error per entry, and the entries to commit: all but those whose
    metadata is too large."""
    errors, accepted = [], []
    for entry in offsets:
        if len(entry.metadata) > MAX_METADATA_SIZE:
            errors.append(ErrorCode.OFFSET_METADATA_TOO_LARGE)
            continue
        errors.append(ErrorCode.NONE)
        accepted.append((entry.topic, entry.partition, CommittedOffset(
            entry.offset, entry.leader_epoch, entry.metadata, now_ms, expire_ms)))
    return errors, accepted
