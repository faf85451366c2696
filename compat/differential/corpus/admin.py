"""Topic administration: CreateTopics, DeleteTopics, CreatePartitions,
DeleteRecords."""

from protocol.messages import CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS, METADATA

from ..scenario import Batch, Ref, scenario, step
from .common import create, fetch, list_offsets, produce, settle, topic_id


def create_topics(version: int, *topics: dict, validate_only: bool = False, **options):
    return step(CREATE_TOPICS, version, {"topics": [
        {"replication_factor": 1, "num_partitions": 1, "assignments": [], "configs": [], **t} for t in topics],
        "timeout_ms": 30000, "validate_only": validate_only}, **options)


def delete_topics(version: int, *names: str, **options):
    if version >= 6:
        return step(DELETE_TOPICS, version, {"topics": [{"name": n} for n in names], "timeout_ms": 30000},
                    **options)
    return step(DELETE_TOPICS, version, {"topic_names": list(names), "timeout_ms": 30000}, **options)


def grow(version: int, count: int, topic: str = "$t", assignments=None, validate_only: bool = False):
    return step(CREATE_PARTITIONS, version, {"topics": [{"name": topic, "count": count, "assignments": assignments}],
                                             "timeout_ms": 30000, "validate_only": validate_only})


def delete_records(version: int, offset: int, topic: str = "$t", partition: int = 0):
    return step(DELETE_RECORDS, version, {"topics": [{"name": topic, "partitions": [
        {"partition_index": partition, "offset": offset}]}], "timeout_ms": 30000})


def gone(local: str):
    """Wait until a deleted topic is gone: Kafka deletes in the background."""
    return step(METADATA, 12, {"topics": [{"name": f"${local}"}], "allow_auto_topic_creation": False},
                check=False, until=lambda r: r.topics[0].error_code == 3)


SCENARIOS = [
    *[scenario(f"createtopics.v{v}", create_topics(v, {"name": "$t", "num_partitions": 2}),
               settle("t", 2), create_topics(v, {"name": "$t"}))
      for v in range(2, 5)],
    scenario("createtopics.already-exists", create("t"), create_topics(4, {"name": "$t"})),
    scenario("createtopics.replication-factor-3", create_topics(4, {"name": "$t", "replication_factor": 3})),
    scenario("createtopics.replication-factor-0", create_topics(4, {"name": "$t", "replication_factor": 0})),
    scenario("createtopics.defaults", create_topics(4, {"name": "$t", "num_partitions": -1,
                                                        "replication_factor": -1}), settle("t")),
    scenario("createtopics.zero-partitions", create_topics(4, {"name": "$t", "num_partitions": 0})),
    scenario("createtopics.negative-partitions", create_topics(4, {"name": "$t", "num_partitions": -5})),
    scenario("createtopics.invalid-names", create_topics(4, {"name": "bad$name"}, {"name": "."}, {"name": ".."},
                                                         {"name": ""}, {"name": "x" * 250})),
    scenario("createtopics.colliding-name", create("a.b"), create_topics(4, {"name": "$a_b"})),
    scenario("createtopics.duplicate-in-request", create_topics(4, {"name": "$t"}, {"name": "$t"})),
    scenario("createtopics.validate-only", create_topics(4, {"name": "$t", "num_partitions": 3},
                                                         validate_only=True),
             step(METADATA, 12, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False})),
    scenario("createtopics.manual-assignment", create_topics(4, {
        "name": "$t", "num_partitions": -1, "replication_factor": -1,
        "assignments": [{"partition_index": 0, "broker_ids": [0]}, {"partition_index": 1, "broker_ids": [0]}]}),
             settle("t", 2)),
    scenario("createtopics.manual-assignment-unknown-broker", create_topics(4, {
        "name": "$t", "num_partitions": -1, "replication_factor": -1,
        "assignments": [{"partition_index": 0, "broker_ids": [7]}]})),
    scenario("createtopics.manual-assignment-with-count", create_topics(4, {
        "name": "$t", "num_partitions": 1, "replication_factor": -1,
        "assignments": [{"partition_index": 0, "broker_ids": [0]}]})),
    scenario("createtopics.manual-assignment-gap", create_topics(4, {
        "name": "$t", "num_partitions": -1, "replication_factor": -1,
        "assignments": [{"partition_index": 0, "broker_ids": [0]}, {"partition_index": 2, "broker_ids": [0]}]})),
    scenario("createtopics.internal-name", create_topics(4, {"name": "__consumer_offsets"})),
    # DeleteTopics.
    *[scenario(f"deletetopics.v{v}", create("t"), delete_topics(v, "$t", "$missing"), gone("t"),
               delete_topics(v, "$t"))
      for v in range(1, 7)],
    scenario("deletetopics.v6.by-id", create("t"), topic_id("t"),
             step(DELETE_TOPICS, 6, {"topics": [{"name": None, "topic_id": Ref("id:t")}], "timeout_ms": 30000}),
             gone("t"),
             step(DELETE_TOPICS, 6, {"topics": [{"name": None, "topic_id": Ref("id:t")}], "timeout_ms": 30000})),
    scenario("deletetopics.duplicates", create("t"), create("u"), topic_id("u"),
             delete_topics(4, "$t", "$t"), delete_topics(6, "$t", "$t"),
             step(DELETE_TOPICS, 6, {"topics": [{"name": None, "topic_id": Ref("id:u")},
                                                {"name": None, "topic_id": Ref("id:u")}], "timeout_ms": 30000}),
             step(METADATA, 12, {"topics": [{"name": "$t"}, {"name": "$u"}], "allow_auto_topic_creation": False})),
    scenario("deletetopics.name-and-id", create("t"), topic_id("t"),
             step(DELETE_TOPICS, 6, {"topics": [{"name": "$t", "topic_id": Ref("id:t")}, {"name": None}],
                                     "timeout_ms": 30000})),
    scenario("deletetopics.name-maps-to-given-id", create("t"), topic_id("t"),
             step(DELETE_TOPICS, 6, {"topics": [{"name": "$t"}, {"name": None, "topic_id": Ref("id:t")}],
                                     "timeout_ms": 30000}),
             step(METADATA, 12, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False})),
    scenario("deletetopics.then-recreate", create("t", partitions=2), produce("t"), delete_topics(4, "$t"),
             gone("t"), create("t"), list_offsets("t", -1), fetch("t")),
    # CreatePartitions.
    *[scenario(f"createpartitions.v{v}", create("t"), grow(v, 3), settle("t", 3), grow(v, 3), grow(v, 2),
               grow(v, 4, topic="$missing"))
      for v in range(0, 4)],
    scenario("createpartitions.validate-only", create("t"), grow(3, 5, validate_only=True),
             step(METADATA, 12, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False})),
    scenario("createpartitions.assignments", create("t"), grow(3, 3, assignments=[{"broker_ids": [0]},
                                                                                  {"broker_ids": [0]}]),
             settle("t", 3)),
    scenario("createpartitions.wrong-assignment-count", create("t"), grow(3, 3, assignments=[{"broker_ids": [0]}])),
    scenario("createpartitions.unknown-broker", create("t"), grow(3, 2, assignments=[{"broker_ids": [5]}])),
    scenario("createpartitions.duplicate-topic", create("t"),
             step(CREATE_PARTITIONS, 3, {"topics": [{"name": "$t", "count": 2, "assignments": None},
                                                    {"name": "$t", "count": 3, "assignments": None}],
                                         "timeout_ms": 30000, "validate_only": False})),
    # DeleteRecords.
    *[scenario(f"deleterecords.v{v}", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
               delete_records(v, 1), list_offsets("t", -2), fetch("t", offset=0), fetch("t", offset=1),
               delete_records(v, 10), delete_records(v, -1), delete_records(v, 0))
      for v in range(0, 3)],
    scenario("deleterecords.unknown-topic-and-partition", create("t"), delete_records(2, 0, topic="$missing"),
             delete_records(2, 0, partition=4)),
    scenario("deleterecords.empty-partition", create("t"), delete_records(2, 0), delete_records(2, 1)),
    scenario("deleterecords.negative-partition", create("t"), delete_records(2, 0, partition=-1)),
    scenario("createpartitions.huge-count", create("t"), grow(3, 1_000_000)),
    scenario("createpartitions.negative-count", create("t"), grow(3, -2)),
    scenario("createtopics.negative-timeout", step(CREATE_TOPICS, 4, {"topics": [
        {"name": "$t", "num_partitions": 1, "replication_factor": 1, "assignments": [], "configs": []}],
        "timeout_ms": -1}), gone("t")),
    scenario("createpartitions.negative-timeout", create("t"),
             step(CREATE_PARTITIONS, 3, {"topics": [{"name": "$t", "count": 2, "assignments": None}],
                                         "timeout_ms": -1, "validate_only": False}),
             step(METADATA, 12, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False})),
    scenario("deletetopics.negative-timeout", create("t"),
             step(DELETE_TOPICS, 4, {"topic_names": ["$t"], "timeout_ms": -1}),
             step(METADATA, 12, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False})),
    scenario("createtopics.too-many-partitions", create_topics(4, {"name": "$t", "num_partitions": 100_000})),
    scenario("deleterecords.negative-offset", create("t"), produce("t"), delete_records(2, -7)),
]
