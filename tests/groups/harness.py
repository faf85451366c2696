"""Drive kgw's group and offset handlers in-process, the way the server does.

Every request goes through its version's wire encoding before it reaches the
handler, and every response through its version's encoding before the test
sees it: a test therefore sees what a client of that version would, and each
response built is proven encodable.
"""

import functools
import os
from contextlib import asynccontextmanager
from unittest import mock

import trio
from trio.testing import MockClock

from kgw.groups import GroupCoordinator
from kgw.journal import Journal
from kgw.handlers import HANDLERS, RequestContext, groups as _groups, offsets as _offsets  # noqa: F401 (registers)
from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import (
    HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, OFFSET_COMMIT, OFFSET_FETCH, REQUEST_CODECS,
    RESPONSE_CODECS, SYNC_GROUP,
)

# Wall-clock seconds at trio time 0: tests see realistic commit timestamps.
EPOCH = 1_700_000_000.0


def trio_test(fn):
    """Run an async test under a MockClock that jumps whenever every task
    is blocked, so timeouts of minutes or days take no real time.

    A task waiting for a thread counts as blocked too, so the journal's
    fsync runs inline here: otherwise every commit would let the clock leap
    to the next session timeout.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with mock.patch.object(Journal, "_fsync", inline_fsync):
            return trio.run(functools.partial(fn, *args, **kwargs),
                            clock=MockClock(autojump_threshold=0))
    return wrapper


async def inline_fsync(journal) -> None:
    os.fsync(journal._fd)


def wall_clock() -> float:
    """Wall time that moves with the mock clock (and stands still outside
    trio, where a test reopens a coordinator's files)."""
    try:
        return EPOCH + trio.current_time()
    except RuntimeError:
        return EPOCH


class FakeLog:
    def __init__(self, topics: dict[str, int]):
        self.topics = topics

    def partition(self, name: str, index: int):
        return object() if 0 <= index < self.topics.get(name, 0) else None


class FakeBroker:
    node_id = 0
    advertised_host = "kgw.example"
    advertised_port = 19092

    def __init__(self, groups: GroupCoordinator, topics: dict[str, int]):
        self.groups = groups
        self.log = FakeLog(topics)


def coordinator(data_dir, **settings) -> GroupCoordinator:
    settings.setdefault("clock", wall_clock)
    return GroupCoordinator(data_dir, **settings)


@asynccontextmanager
async def running(data_dir, topics=None, **settings):
    """A broker whose coordinator runs its timers in the background."""
    groups = coordinator(data_dir, **settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(groups.run)
        try:
            yield FakeBroker(groups, topics if topics is not None else {"t": 4})
        finally:
            nursery.cancel_scope.cancel()
    groups.close()


async def call(broker, api, version: int, body, client_id: str = "client"):
    codec = REQUEST_CODECS[api.key, version]
    body = codec.from_bytes(codec.to_bytes(body))
    request = Request(api.key, version, 0, client_id, body)
    response = await HANDLERS[api.key].fn(broker, request, RequestContext("/127.0.0.1"))
    codec = RESPONSE_CODECS[api.key, version]
    return codec.from_bytes(codec.to_bytes(response))


async def until(predicate, what: str = "condition"):
    """Let other tasks run, without letting the mock clock move, until
    `predicate()` holds."""
    for _ in range(1000):
        if predicate():
            return
        await trio.sleep(0)
    raise AssertionError(f"{what} never happened")


def protocols(*names: str, metadata: bytes = b"sub") -> list:
    Protocol = JOIN_GROUP.Request.JoinGroupRequestProtocol
    return [Protocol(name=name, metadata=metadata + name.encode()) for name in names]


class Member:
    """One simulated consumer: what a client keeps between requests."""

    def __init__(self, broker, group_id: str = "g", client_id: str = "consumer", *,
                 version: int = 7, instance_id: str | None = None, session_timeout_ms: int = 10_000,
                 rebalance_timeout_ms: int = 30_000, names=("range", "roundrobin"),
                 protocol_type: str = "consumer", metadata: bytes = b"sub"):
        self.broker = broker
        self.group_id = group_id
        self.client_id = client_id
        self.version = version
        self.instance_id = instance_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.names = names
        self.protocol_type = protocol_type
        self.metadata = metadata
        self.member_id = ""
        self.generation = -1
        self.leader = ""
        self.protocol = None
        self.members = []
        self.instances = {}
        self.assignment = None

    def _join_body(self):
        return JOIN_GROUP.Request(
            group_id=self.group_id, session_timeout_ms=self.session_timeout_ms,
            rebalance_timeout_ms=self.rebalance_timeout_ms, member_id=self.member_id,
            group_instance_id=self.instance_id, protocol_type=self.protocol_type,
            protocols=protocols(*self.names, metadata=self.metadata))

    async def join_once(self):
        response = await call(self.broker, JOIN_GROUP, min(self.version, 7), self._join_body(),
                              self.client_id)
        if response.error_code in (ErrorCode.NONE, ErrorCode.MEMBER_ID_REQUIRED):
            self.member_id = response.member_id
        if response.error_code == ErrorCode.NONE:
            self.generation = response.generation_id
            self.leader = response.leader
            self.protocol = response.protocol_name
            self.members = [m.member_id for m in response.members]
            self.instances = {m.member_id: m.group_instance_id for m in response.members}
        return response

    async def join(self):
        """JoinGroup as clients do it: once more after MEMBER_ID_REQUIRED."""
        response = await self.join_once()
        if response.error_code == ErrorCode.MEMBER_ID_REQUIRED:
            response = await self.join_once()
        return response

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader

    async def sync(self, assignments: dict[str, bytes] | None = None):
        """SyncGroup; a leader assigns `assignments`, by default each member
        its own id."""
        Assignment = SYNC_GROUP.Request.SyncGroupRequestAssignment
        if assignments is None and self.is_leader:
            assignments = {m: b"for " + m.encode() for m in self.members}
        version = min(self.version, 5)
        response = await call(self.broker, SYNC_GROUP, version, SYNC_GROUP.Request(
            group_id=self.group_id, generation_id=self.generation, member_id=self.member_id,
            group_instance_id=self.instance_id, protocol_type=self.protocol_type,
            protocol_name=self.protocol,
            assignments=[Assignment(member_id=m, assignment=a) for m, a in (assignments or {}).items()]),
            self.client_id)
        if response.error_code == ErrorCode.NONE:
            self.assignment = response.assignment
        return response

    async def join_and_sync(self):
        joined = await self.join()
        assert joined.error_code == ErrorCode.NONE, joined
        synced = await self.sync()
        assert synced.error_code == ErrorCode.NONE, synced
        return synced

    async def heartbeat(self) -> ErrorCode:
        response = await call(self.broker, HEARTBEAT, min(self.version, 4), HEARTBEAT.Request(
            group_id=self.group_id, generation_id=self.generation, member_id=self.member_id,
            group_instance_id=self.instance_id), self.client_id)
        return response.error_code

    async def leave(self) -> ErrorCode:
        version = min(self.version, 5)
        if version < 3:
            body = LEAVE_GROUP.Request(group_id=self.group_id, member_id=self.member_id)
        else:
            body = LEAVE_GROUP.Request(group_id=self.group_id, members=[
                LEAVE_GROUP.Request.MemberIdentity(member_id=self.member_id,
                                                   group_instance_id=self.instance_id)])
        response = await call(self.broker, LEAVE_GROUP, version, body, self.client_id)
        if version >= 3:
            assert response.error_code == ErrorCode.NONE
            return response.members[0].error_code
        return response.error_code

    async def commit(self, offsets: dict[tuple[str, int], int], version: int = 8, metadata="m"):
        return await commit(self.broker, self.group_id, offsets, version=version,
                            generation=self.generation, member_id=self.member_id,
                            instance_id=self.instance_id, metadata=metadata)


async def commit(broker, group_id: str, offsets: dict[tuple[str, int], int], *, version: int = 8,
                 generation: int = -1, member_id: str = "", instance_id=None, metadata="m",
                 retention_time_ms: int = -1) -> dict[tuple[str, int], ErrorCode]:
    Topic = OFFSET_COMMIT.Request.OffsetCommitRequestTopic
    Partition = Topic.OffsetCommitRequestPartition
    by_topic: dict[str, list] = {}
    for (topic, partition), offset in offsets.items():
        by_topic.setdefault(topic, []).append(Partition(
            partition_index=partition, committed_offset=offset, committed_leader_epoch=3,
            committed_metadata=metadata))
    response = await call(broker, OFFSET_COMMIT, version, OFFSET_COMMIT.Request(
        group_id=group_id, generation_id_or_member_epoch=generation, member_id=member_id,
        group_instance_id=instance_id, retention_time_ms=retention_time_ms,
        topics=[Topic(name=name, partitions=parts) for name, parts in by_topic.items()]))
    return {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions}


async def fetch(broker, group_id: str, partitions: list[tuple[str, int]] | None, *,
                version: int = 7) -> dict[tuple[str, int], tuple[int, str]]:
    """(offset, metadata) per partition, via a single-group OffsetFetch."""
    Topic = OFFSET_FETCH.Request.OffsetFetchRequestTopic
    topics = None
    if partitions is not None:
        by_topic: dict[str, list[int]] = {}
        for topic, partition in partitions:
            by_topic.setdefault(topic, []).append(partition)
        topics = [Topic(name=name, partition_indexes=parts) for name, parts in by_topic.items()]
    response = await call(broker, OFFSET_FETCH, version,
                          OFFSET_FETCH.Request(group_id=group_id, topics=topics))
    assert response.error_code == ErrorCode.NONE
    found = {}
    for topic in response.topics:
        for p in topic.partitions:
            assert p.error_code == ErrorCode.NONE
            found[topic.name, p.partition_index] = (p.committed_offset, p.metadata)
    return found
