"""Reading records: Fetch and ListOffsets.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, INT16, INT32, INT64, INT8, RECORDS, STRING, Struct, UUID, structs

FETCH = Api(
    1, "Fetch", "4-16", flexible="12+",
    request=[
        Field("cluster_id", STRING, "12+", nullable="12+", tag=0, default=None),
        Field("replica_id", INT32, "4-14", default=-1),
        Field("replica_state", Struct("ReplicaState", [
            Field("replica_id", INT32, default=-1),
            Field("replica_epoch", INT64, default=-1)]), "15+", tag=1),
        Field("max_wait_ms", INT32),
        Field("min_bytes", INT32),
        Field("max_bytes", INT32, default=2147483647),
        Field("isolation_level", INT8, default=0),
        Field("session_id", INT32, "7+", default=0),
        Field("session_epoch", INT32, "7+", default=-1),
        Field("topics", structs("FetchTopic",
            Field("topic", STRING, "4-12"),
            Field("topic_id", UUID, "13+"),
            Field("partitions", structs("FetchPartition",
                Field("partition", INT32),
                Field("current_leader_epoch", INT32, "9+", default=-1),
                Field("fetch_offset", INT64),
                Field("last_fetched_epoch", INT32, "12+", default=-1),
                Field("log_start_offset", INT64, "5+", default=-1),
                Field("partition_max_bytes", INT32))))),
        Field("forgotten_topics_data", structs("ForgottenTopic",
            Field("topic", STRING, "7-12"),
            Field("topic_id", UUID, "13+"),
            Field("partitions", Array(INT32))), "7+"),
        Field("rack_id", STRING, "11+", default=""),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16, "7+"),
        Field("session_id", INT32, "7+", default=0),
        Field("responses", structs("FetchableTopicResponse",
            Field("topic", STRING, "4-12"),
            Field("topic_id", UUID, "13+"),
            Field("partitions", structs("PartitionData",
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("high_watermark", INT64),
                Field("last_stable_offset", INT64, default=-1),
                Field("log_start_offset", INT64, "5+", default=-1),
                Field("diverging_epoch", Struct("EpochEndOffset", [
                    Field("epoch", INT32, default=-1),
                    Field("end_offset", INT64, default=-1)]), "12+", tag=0),
                Field("current_leader", Struct("LeaderIdAndEpoch", [
                    Field("leader_id", INT32, default=-1),
                    Field("leader_epoch", INT32, default=-1)]), "12+", tag=1),
                Field("snapshot_id", Struct("SnapshotId", [
                    Field("end_offset", INT64, default=-1),
                    Field("epoch", INT32, default=-1)]), "12+", tag=2),
                Field("aborted_transactions", structs("AbortedTransaction",
                    Field("producer_id", INT64),
                    Field("first_offset", INT64)), nullable="4+"),
                Field("preferred_read_replica", INT32, "11+", default=-1),
                Field("records", RECORDS, nullable="4+"))))),
        Field("node_endpoints", structs("NodeEndpoint",
            Field("node_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, nullable="16+", default=None)), "16+", tag=0),
    ],
)

LIST_OFFSETS = Api(
    2, "ListOffsets", "1-9", flexible="6+",
    request=[
        Field("replica_id", INT32),
        Field("isolation_level", INT8, "2+"),
        Field("topics", structs("ListOffsetsTopic",
            Field("name", STRING),
            Field("partitions", structs("ListOffsetsPartition",
                Field("partition_index", INT32),
                Field("current_leader_epoch", INT32, "4+", default=-1),
                Field("timestamp", INT64))))),
    ],
    response=[
        Field("throttle_time_ms", INT32, "2+"),
        Field("topics", structs("ListOffsetsTopicResponse",
            Field("name", STRING),
            Field("partitions", structs("ListOffsetsPartitionResponse",
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("timestamp", INT64, default=-1),
                Field("offset", INT64, default=-1),
                Field("leader_epoch", INT32, "4+", default=-1))))),
    ],
)
