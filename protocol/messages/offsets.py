"""Committed offsets: OffsetCommit, OffsetFetch and OffsetDelete.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BOOL, INT16, INT32, INT64, STRING, structs

OFFSET_COMMIT = Api(
    8, "OffsetCommit", "2-9", flexible="8+",
    request=[
        Field("group_id", STRING),
        Field("generation_id_or_member_epoch", INT32, default=-1),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, "7+", nullable="7+", default=None),
        Field("retention_time_ms", INT64, "2-4", default=-1),
        Field("topics", structs("OffsetCommitRequestTopic",
            Field("name", STRING),
            Field("partitions", structs("OffsetCommitRequestPartition",
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, "6+", default=-1),
                Field("committed_metadata", STRING, nullable="2+"))))),
    ],
    response=[
        Field("throttle_time_ms", INT32, "3+"),
        Field("topics", structs("OffsetCommitResponseTopic",
            Field("name", STRING),
            Field("partitions", structs("OffsetCommitResponsePartition",
                Field("partition_index", INT32),
                Field("error_code", INT16))))),
    ],
)

OFFSET_FETCH = Api(
    9, "OffsetFetch", "1-9", flexible="6+",
    request=[
        Field("group_id", STRING, "1-7"),
        Field("topics", structs("OffsetFetchRequestTopic",
            Field("name", STRING),
            Field("partition_indexes", Array(INT32))), "1-7", nullable="2-7"),
        Field("groups", structs("OffsetFetchRequestGroup",
            Field("group_id", STRING),
            Field("member_id", STRING, "9+", nullable="9+", default=None),
            Field("member_epoch", INT32, "9+", default=-1),
            Field("topics", structs("OffsetFetchRequestTopics",
                Field("name", STRING),
                Field("partition_indexes", Array(INT32))), nullable="8+")), "8+"),
        Field("require_stable", BOOL, "7+", default=False),
    ],
    response=[
        Field("throttle_time_ms", INT32, "3+"),
        Field("topics", structs("OffsetFetchResponseTopic",
            Field("name", STRING),
            Field("partitions", structs("OffsetFetchResponsePartition",
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, "5+", default=-1),
                Field("metadata", STRING, nullable="1+"),
                Field("error_code", INT16)))), "1-7"),
        Field("error_code", INT16, "2-7", default=0),
        Field("groups", structs("OffsetFetchResponseGroup",
            Field("group_id", STRING),
            Field("topics", structs("OffsetFetchResponseTopics",
                Field("name", STRING),
                Field("partitions", structs("OffsetFetchResponsePartitions",
                    Field("partition_index", INT32),
                    Field("committed_offset", INT64),
                    Field("committed_leader_epoch", INT32, default=-1),
                    Field("metadata", STRING, nullable="8+"),
                    Field("error_code", INT16))))),
            Field("error_code", INT16, default=0)), "8+"),
    ],
)

OFFSET_DELETE = Api(
    47, "OffsetDelete", "0", flexible=None,
    request=[
        Field("group_id", STRING),
        Field("topics", structs("OffsetDeleteRequestTopic",
            Field("name", STRING),
            Field("partitions", structs("OffsetDeleteRequestPartition",
                Field("partition_index", INT32))))),
    ],
    response=[
        Field("error_code", INT16),
        Field("throttle_time_ms", INT32),
        Field("topics", structs("OffsetDeleteResponseTopic",
            Field("name", STRING),
            Field("partitions", structs("OffsetDeleteResponsePartition",
                Field("partition_index", INT32),
                Field("error_code", INT16))))),
    ],
)
