"""Topic administration: CreateTopics, DeleteTopics, CreatePartitions,
DeleteRecords."""

from protocol.messages import CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS

from ..scenario import Batch, scenario, step
from .common import create, produce


def create_topics(version: int, *topics: dict, validate_only: bool = False, **options):
    return step(CREATE_TOPICS, version, {"topics": [
        {"replication_factor": 1, "num_partitions": 1, "assignments": [], "configs": [], **t} for t in topics],
        "timeout_ms": 30000, "validate_only": validate_only}, **options)


def delete_records(version: int, offset: int, topic: str = "$t", partition: int = 0):
    return step(DELETE_RECORDS, version, {"topics": [{"name": topic, "partitions": [
        {"partition_index": partition, "offset": offset}]}], "timeout_ms": 30000})


SCENARIOS = [
    scenario("createtopics.already-exists", create("t"), create_topics(4, {"name": "$t"})),
    scenario("createtopics.replication-factor-3", create_topics(4, {"name": "$t", "replication_factor": 3})),
    scenario("deletetopics.v4.unknown-and-known", create("t"),
             step(DELETE_TOPICS, 4, {"topic_names": ["$t", "$missing"], "timeout_ms": 30000})),
    scenario("createpartitions.v3.grow-and-shrink", create("t", partitions=2),
             step(CREATE_PARTITIONS, 3, {"topics": [{"name": "$t", "count": 3, "assignments": None}],
                                         "timeout_ms": 30000, "validate_only": False}),
             step(CREATE_PARTITIONS, 3, {"topics": [{"name": "$t", "count": 1, "assignments": None}],
                                         "timeout_ms": 30000, "validate_only": False})),
    scenario("deleterecords.v2.below-and-beyond-hw", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
             delete_records(2, 1), delete_records(2, 10), delete_records(2, -1)),
]
