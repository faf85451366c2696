"""Committed offsets: their durable journal, their replay, their expiry.

The journal (kgw.journal) holds the records of `records`.

A commit is applied to the in-memory offsets only once fsync has made it
durable, and commits are applied in journal order, so what OffsetFetch
returns is always what a restart would replay: nothing acknowledged is ever
lost and nothing unacknowledged is ever seen (Kafka likewise hides a commit
until its append to __consumer_offsets completes).

Group membership is not journalled: after a restart every group is Empty,
and its members, answered UNKNOWN_MEMBER_ID, rejoin. Kafka reloads members
from its log instead; clients cannot tell except by that one rejoin.
"""

import logging
from collections import Counter, deque
from pathlib import Path
from typing import Callable

import trio

from ..journal import Journal
from . import records as rec
from .group import EMPTY, STABLE, CommittedOffset, Group
from .subscription import subscribed_topics

log = logging.getLogger("kgw.groups")

JOURNAL_FILE = "commits.log"
# Start-up rewrites the journal once it is this big and mostly dead records.
COMPACT_MIN_BYTES = 1 << 20


class OffsetStore:
    def __init__(self, directory: Path, now_ms: int, durable: bool = True):
        directory.mkdir(parents=True, exist_ok=True)
        self._journal, records = Journal.open(directory / JOURNAL_FILE, rec.JOURNAL, durable=durable)
        # The group registry the whole coordinator shares; after a restart it
        # holds the groups that have committed offsets.
        self.groups: dict[str, Group] = _replay(records, now_ms)
        self._compact_if_grown()
        # (journal position, what to apply once that position is durable)
        self._undurable: deque[tuple[int, Callable[[], None] | None]] = deque()

    def close(self) -> None:
        self._journal.close()

    async def commit(self, group: Group, offsets: list[tuple[str, int, CommittedOffset]]) -> None:
        """Durably commit; raises OSError when the journal cannot be written."""
        position = self._journal.append(rec.offset_commit(group.group_id, offsets))
        keys = Counter((topic, partition) for topic, partition, _ in offsets)
        group.uncommitted += keys

        def apply():
            group.uncommitted -= keys
            for topic, partition, committed in offsets:
                group.offsets[topic, partition] = committed

        await self.until_durable(position, apply)

    async def commit_transactional(self, group: Group, producer_id: int,
                                   offsets: list[tuple[str, int, CommittedOffset]]) -> None:
        """Durably hold offsets for the transaction of `producer_id`; they
        count only once `end_transaction` commits it."""
        position = self._journal.append(rec.offset_commit(group.group_id, offsets, producer_id))

        def apply():
            pending = group.pending_txn.setdefault(producer_id, {})
            for topic, partition, committed in offsets:
                pending[topic, partition] = committed

        await self.until_durable(position, apply)

    async def end_transaction(self, group: Group, producer_id: int, commit: bool) -> None:
        """The offsets pending for `producer_id`'s transaction become the
        committed ones, or are dropped."""
        position = self._journal.append(rec.TXN_OFFSETS_ENDED.cls(
            group_id=group.group_id, producer_id=producer_id, committed=commit))
        await self.until_durable(position, lambda: _end_transaction(group, producer_id, commit))

    def delete(self, groups: list[Group]) -> int:
        """Journal the deletion; `until_durable` the returned position
        before acknowledging it. Raises OSError if it cannot be written."""
        return self._journal.append(rec.groups_deleted([g.group_id for g in groups]))

    async def delete_offsets(self, group: Group, keys: list[tuple[str, int]]) -> None:
        """Durably forget these committed offsets (OffsetDelete); raises
        OSError when the journal cannot be written."""
        position = self._journal.append(rec.offsets_removed(group.group_id, keys))

        def apply():
            for key in keys:
                group.offsets.pop(key, None)

        await self.until_durable(position, apply)

    async def until_durable(self, position: int, apply: Callable[[], None] | None = None) -> None:
        self._undurable.append((position, apply))
        try:
            # Shielded: once written, a record must be applied even if the
            # client that sent it hangs up, or memory and journal would differ.
            with trio.CancelScope(shield=True):
                await self._journal.sync(position)
        except OSError:
            # The journal refuses everything from now on; what was waiting
            # is answered with errors and never applied.
            self._undurable.clear()
            raise
        synced = self._journal.synced
        while self._undurable and self._undurable[0][0] <= synced:
            _, each = self._undurable.popleft()
            if each is not None:
                each()

    def group_state_changed(self, group: Group) -> None:
        """Journal when the group became empty, for its offsets' retention.
        Not waited for: losing it to a crash only makes retention count from
        the restart."""
        self._append_quietly(rec.group_state(
            group.group_id, group.protocol_type,
            group.state_since_ms if group.state == EMPTY else None))

    def expire_offsets(self, now_ms: int, retention_ms: int) -> None:
        """Kafka 2.1+ retention (KIP-211): offsets of an empty group expire
        `offsets.retention.minutes` after it became empty; those of a group
        used only for storing offsets, that long after their own commit."""
        for group in self.groups.values():
            subscribed = subscribed_topics(group) if group.state == STABLE else None
            expired = [key for key, committed in group.offsets.items()
                       if key not in group.uncommitted
                       and _expired(group, key[0], subscribed, committed, now_ms, retention_ms)]
            if expired and self._append_quietly(rec.offsets_removed(group.group_id, expired)):
                log.info("group %s: %d committed offset(s) expired", group.group_id, len(expired))
                for key in expired:
                    del group.offsets[key]

    def forget_topic(self, topic: str) -> None:
        """A deleted topic takes its committed offsets with it, as in Kafka."""
        for group in self.groups.values():
            gone = [key for key in group.offsets if key[0] == topic]
            if gone and self._append_quietly(rec.offsets_removed(group.group_id, gone)):
                for key in gone:
                    del group.offsets[key]

    def _append_quietly(self, record) -> bool:
        try:
            self._journal.append(record)
            return True
        except OSError as exc:
            log.error("cannot write to %s: %s", self._journal.path, exc)
            return False

    def _compact_if_grown(self) -> None:
        snapshot = _snapshot(self.groups)
        live = sum(len(self._journal.kinds.encode_frame(record)) for record in snapshot)
        if self._journal.size > max(COMPACT_MIN_BYTES, 2 * live):
            log.info("compacting %s: %d bytes, %d of them live", self._journal.path,
                     self._journal.size, live)
            self._journal.rewrite(snapshot)


def _expired(group: Group, topic: str, subscribed: set[str] | None, committed: CommittedOffset,
             now_ms: int, retention_ms: int) -> bool:
    if group.protocol_type is None:
        since = committed.commit_timestamp_ms
    elif group.state == EMPTY:
        since = group.state_since_ms
    elif subscribed is not None and topic not in subscribed:
        # A stable consumer group's offsets of a topic it no longer reads
        # (KIP-496); `subscribed` is known only for such a group.
        since = committed.commit_timestamp_ms
    else:
        return False
    if committed.expire_timestamp_ms is not None:
        return now_ms >= committed.expire_timestamp_ms
    return now_ms - since >= retention_ms


def _replay(records: list, now_ms: int) -> dict[str, Group]:
    groups: dict[str, Group] = {}

    def group(group_id: str) -> Group:
        found = groups.get(group_id)
        if found is None:
            found = groups[group_id] = Group(group_id, now_ms)
        return found

    for record in records:
        if isinstance(record, rec.OFFSET_COMMIT.cls):
            found = group(record.group_id)
            offsets = (found.offsets if record.producer_id == rec.NO_PRODUCER
                       else found.pending_txn.setdefault(record.producer_id, {}))
            for topic, partition, committed in rec.committed_offsets(record):
                offsets[topic, partition] = committed
        elif isinstance(record, rec.GROUPS_DELETED.cls):
            for deleted in record.group_ids:
                groups.pop(deleted.group_id, None)
        elif isinstance(record, rec.OFFSETS_REMOVED.cls):
            offsets = groups[record.group_id].offsets if record.group_id in groups else {}
            for p in record.partitions:
                offsets.pop((p.topic, p.partition), None)
        elif isinstance(record, rec.TXN_OFFSETS_ENDED.cls):
            if record.group_id in groups:
                _end_transaction(groups[record.group_id], record.producer_id, record.committed)
        elif isinstance(record, rec.GROUP_STATE.cls):
            found = group(record.group_id)
            found.protocol_type = record.protocol_type
            # A group that had members when kgw stopped lost them with it.
            emptied = record.empty_since
            found.state_since_ms = emptied if emptied != rec.NOT_EMPTY else now_ms
    # An empty group without offsets is forgotten, as Kafka's cleanup does.
    return {group_id: g for group_id, g in groups.items() if g.offsets or g.pending_txn}


def _end_transaction(group: Group, producer_id: int, commit: bool) -> None:
    pending = group.pending_txn.pop(producer_id, {})
    if commit:
        group.offsets.update(pending)


def _snapshot(groups: dict[str, Group]) -> list:
    records: list = []
    for group in groups.values():
        if group.protocol_type is not None:
            records.append(rec.group_state(group.group_id, group.protocol_type,
                                           group.state_since_ms))
        records.append(rec.offset_commit(group.group_id, [
            (topic, partition, committed) for (topic, partition), committed in group.offsets.items()]))
        records.extend(rec.offset_commit(group.group_id, [
            (topic, partition, committed) for (topic, partition), committed in pending.items()],
            producer_id) for producer_id, pending in group.pending_txn.items())
    return records
