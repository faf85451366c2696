"""Offsets committed in a transaction (TxnOffsetCommit): held until the
transaction ends, unstable meanwhile, and durable across restarts."""

from kgw.groups import OffsetCommit
from protocol.error_codes import ErrorCode
from protocol.messages import OFFSET_FETCH

from .harness import Member, call, coordinator, fetch, running, trio_test

NONE = ErrorCode.NONE
PID = 42


async def txn_commit(broker, offsets, group_id="g", producer_id=PID, generation=-1, member=""):
    return await broker.groups.commit_transactional_offsets(
        group_id, producer_id, generation, member, None,
        [OffsetCommit(topic, partition, offset, -1, "m") for (topic, partition), offset in offsets.items()])


async def stable_fetch(broker, partitions, group_id="g"):
    """OffsetFetch v7 with require_stable: {partition: (offset, error)}."""
    Topic = OFFSET_FETCH.Request.OffsetFetchRequestTopic
    response = await call(broker, OFFSET_FETCH, 7, OFFSET_FETCH.Request(
        group_id=group_id, require_stable=True,
        topics=[Topic(name=t, partition_indexes=[p]) for t, p in partitions]))
    return {(topic.name, p.partition_index): (p.committed_offset, p.error_code)
            for topic in response.topics for p in topic.partitions}


@trio_test
async def test_offsets_count_only_once_the_transaction_commits(tmp_path):
    async with running(tmp_path) as broker:
        assert await txn_commit(broker, {("t", 0): 10, ("t", 1): 20}) == [NONE, NONE]
        # Without require_stable the pending offsets are invisible; with it,
        # the partitions are unstable until the transaction ends.
        assert await fetch(broker, "g", [("t", 0), ("t", 1)]) == {("t", 0): (-1, ""), ("t", 1): (-1, "")}
        assert await stable_fetch(broker, [("t", 0), ("t", 2)]) == {
            ("t", 0): (-1, ErrorCode.UNSTABLE_OFFSET_COMMIT), ("t", 2): (-1, NONE)}
        await broker.groups.end_transaction("g", PID, commit=True)
        assert await stable_fetch(broker, [("t", 0), ("t", 1)]) == {("t", 0): (10, NONE), ("t", 1): (20, NONE)}

        assert await txn_commit(broker, {("t", 0): 99}) == [NONE]
        await broker.groups.end_transaction("g", PID, commit=False)
        assert await stable_fetch(broker, [("t", 0)]) == {("t", 0): (10, NONE)}


@trio_test
async def test_a_member_is_checked_against_the_generation(tmp_path):
    async with running(tmp_path) as broker:
        member = Member(broker)
        await member.join_and_sync()
        assert await txn_commit(broker, {("t", 0): 5}, generation=member.generation + 1,
                                member=member.member_id) == [ErrorCode.ILLEGAL_GENERATION]
        assert await txn_commit(broker, {("t", 0): 5}, generation=member.generation,
                                member=member.member_id) == [NONE]
        # A producer that names no member (TxnOffsetCommit v0-2) is not checked.
        assert await txn_commit(broker, {("t", 1): 6}, producer_id=7) == [NONE]


@trio_test
async def test_a_generation_of_an_unknown_group_is_illegal(tmp_path):
    # Kafka's validateTransactionalOffsetCommit, which creates no group for it.
    async with running(tmp_path) as broker:
        assert await txn_commit(broker, {("t", 0): 5}, group_id="nobody", generation=2,
                                member="ghost") == [ErrorCode.ILLEGAL_GENERATION]
        assert "nobody" not in broker.groups.groups


@trio_test
async def test_pending_offsets_survive_a_restart(tmp_path):
    async with running(tmp_path) as broker:
        await txn_commit(broker, {("t", 0): 10})
        await txn_commit(broker, {("t", 1): 11}, producer_id=7)
        await broker.groups.end_transaction("g", 7, commit=True)
    again = coordinator(tmp_path)
    group = again.groups["g"]
    assert {key: c.offset for key, c in group.offsets.items()} == {("t", 1): 11}
    assert {pid: {k: c.offset for k, c in p.items()} for pid, p in group.pending_txn.items()} == {
        PID: {("t", 0): 10}}
    again.close()
