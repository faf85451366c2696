"""What the handlers hand the coordinator and what they get back.

Plain values, independent of the wire versions: the handlers in
kgw/handlers/groups.py and offsets.py translate them to and from each
version's messages.
"""

from dataclasses import dataclass, field

import trio

from protocol.error_codes import ErrorCode


class Reply:
    """The answer to one waiting request, set once by whoever decides it.

    A JoinGroup waits for its rebalance to complete and a follower's
    SyncGroup for the leader's assignment. If the waiting handler is
    cancelled (its connection went away) the reply is simply never read:
    the group goes on as Kafka's does with a muted connection.
    """

    __slots__ = ("_event", "_value")

    def __init__(self, value=None):
        self._event = trio.Event()
        self._value = None
        if value is not None:
            self.set(value)

    def set(self, value) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self):
        await self._event.wait()
        return self._value


@dataclass(frozen=True)
class JoinRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    # KIP-394: JoinGroup v4+ must first obtain a member id (MEMBER_ID_REQUIRED).
    require_known_member_id: bool


@dataclass(frozen=True)
class JoinResult:
    error: ErrorCode
    member_id: str = ""
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    # (member id, group instance id, metadata): for the leader only.
    members: tuple = ()


@dataclass(frozen=True)
class SyncRequest:
    group_id: str
    generation_id: int
    member_id: str
    group_instance_id: str | None
    protocol_type: str | None
    protocol_name: str | None
    assignments: list[tuple[str, bytes]]


@dataclass(frozen=True)
class SyncResult:
    error: ErrorCode
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


@dataclass(frozen=True)
class OffsetCommit:
    topic: str
    partition: int
    offset: int
    leader_epoch: int = -1
    metadata: str = ""


@dataclass(frozen=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    protocol_type: str
    protocol: str
    members: list[MemberDescription] = field(default_factory=list)


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    protocol_type: str
    state: str
