"""Committed-offset throughput and rebalance latency, in-process.

Run: .venv/bin/python bench/groups_commit.py [--seconds S] [--dir DIR]

1. OffsetCommit throughput through the handler (decoded request in,
   response object out), fsync on, for 1, 8 and 64 concurrent committers:
   concurrent commits share fsyncs, so the rate should grow with them.
2. How long a three-member group takes to be stable again after one member
   leaves, on the real clock: from the LeaveGroup to both remaining members
   holding their new assignment. "protocol" has the two rejoin the moment
   the member leaves (the coordinator's own cost); "heartbeat" has them
   learn of the rebalance from their next heartbeat, every 3 s as Kafka
   clients do by default, which is what a real client waits.

Numbers are printed, never asserted (DESIGN.md). DIR should be on the disk
kgw would use: on tmpfs an fsync costs nothing.
"""

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import trio

from kgw.groups import GroupCoordinator
from kgw.handlers import HANDLERS, groups as _groups, offsets as _offsets  # noqa: F401 (registers)
from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, OFFSET_COMMIT, SYNC_GROUP

PARTITIONS = 64


class _Log:
    @staticmethod
    def partition(name, index):
        return object()


def broker_for(groups: GroupCoordinator):
    return SimpleNamespace(groups=groups, log=_Log(), node_id=0, advertised_host="localhost",
                           advertised_port=9092)


async def handle(broker, api, version: int, body, client_id: str = "bench"):
    request = Request(api.key, version, 0, client_id, body, client_host="/127.0.0.1")
    return await HANDLERS[api.key].fn(broker, request)


# --- 1. commit throughput ---------------------------------------------------------

def commit_body(group_id: str, partition: int, offset: int):
    Topic = OFFSET_COMMIT.Request.OffsetCommitRequestTopic
    return OFFSET_COMMIT.Request(
        group_id=group_id, generation_id_or_member_epoch=-1, member_id="", topics=[Topic(
            name="events", partitions=[Topic.OffsetCommitRequestPartition(
                partition_index=partition, committed_offset=offset, committed_metadata="")])])


async def commit_rate(data_dir: Path, committers: int, seconds: float) -> tuple[float, float]:
    """(commits per second, median commit latency in ms)."""
    groups = GroupCoordinator(data_dir)
    broker = broker_for(groups)
    latencies: list[float] = []
    deadline = trio.current_time() + seconds

    async def committer(index: int):
        offset = 0
        while trio.current_time() < deadline:
            started = time.perf_counter()
            response = await handle(broker, OFFSET_COMMIT, 8,
                                    commit_body(f"bench-{index % 8}", index % PARTITIONS, offset))
            latencies.append(time.perf_counter() - started)
            if response.topics[0].partitions[0].error_code != ErrorCode.NONE:
                raise SystemExit(f"commit failed: {response}")
            offset += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(committers):
            nursery.start_soon(committer, index)
    elapsed = time.perf_counter() - started
    groups.close()
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


# --- 2. rebalance after a member leaves ------------------------------------------------

class Member:
    def __init__(self, broker, name: str):
        self.broker = broker
        self.name = name
        self.member_id = ""
        self.generation = -1
        self.leader = ""
        self.members: list[str] = []
        self.synced = trio.Event()

    async def join(self):
        Protocol = JOIN_GROUP.Request.JoinGroupRequestProtocol
        while True:
            response = await handle(self.broker, JOIN_GROUP, 7, JOIN_GROUP.Request(
                group_id="bench", session_timeout_ms=45_000, rebalance_timeout_ms=300_000,
                member_id=self.member_id, protocol_type="consumer",
                protocols=[Protocol(name="range", metadata=b"events")]), self.name)
            self.member_id = response.member_id
            if response.error_code == ErrorCode.NONE:
                break
        self.generation, self.leader = response.generation_id, response.leader
        self.members = [m.member_id for m in response.members]
        Assignment = SYNC_GROUP.Request.SyncGroupRequestAssignment
        response = await handle(self.broker, SYNC_GROUP, 5, SYNC_GROUP.Request(
            group_id="bench", generation_id=self.generation, member_id=self.member_id,
            protocol_type="consumer", protocol_name="range",
            assignments=[Assignment(member_id=m, assignment=m.encode()) for m in self.members]),
            self.name)
        assert response.error_code == ErrorCode.NONE, response
        self.synced.set()

    async def heartbeat(self) -> ErrorCode:
        response = await handle(self.broker, HEARTBEAT, 4, HEARTBEAT.Request(
            group_id="bench", generation_id=self.generation, member_id=self.member_id), self.name)
        return response.error_code

    async def stay(self, interval_s: float):
        """A consumer's background thread: heartbeat, rejoin when told."""
        while True:
            await trio.sleep(interval_s)
            if await self.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS:
                await self.join()

    async def leave(self):
        response = await handle(self.broker, LEAVE_GROUP, 5, LEAVE_GROUP.Request(
            group_id="bench", members=[LEAVE_GROUP.Request.MemberIdentity(member_id=self.member_id)]))
        assert response.members[0].error_code == ErrorCode.NONE


async def three_members(broker) -> list[Member]:
    members = [Member(broker, name) for name in ("a", "b", "c")]
    async with trio.open_nursery() as nursery:
        for member in members:
            nursery.start_soon(member.join)
    while len({m.generation for m in members}) > 1:
        async with trio.open_nursery() as nursery:
            for member in members:
                nursery.start_soon(member.join)
    return members


async def rebalance_after_leave(data_dir: Path, heartbeat_interval_s: float | None) -> float:
    """Seconds from c's LeaveGroup to a and b both synced again."""
    groups = GroupCoordinator(data_dir)
    broker = broker_for(groups)
    async with trio.open_nursery() as nursery:
        await nursery.start(groups.run)
        a, b, c = await three_members(broker)
        stayers = (a, b)
        if heartbeat_interval_s is not None:
            for member in stayers:
                nursery.start_soon(member.stay, heartbeat_interval_s)
            # The leave lands somewhere between two heartbeats.
            await trio.sleep(random.uniform(0, heartbeat_interval_s))
        for member in stayers:
            member.synced = trio.Event()
        started = time.perf_counter()
        await c.leave()
        if heartbeat_interval_s is None:
            for member in stayers:
                nursery.start_soon(member.join)
        for member in stayers:
            await member.synced.wait()
        elapsed = time.perf_counter() - started
        assert a.generation == b.generation and c.member_id not in groups.groups["bench"].members
        nursery.cancel_scope.cancel()
    groups.close()
    return elapsed


async def main(seconds: float, data_dir: Path) -> None:
    print("OffsetCommit through the handler, fsync before each answer (group commit):")
    for committers in (1, 8, 64):
        with tempfile.TemporaryDirectory(dir=data_dir) as run_dir:
            rate, latency = await commit_rate(Path(run_dir), committers, seconds)
        print(f"  {committers:3d} concurrent committer(s): {rate:9.0f} commits/s, "
              f"median latency {latency:.2f} ms")
    print("Three-member group, one member leaves: time until the other two are stable again")
    for label, interval, trials in (("protocol", None, 20), ("heartbeat", 3.0, 5)):
        times = []
        for _ in range(trials):
            with tempfile.TemporaryDirectory(dir=data_dir) as run_dir:
                times.append(await rebalance_after_leave(Path(run_dir), interval))
        print(f"  {label:9s}: median {statistics.median(times) * 1000:8.2f} ms, "
              f"max {max(times) * 1000:8.2f} ms over {trials} trials")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--dir", type=Path, default=Path("."), help="where the journals go")
    args = parser.parse_args()
    trio.run(main, args.seconds, args.dir)
