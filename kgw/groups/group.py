"""One classic group: its members, generation, leader and committed offsets.

The bookkeeping here follows Apache Kafka's GroupMetadata: the protocol type
is fixed by the first member to join an empty group, a protocol can only be
chosen among those every member supports, and the leader is the first member
to join, replaced by another member when it leaves.
"""

from collections import Counter
from dataclasses import dataclass, field

from .api import Reply
from .timers import Timer

# State names as Kafka spells them (ListGroups, DescribeGroups).
EMPTY = "Empty"
PREPARING_REBALANCE = "PreparingRebalance"
COMPLETING_REBALANCE = "CompletingRebalance"
STABLE = "Stable"
DEAD = "Dead"


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp_ms: int
    # Only OffsetCommit v2-4 with an explicit retention time sets this.
    expire_timestamp_ms: int | None = None


@dataclass(eq=False)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    # Joined during the current rebalance and not yet given a generation:
    # bound by Kafka's five-minute new-member timeout, not the session.
    is_new: bool = False
    join_reply: Reply | None = None
    sync_reply: Reply | None = None
    heartbeat: Timer | None = field(default=None, repr=False)

    def supports(self, protocol: str) -> bool:
        return any(name == protocol for name, _ in self.protocols)

    def metadata(self, protocol: str | None) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among `candidates`."""
        return next(name for name, _ in self.protocols if name in candidates)


class Group:
    def __init__(self, group_id: str, state_since_ms: int, protocol_type: str | None = None):
        self.group_id = group_id
        self.state = EMPTY
        # Kafka's currentStateTimestamp: for an empty group, when it became
        # empty, which is what its offsets' retention counts from.
        self.state_since_ms = state_since_ms
        self.generation_id = 0
        # None for a group only ever used to store offsets (assign() users).
        self.protocol_type = protocol_type
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}
        # KIP-394: member ids handed out with MEMBER_ID_REQUIRED, each with
        # the session timeout within which it must come back.
        self.pending_members: dict[str, Timer] = {}
        # Members of the current generation that have not sent SyncGroup yet.
        self.pending_sync: set[str] = set()
        # Whether a member joined during the initial rebalance delay (KIP-134).
        self.new_member_added = False
        self.join_timer: Timer | None = None
        self.initial_join = False
        self.sync_timer: Timer | None = None
        self.offsets: dict[tuple[str, int], CommittedOffset] = {}
        # Partitions with a commit written to the journal but not yet durable.
        self.uncommitted: Counter = Counter()
        # TxnOffsetCommit's offsets, per producer id, until its transaction ends.
        self.pending_txn: dict[int, dict[tuple[str, int], CommittedOffset]] = {}

    def is_unstable(self, key: tuple[str, int]) -> bool:
        """Kafka's hasPendingOffsetCommitsForTopicPartition: a commit of the
        partition not yet durable, or waiting for its transaction to end."""
        return key in self.uncommitted or any(key in p for p in self.pending_txn.values())

    def __repr__(self):
        return (f"Group({self.group_id!r}, {self.state}, generation={self.generation_id}, "
                f"members={list(self.members)}, leader={self.leader_id!r})")

    # --- members -------------------------------------------------------------

    def add(self, member: Member) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member

    def remove(self, member_id: str) -> Member | None:
        member = self.members.pop(member_id, None)
        if member is not None and member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.pending_sync.discard(member_id)
        return member

    def replace_static(self, group_instance_id: str, new_member_id: str) -> Member:
        """A static member came back under a new member id (KIP-345): same
        member, same assignment, the old id fenced from now on."""
        old_member_id = self.static_members[group_instance_id]
        member = self.members.pop(old_member_id)
        member.member_id = new_member_id
        self.members[new_member_id] = member
        self.static_members[group_instance_id] = new_member_id
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        if old_member_id in self.pending_sync:
            self.pending_sync.discard(old_member_id)
            self.pending_sync.add(new_member_id)
        return member

    def awaiting_join(self) -> int:
        return sum(1 for m in self.members.values() if m.join_reply is not None)

    def all_joined(self) -> bool:
        return not self.pending_members and self.awaiting_join() == len(self.members)

    def elect_joined_leader(self) -> bool:
        """Kafka's maybeElectNewJoinedLeader: a leader that did not rejoin is
        replaced by one that did; False when nobody rejoined."""
        if self.leader_id is None:
            return False
        if self.members[self.leader_id].join_reply is not None:
            return True
        for member_id, member in self.members.items():
            if member.join_reply is not None:
                self.leader_id = member_id
                return True
        return False

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def member_metadata(self) -> tuple:
        """What the leader needs to compute the assignment."""
        return tuple((m.member_id, m.group_instance_id, m.metadata(self.protocol_name))
                     for m in self.members.values())

    # --- protocols -------------------------------------------------------------

    def supports(self, protocol_type: str, protocol_names: list[str]) -> bool:
        if self.state == EMPTY:
            return bool(protocol_type) and bool(protocol_names)
        return (self.protocol_type == protocol_type
                and any(self._supported_by_all(name) for name in protocol_names))

    def _supported_by_all(self, protocol: str) -> bool:
        return all(m.supports(protocol) for m in self.members.values())

    def select_protocol(self) -> str:
        """Each member votes for its favourite protocol that all members
        support; the most votes wins. Kafka breaks ties arbitrarily; kgw
        picks the earliest member's vote so the choice is reproducible."""
        candidates = {name for name, _ in next(iter(self.members.values())).protocols
                      if self._supported_by_all(name)}
        votes = Counter(m.vote(candidates) for m in self.members.values())
        return votes.most_common(1)[0][0]
