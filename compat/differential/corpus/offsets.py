"""Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, by a group's
members and by clients outside any group."""

from protocol.messages import OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH

from ..scenario import Ref, collect, scenario, step
from .common import create, in_state, join, member_of


def commit(version: int = 9, offset: int = 5, topic: str = "$t", partitions=(0,), group: str = "$g",
           generation=-1, member="", metadata: str | None = "meta", instance_id=None, epoch: int = -1,
           **options):
    return step(OFFSET_COMMIT, version, {
        "group_id": group, "generation_id_or_member_epoch": generation, "member_id": member,
        "group_instance_id": instance_id, "retention_time_ms": -1,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": p, "committed_offset": offset, "committed_leader_epoch": epoch,
             "committed_metadata": metadata} for p in partitions]}]},
        **options)


def member_commit(version: int = 9, member: str = "m1", generation=None, **fields):
    return commit(version, generation=Ref(f"{member}.gen") if generation is None else generation,
                  member=Ref(member), **fields)


def fetch_offsets(version: int = 9, topics=(("$t", (0,)),), group: str = "$g", require_stable: bool = False,
                  groups=None, **options):
    wanted = None if topics is None else [{"name": t, "partition_indexes": list(p)} for t, p in topics]
    if version >= 8:
        return step(OFFSET_FETCH, version, {"groups": [{"group_id": g, "topics": wanted}
                                                       for g in (groups or (group,))],
                                            "require_stable": require_stable}, **options)
    return step(OFFSET_FETCH, version, {"group_id": group, "topics": wanted, "require_stable": require_stable},
                **options)


def delete_offsets(group: str = "$g", topic: str = "$t", partitions=(0,)):
    return step(OFFSET_DELETE, 0, {"group_id": group, "topics": [{"name": topic, "partitions": [
        {"partition_index": p} for p in partitions]}]})


SCENARIOS = [
    *[scenario(f"offsetcommit.v{v}.simple", create("t", partitions=2), commit(v, partitions=(0, 1)),
               commit(v, offset=7, metadata=None), fetch_offsets(topics=(("$t", (0, 1)),)))
      for v in range(2, 10)],
    *[scenario(f"offsetcommit.v{v}.member", create("t"), member_of(), member_commit(v),
               member_commit(v, generation=3), fetch_offsets())
      for v in range(2, 10)],
    *[scenario(f"offsetfetch.v{v}", create("t", partitions=2), commit(partitions=(0,)),
               fetch_offsets(v, topics=(("$t", (0, 1)), ("$missing", (0,)))),
               *([fetch_offsets(v, topics=None)] if v >= 2 else []),
               fetch_offsets(v, group="$none"))
      for v in range(1, 10)],
    scenario("offsetfetch.v8.several-groups", create("t"), commit(), commit(group="$h", offset=9),
             fetch_offsets(8, groups=("$g", "$h", "$none")), fetch_offsets(8, topics=None, groups=("$g", "$h"))),
    scenario("offsetfetch.v9.member", create("t"), member_of(), member_commit(),
             step(OFFSET_FETCH, 9, {"groups": [{"group_id": "$g", "member_id": Ref("m1"), "member_epoch": 1,
                                                "topics": [{"name": "$t", "partition_indexes": [0]}]}]})),
    *[scenario(f"offsetfetch.v9.member-{name}", create("t"), member_of(), member_commit(),
               step(OFFSET_FETCH, 9, {"groups": [{"group_id": "$g", "member_id": member, "member_epoch": epoch,
                                                  "topics": [{"name": "$t", "partition_indexes": [0]}]}]}))
      for name, member, epoch in [("wrong-epoch", Ref("m1"), 5), ("unknown-member", "stranger", 1),
                                  ("no-epoch", Ref("m1"), -1), ("null-member", None, -1)]],
    scenario("offsetfetch.empty-group-id", fetch_offsets(group=""), fetch_offsets(7, group="")),
    # OffsetCommit's errors.
    scenario("offsetcommit.unknown-topic", commit(topic="$missing")),
    scenario("offsetcommit.bad-partition", create("t"), commit(partitions=(0, 3))),
    scenario("offsetcommit.empty-group-id", create("t"), commit(group="")),
    scenario("offsetcommit.negative-partition", create("t"), commit(partitions=(-1,))),
    scenario("offsetfetch.negative-partition", create("t"), commit(), fetch_offsets(topics=(("$t", (-1, 0)),))),
    scenario("offsetcommit.metadata-too-large", create("t"), commit(metadata="m" * 4097),
             commit(metadata="m" * 4096), fetch_offsets()),
    scenario("offsetcommit.negative-offset", create("t"), commit(offset=-3), fetch_offsets()),
    scenario("offsetcommit.leader-epoch", create("t"), commit(epoch=4), fetch_offsets(), fetch_offsets(4)),
    scenario("offsetcommit.illegal-generation", create("t"), member_of(), member_commit(generation=9)),
    scenario("offsetcommit.unknown-member", create("t"), member_of(), commit(generation=Ref("m1.gen"),
                                                                             member="stranger")),
    scenario("offsetcommit.simple-into-stable-group", create("t"), member_of(), commit()),
    scenario("offsetcommit.unknown-group-with-generation", create("t"), commit(generation=1, member="ghost"),
             commit(8, generation=1, member="ghost")),
    scenario("offsetcommit.during-rebalance", create("t"), member_of(),
             join(conn="b", save_as="m2", check=False),
             join(conn="b", member=Ref("m2"), save_as="m2", defer=True), in_state("PreparingRebalance"),
             member_commit(),
             join(member=Ref("m1"), save_as="m1"), collect("b")),
    scenario("offsetcommit.static-member", create("t"), member_of(instance_id="i1"),
             member_commit(instance_id="i1"), member_commit(instance_id="i2"),
             commit(generation=Ref("m1.gen"), member="stranger", instance_id="i1")),
    # OffsetDelete.
    scenario("offsetdelete.empty-group", create("t", partitions=2), commit(partitions=(0, 1)),
             delete_offsets(partitions=(0,)), fetch_offsets(topics=(("$t", (0, 1)),))),
    scenario("offsetdelete.subscribed", create("t"), member_of(), member_commit(), delete_offsets()),
    scenario("offsetdelete.unknown-group", create("t"), delete_offsets()),
    scenario("offsetdelete.unknown-topic-and-partition", create("t"), commit(),
             delete_offsets(topic="$missing"), delete_offsets(partitions=(0, 5))),
    scenario("offsetdelete.not-subscribed", create("t"), create("u"), member_of(topics=("u",)),
             member_commit(), delete_offsets()),
]
