"""OffsetCommit and OffsetFetch: validation, durability, retention."""

import json
import os
import struct

import crc32c
import trio

from kgw.groups.coordinator import OFFSETS_DIR
from kgw.journal import Journal
from kgw.groups.offsets import JOURNAL_FILE
from protocol.error_codes import ErrorCode
from protocol.messages import OFFSET_FETCH

from .harness import Member, call, commit, coordinator, fetch, running, trio_test, until

NONE = ErrorCode.NONE
DAY_S = 24 * 3600


def journal_path(data_dir):
    return data_dir / OFFSETS_DIR / JOURNAL_FILE


@trio_test
async def test_simple_consumer_commits_with_generation_minus_1(tmp_path):
    async with running(tmp_path, topics={"t": 3, "u": 1}) as broker:
        result = await commit(broker, "assign-only", {("t", 0): 10, ("t", 2): 30, ("u", 0): 7})
        assert set(result.values()) == {NONE}
        assert await fetch(broker, "assign-only", [("t", 0), ("t", 1), ("t", 2)]) == {
            ("t", 0): (10, "m"), ("t", 1): (-1, ""), ("t", 2): (30, "m")}
        # Null topics: every committed partition of the group (v2+).
        assert await fetch(broker, "assign-only", None) == {
            ("t", 0): (10, "m"), ("t", 2): (30, "m"), ("u", 0): (7, "m")}
        group = broker.groups.groups["assign-only"]
        assert (group.state, group.protocol_type) == ("Empty", None)
        listed = broker.groups.list_groups()
        assert [(g.group_id, g.protocol_type, g.state) for g in listed] == [("assign-only", "", "Empty")]


@trio_test
async def test_unknown_groups_have_no_offsets_and_no_error(tmp_path):
    async with running(tmp_path) as broker:
        assert await fetch(broker, "never", [("t", 0)]) == {("t", 0): (-1, "")}
        assert await fetch(broker, "never", None) == {}
        assert "never" not in broker.groups.groups


@trio_test
async def test_commit_validation(tmp_path):
    async with running(tmp_path, topics={"t": 2}) as broker:
        # A generation for a group kgw does not know: GROUP_ID_NOT_FOUND
        # from v9, ILLEGAL_GENERATION before, as Kafka answers.
        assert await commit(broker, "g", {("t", 0): 1}, generation=3, member_id="m", version=9) == \
            {("t", 0): ErrorCode.GROUP_ID_NOT_FOUND}
        assert await commit(broker, "g", {("t", 0): 1}, generation=3, member_id="m") == \
            {("t", 0): ErrorCode.ILLEGAL_GENERATION}
        assert "g" not in broker.groups.groups
        # Unknown partitions and oversized metadata are refused one by one.
        result = await commit(broker, "simple", {("t", 0): 1, ("t", 9): 2, ("nope", 0): 3})
        assert result == {("t", 0): NONE, ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                          ("nope", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        result = await commit(broker, "simple", {("t", 1): 5}, metadata="x" * 4097)
        assert result == {("t", 1): ErrorCode.OFFSET_METADATA_TOO_LARGE}
        assert await fetch(broker, "simple", None) == {("t", 0): (1, "m")}

        member = Member(broker)
        await member.join_and_sync()
        assert await member.commit({("t", 0): 42}) == {("t", 0): NONE}
        # Once the group has members, only they may commit.
        assert await commit(broker, "g", {("t", 0): 1}) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
        assert await commit(broker, "g", {("t", 0): 1}, generation=member.generation,
                            member_id="stranger") == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
        assert await commit(broker, "g", {("t", 0): 1}, generation=member.generation + 1,
                            member_id=member.member_id) == {("t", 0): ErrorCode.ILLEGAL_GENERATION}
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (42, "m")}


@trio_test
async def test_commit_during_completing_rebalance_is_refused(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker)
        await a.join()
        assert broker.groups.groups["g"].state == "CompletingRebalance"
        assert await a.commit({("t", 0): 1}) == {("t", 0): ErrorCode.REBALANCE_IN_PROGRESS}


@trio_test
async def test_static_member_commits_are_fenced_by_its_successor(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, instance_id="i")
        await a.join_and_sync()
        assert await a.commit({("t", 0): 1}, version=7) == {("t", 0): NONE}
        successor = Member(broker, instance_id="i")
        await successor.join()
        assert await a.commit({("t", 0): 2}, version=7) == {("t", 0): ErrorCode.FENCED_INSTANCE_ID}
        assert await successor.commit({("t", 0): 3}, version=7) == {("t", 0): NONE}


@trio_test
async def test_a_commit_keeps_the_member_alive(tmp_path):
    async with running(tmp_path) as broker:
        a = Member(broker, session_timeout_ms=10_000)
        await a.join_and_sync()
        for offset in range(5):
            await trio.sleep(6)
            assert await a.commit({("t", 0): offset}) == {("t", 0): NONE}
        assert await a.heartbeat() == NONE


@trio_test
async def test_offset_fetch_v8_reads_several_groups(tmp_path):
    async with running(tmp_path) as broker:
        await commit(broker, "one", {("t", 0): 1, ("t", 1): 11})
        await commit(broker, "two", {("t", 3): 3})
        Group = OFFSET_FETCH.Request.OffsetFetchRequestGroup
        Topics = Group.OffsetFetchRequestTopics
        response = await call(broker, OFFSET_FETCH, 8, OFFSET_FETCH.Request(groups=[
            Group(group_id="one", topics=[Topics(name="t", partition_indexes=[1, 2])]),
            Group(group_id="two", topics=None),
            Group(group_id="three", topics=None)], require_stable=True))
        found = {g.group_id: (g.error_code, {(t.name, p.partition_index): (p.committed_offset,
                                                                         p.committed_leader_epoch)
                                             for t in g.topics for p in t.partitions})
                 for g in response.groups}
        assert found == {"one": (NONE, {("t", 1): (11, 3), ("t", 2): (-1, -1)}),
                         "two": (NONE, {("t", 3): (3, 3)}),
                         "three": (NONE, {})}


@trio_test
async def test_old_commit_and_fetch_versions(tmp_path):
    async with running(tmp_path) as broker:
        assert await commit(broker, "g", {("t", 0): 5}, version=2) == {("t", 0): NONE}
        assert await fetch(broker, "g", [("t", 0)], version=1) == {("t", 0): (5, "m")}
        committed = broker.groups.groups["g"].offsets["t", 0]
        # Before v6 there is no leader epoch to keep.
        assert committed.leader_epoch == -1


@trio_test
async def test_acknowledged_commits_survive_a_crash(tmp_path):
    async with running(tmp_path) as broker:
        member = Member(broker)
        await member.join_and_sync()
        for offset in range(1, 51):
            assert await member.commit({("t", offset % 4): offset}) == {("t", offset % 4): NONE}
        await commit(broker, "simple", {("t", 0): 99}, metadata="kept")
        # A crash: the coordinator is dropped, never closed.
    reborn = coordinator(tmp_path)
    try:
        assert reborn.fetch_offsets("g", None) == broker.groups.fetch_offsets("g", None)
        assert [(t, p, c.offset) for t, p, c in reborn.fetch_offsets("g", None)] == \
            [("t", 0, 48), ("t", 1, 49), ("t", 2, 50), ("t", 3, 47)]
        [(_, _, kept)] = reborn.fetch_offsets("simple", [("t", 0)])
        assert (kept.offset, kept.metadata) == (99, "kept")
        # Members are not kept: the group is back Empty, its members rejoin.
        assert reborn.groups["g"].state == "Empty" and not reborn.groups["g"].members
    finally:
        reborn.close()


@trio_test
async def test_a_torn_tail_is_cut_off_and_the_journal_stays_usable(tmp_path):
    async with running(tmp_path) as broker:
        for offset in range(3):
            await commit(broker, "g", {("t", 0): offset})
    path = journal_path(tmp_path)
    whole = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"\x00\x00\x01\x00garbage, half a frame")
    async with running(tmp_path) as broker:
        assert path.stat().st_size == whole
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (2, "m")}
        await commit(broker, "g", {("t", 0): 3})
    # A frame whose checksum fails is as good as torn.
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    async with running(tmp_path) as broker:
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (2, "m")}


def test_a_journal_of_json_records_is_read_and_rewritten(tmp_path):
    """kgw before 0.2 journalled JSON (format version 1)."""
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    frames = b"".join(
        struct.pack(">II", len(payload), crc32c.crc32c(payload)) + payload
        for payload in (json.dumps(record).encode() for record in (
            {"t": "commit", "g": "g", "o": [["t", 0, 5, 1, "m", 1000, None],
                                           ["t", 1, 7, -1, "", 1000, 99_000_000_000_000]]},
            {"t": "commit", "g": "old", "o": [["t", 0, 1, -1, "", 1000, None]]},
            {"t": "delete", "gs": ["old"]},
            {"t": "txn_commit", "g": "g", "pid": 9, "o": [["t", 2, 3, -1, "", 1000, None]]},
            {"t": "txn_end", "g": "g", "pid": 9, "c": True},
            {"t": "expire", "g": "g", "p": [["t", 1]]},
            {"t": "group", "g": "g", "pt": "consumer", "empty_since": 2000})))
    path.write_bytes(b"KGWO" + struct.pack(">I", 1) + frames)
    for _ in range(2):
        store = coordinator(tmp_path)
        group = store.groups["g"]
        assert {key: (c.offset, c.leader_epoch, c.metadata) for key, c in group.offsets.items()} == {
            ("t", 0): (5, 1, "m"), ("t", 2): (3, -1, "")}
        assert (group.protocol_type, group.state_since_ms) == ("consumer", 2000)
        assert list(store.groups) == ["g"]
        store.close()
        assert path.read_bytes()[4:8] == struct.pack(">I", 2)


def test_a_journal_from_elsewhere_is_refused(tmp_path):
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"KGWO\x00\x00\x00\x09")
    try:
        coordinator(tmp_path)
    except Exception as exc:
        assert "format version 9" in str(exc)
    else:
        raise AssertionError("a newer journal format was accepted")


@trio_test
async def test_start_up_compacts_a_journal_of_mostly_dead_records(tmp_path):
    async with running(tmp_path) as broker:
        member = Member(broker)
        await member.join_and_sync()
        for offset in range(300):
            await member.commit({("t", 0): offset}, metadata="m" * 4000)
        await commit(broker, "deleted", {("t", 1): 1})
        assert (await member.leave()) == NONE
    grown = journal_path(tmp_path).stat().st_size
    assert grown > 1 << 20
    async with running(tmp_path) as broker:
        assert journal_path(tmp_path).stat().st_size < 5000
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (299, "m" * 4000)}
        assert await fetch(broker, "deleted", None) == {("t", 1): (1, "m")}
        # The compacted journal keeps taking commits after the rewrite.
        await commit(broker, "g", {("t", 2): 2})
    async with running(tmp_path) as broker:
        assert await fetch(broker, "g", None) == {("t", 0): (299, "m" * 4000), ("t", 2): (2, "m")}


@trio_test
async def test_offsets_of_an_empty_group_expire_after_the_retention(tmp_path):
    async with running(tmp_path, offsets_retention_minutes=7 * 24 * 60,
                       max_session_timeout_ms=2 * DAY_S * 1000) as broker:
        member = Member(broker, session_timeout_ms=int(1.5 * DAY_S * 1000))
        await member.join_and_sync()
        await member.commit({("t", 0): 5})
        # Committed long ago, but the group only just became empty.
        for _ in range(9):
            await trio.sleep(DAY_S)
            assert await member.heartbeat() == NONE
        assert await member.leave() == NONE
        await trio.sleep(6 * DAY_S)
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (5, "m")}
        await trio.sleep(DAY_S + 600)
        assert await fetch(broker, "g", [("t", 0)]) == {("t", 0): (-1, "")}
        assert "g" not in broker.groups.groups


@trio_test
async def test_a_stable_group_loses_offsets_of_topics_it_no_longer_reads(tmp_path):
    """KIP-496: retention counts from the commit for a topic no member
    subscribes to, while the group stays stable."""
    subscription = struct.pack(">hih", 0, 1, 1) + b"t" + struct.pack(">i", -1)
    async with running(tmp_path, topics={"t": 1, "u": 1}, offsets_retention_minutes=60) as broker:
        member = Member(broker, session_timeout_ms=30_000, metadata=subscription)
        await member.join_and_sync()
        await member.commit({("t", 0): 5, ("u", 0): 7})
        for _ in range(int(3600 * 1.25 / 10)):
            await trio.sleep(10)
            assert await member.heartbeat() == NONE
        assert broker.groups.groups["g"].state == "Stable"
        assert await fetch(broker, "g", [("t", 0), ("u", 0)]) == {("t", 0): (5, "m"), ("u", 0): (-1, "")}


@trio_test
async def test_simple_consumer_offsets_expire_per_commit_and_survive_restarts(tmp_path):
    async with running(tmp_path, offsets_retention_minutes=60) as broker:
        await commit(broker, "simple", {("t", 0): 1})
        await trio.sleep(1800)
        await commit(broker, "simple", {("t", 1): 2})
        await trio.sleep(1900)
        assert await fetch(broker, "simple", None) == {("t", 1): (2, "m")}
    # The expiry was journalled; what is left survives a restart.
    async with running(tmp_path, offsets_retention_minutes=60) as broker:
        assert await fetch(broker, "simple", None) == {("t", 1): (2, "m")}


@trio_test
async def test_retention_counts_from_when_the_group_emptied_even_across_a_restart(tmp_path):
    async with running(tmp_path, offsets_retention_minutes=24 * 60) as broker:
        member = Member(broker)
        await member.join_and_sync()
        await member.commit({("t", 0): 5})
        await member.leave()
        emptied = broker.groups.groups["g"].state_since_ms
        await trio.sleep(12 * 3600)
    async with running(tmp_path, offsets_retention_minutes=24 * 60) as broker:
        group = broker.groups.groups["g"]
        assert (group.protocol_type, group.state_since_ms) == ("consumer", emptied)


@trio_test
async def test_explicit_retention_time_of_old_commit_versions(tmp_path):
    async with running(tmp_path, offsets_retention_minutes=7 * 24 * 60) as broker:
        result = await commit(broker, "g", {("t", 0): 1}, version=3, retention_time_ms=3_600_000)
        assert result == {("t", 0): NONE}
        await commit(broker, "g", {("t", 1): 2}, version=3)
        await trio.sleep(3600 + 600)
        assert await fetch(broker, "g", None) == {("t", 1): (2, "m")}


@trio_test
async def test_concurrent_commits_share_fsyncs_and_apply_in_order(tmp_path):
    async with running(tmp_path, topics={"t": 64}) as broker:
        syncs = []
        journal = broker.groups._store._journal
        original = Journal._fsync

        async def counting_fsync(self):
            syncs.append(self.size)
            await trio.sleep(0.01)
            await original(self)

        Journal._fsync = counting_fsync
        try:
            async with trio.open_nursery() as nursery:
                for partition in range(64):
                    nursery.start_soon(commit, broker, "g", {("t", partition): partition})
        finally:
            Journal._fsync = original
        assert len(syncs) < 64 / 4
        assert await fetch(broker, "g", None) == {("t", p): (p, "m") for p in range(64)}
        assert journal.synced == journal.size


@trio_test
async def test_a_failed_fsync_fails_the_commit_and_every_later_one(tmp_path):
    async with running(tmp_path) as broker:
        original = Journal._fsync

        async def failing_fsync(self):
            raise OSError(5, "Input/output error")

        Journal._fsync = failing_fsync
        try:
            assert await commit(broker, "g", {("t", 0): 1}) == {("t", 0): ErrorCode.NOT_COORDINATOR}
        finally:
            Journal._fsync = original
        assert await commit(broker, "g", {("t", 0): 2}) == {("t", 0): ErrorCode.NOT_COORDINATOR}
        assert await fetch(broker, "g", None) == {}


@trio_test
async def test_a_client_hanging_up_mid_commit_still_gets_it_applied(tmp_path):
    async with running(tmp_path) as broker:
        original = Journal._fsync

        async def slow_fsync(self):
            await trio.sleep(1)
            await original(self)

        Journal._fsync = slow_fsync
        try:
            with trio.move_on_after(0.5):
                await commit(broker, "g", {("t", 0): 7})
        finally:
            Journal._fsync = original
        await until(lambda: broker.groups.groups["g"].offsets, "the commit applied")
        assert await fetch(broker, "g", None) == {("t", 0): (7, "m")}


def test_replay_of_deletions_and_expiries(tmp_path):
    async def scenario():
        async with running(tmp_path, offsets_retention_minutes=1) as broker:
            await commit(broker, "dropped", {("t", 0): 1})
            assert (await broker.groups.delete_groups(["dropped"])) == {"dropped": NONE}
            await commit(broker, "aged", {("t", 0): 3})
            await trio.sleep(700)
            await commit(broker, "dropped", {("t", 1): 2})
    trio_test(scenario)()
    reborn = coordinator(tmp_path)
    try:
        assert [(t, p, c.offset) for t, p, c in reborn.fetch_offsets("dropped", None)] == [("t", 1, 2)]
        assert "aged" not in reborn.groups
    finally:
        reborn.close()
    assert os.path.exists(journal_path(tmp_path))
