"""Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete."""

from protocol.messages import OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH

from ..scenario import Ref, scenario, step
from .common import create, member_of


def commit(version: int, offset: int = 5, topic: str = "$t", partition: int = 0, group: str = "$g",
           generation: int = -1, member="", metadata: str | None = "meta", **options):
    return step(OFFSET_COMMIT, version, {
        "group_id": group, "generation_id_or_member_epoch": generation, "member_id": member,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": partition, "committed_offset": offset, "committed_metadata": metadata}]}]},
        **options)


def fetch_offsets(version: int, topics=(("$t", (0,)),), group: str = "$g", **options):
    wanted = None if topics is None else [{"name": t, "partition_indexes": list(p)} for t, p in topics]
    if version >= 8:
        return step(OFFSET_FETCH, version, {"groups": [{"group_id": group, "topics": wanted}]}, **options)
    return step(OFFSET_FETCH, version, {"group_id": group, "topics": wanted}, **options)


SCENARIOS = [
    scenario("offsetcommit.simple-then-fetch", create("t"), commit(9), fetch_offsets(9), fetch_offsets(7)),
    scenario("offsetcommit.unknown-topic", commit(9, topic="$missing")),
    scenario("offsetcommit.illegal-generation", create("t"), member_of(),
             commit(9, generation=9, member=Ref("m1"))),
    scenario("offsetfetch.all-partitions", create("t", partitions=2), commit(8), commit(8, partition=1),
             fetch_offsets(8, topics=None)),
    scenario("offsetdelete.subscribed", create("t"), member_of(), commit(9, generation=Ref("m1.gen"), member=Ref("m1")),
             step(OFFSET_DELETE, 0, {"group_id": "$g", "topics": [{"name": "$t", "partitions": [
                 {"partition_index": 0}]}]})),
]
