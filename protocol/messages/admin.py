"""Topic administration: create, delete, grow, describe and alter configs,
delete records.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BOOL, INT16, INT32, INT64, INT8, STRING, UUID, structs

CREATE_TOPICS = Api(
    19, "CreateTopics", "2-7", flexible="5+",
    request=[
        Field("topics", structs("CreatableTopic",
            Field("name", STRING),
            Field("num_partitions", INT32),
            Field("replication_factor", INT16),
            Field("assignments", structs("CreatableReplicaAssignment",
                Field("partition_index", INT32),
                Field("broker_ids", Array(INT32)))),
            Field("configs", structs("CreatableTopicConfig",
                Field("name", STRING),
                Field("value", STRING, nullable="2+"))))),
        Field("timeout_ms", INT32, default=60000),
        Field("validate_only", BOOL, default=False),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("topics", structs("CreatableTopicResult",
            Field("name", STRING),
            Field("topic_id", UUID, "7+"),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable="2+"),
            Field("topic_config_error_code", INT16, "5+", tag=0),
            Field("num_partitions", INT32, "5+", default=-1),
            Field("replication_factor", INT16, "5+", default=-1),
            Field("configs", structs("CreatableTopicConfigs",
                Field("name", STRING),
                Field("value", STRING, nullable="5+"),
                Field("read_only", BOOL),
                Field("config_source", INT8, default=-1),
                Field("is_sensitive", BOOL)), "5+", nullable="5+"))),
    ],
)

DELETE_TOPICS = Api(
    20, "DeleteTopics", "1-6", flexible="4+",
    request=[
        Field("topics", structs("DeleteTopicState",
            Field("name", STRING, nullable="6+", default=None),
            Field("topic_id", UUID)), "6+"),
        Field("topic_names", Array(STRING), "1-5"),
        Field("timeout_ms", INT32),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("responses", structs("DeletableTopicResult",
            Field("name", STRING, nullable="6+"),
            Field("topic_id", UUID, "6+"),
            Field("error_code", INT16),
            Field("error_message", STRING, "5+", nullable="5+", default=None))),
    ],
)

CREATE_PARTITIONS = Api(
    37, "CreatePartitions", "0-3", flexible="2+",
    request=[
        Field("topics", structs("CreatePartitionsTopic",
            Field("name", STRING),
            Field("count", INT32),
            Field("assignments", structs("CreatePartitionsAssignment",
                Field("broker_ids", Array(INT32))), nullable="0+"))),
        Field("timeout_ms", INT32),
        Field("validate_only", BOOL),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("results", structs("CreatePartitionsTopicResult",
            Field("name", STRING),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable="0+", default=None))),
    ],
)

DESCRIBE_CONFIGS = Api(
    32, "DescribeConfigs", "1-4", flexible="4+",
    request=[
        Field("resources", structs("DescribeConfigsResource",
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configuration_keys", Array(STRING), nullable="1+"))),
        Field("include_synonyms", BOOL, default=False),
        Field("include_documentation", BOOL, "3+", default=False),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("results", structs("DescribeConfigsResult",
            Field("error_code", INT16),
            Field("error_message", STRING, nullable="1+"),
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configs", structs("DescribeConfigsResourceResult",
                Field("name", STRING),
                Field("value", STRING, nullable="1+"),
                Field("read_only", BOOL),
                Field("config_source", INT8, default=-1),
                Field("is_sensitive", BOOL),
                Field("synonyms", structs("DescribeConfigsSynonym",
                    Field("name", STRING),
                    Field("value", STRING, nullable="1+"),
                    Field("source", INT8))),
                Field("config_type", INT8, "3+", default=0),
                Field("documentation", STRING, "3+", nullable="3+"))))),
    ],
)

def _alter_configs(key: int, name: str, versions: str, flexible: str, *operation: Field) -> Api:
    """AlterConfigs and IncrementalAlterConfigs differ only in the latter's
    per-config operation."""
    return Api(
        key, name, versions, flexible=flexible,
        request=[
            Field("resources", structs("AlterConfigsResource",
                Field("resource_type", INT8),
                Field("resource_name", STRING),
                Field("configs", structs("AlterableConfig",
                    Field("name", STRING),
                    *operation,
                    Field("value", STRING, nullable="0+"))))),
            Field("validate_only", BOOL, default=False),
        ],
        response=[
            Field("throttle_time_ms", INT32),
            Field("responses", structs("AlterConfigsResourceResponse",
                Field("error_code", INT16),
                Field("error_message", STRING, nullable="0+"),
                Field("resource_type", INT8),
                Field("resource_name", STRING))),
        ],
    )


ALTER_CONFIGS = _alter_configs(33, "AlterConfigs", "0-2", "2+")
INCREMENTAL_ALTER_CONFIGS = _alter_configs(44, "IncrementalAlterConfigs", "0-1", "1+",
                                           Field("config_operation", INT8))

DELETE_RECORDS = Api(
    21, "DeleteRecords", "0-2", flexible="2+",
    request=[
        Field("topics", structs("DeleteRecordsTopic",
            Field("name", STRING),
            Field("partitions", structs("DeleteRecordsPartition",
                Field("partition_index", INT32),
                Field("offset", INT64))))),
        Field("timeout_ms", INT32),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("topics", structs("DeleteRecordsTopicResult",
            Field("name", STRING),
            Field("partitions", structs("DeleteRecordsPartitionResult",
                Field("partition_index", INT32),
                Field("low_watermark", INT64),
                Field("error_code", INT16))))),
    ],
)
