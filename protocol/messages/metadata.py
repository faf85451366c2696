"""Cluster discovery: ApiVersions, Metadata and DescribeCluster.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BOOL, INT16, INT32, INT64, INT8, STRING, UUID, structs

API_VERSIONS = Api(
    18, "ApiVersions", "0-4", flexible="3+",
    request=[
        Field("client_software_name", STRING, "3+"),
        Field("client_software_version", STRING, "3+"),
    ],
    response=[
        Field("error_code", INT16),
        Field("api_keys", structs("ApiVersion",
            Field("api_key", INT16),
            Field("min_version", INT16),
            Field("max_version", INT16))),
        Field("throttle_time_ms", INT32, "1+"),
        Field("supported_features", structs("SupportedFeatureKey",
            Field("name", STRING),
            Field("min_version", INT16),
            Field("max_version", INT16)), "3+", tag=0),
        Field("finalized_features_epoch", INT64, "3+", tag=1, default=-1),
        Field("finalized_features", structs("FinalizedFeatureKey",
            Field("name", STRING),
            Field("max_version_level", INT16),
            Field("min_version_level", INT16)), "3+", tag=2),
        Field("zk_migration_ready", BOOL, "3+", tag=3, default=False),
    ],
)

METADATA = Api(
    3, "Metadata", "0-12", flexible="9+",
    request=[
        Field("topics", structs("MetadataRequestTopic",
            Field("topic_id", UUID, "10+"),
            Field("name", STRING, nullable="10+")), nullable="1+"),
        Field("allow_auto_topic_creation", BOOL, "4+", default=True),
        Field("include_cluster_authorized_operations", BOOL, "8-10"),
        Field("include_topic_authorized_operations", BOOL, "8+"),
    ],
    response=[
        Field("throttle_time_ms", INT32, "3+"),
        Field("brokers", structs("MetadataResponseBroker",
            Field("node_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, "1+", nullable="1+", default=None))),
        Field("cluster_id", STRING, "2+", nullable="2+", default=None),
        Field("controller_id", INT32, "1+", default=-1),
        Field("topics", structs("MetadataResponseTopic",
            Field("error_code", INT16),
            Field("name", STRING, nullable="12+"),
            Field("topic_id", UUID, "10+"),
            Field("is_internal", BOOL, "1+", default=False),
            Field("partitions", structs("MetadataResponsePartition",
                Field("error_code", INT16),
                Field("partition_index", INT32),
                Field("leader_id", INT32),
                Field("leader_epoch", INT32, "7+", default=-1),
                Field("replica_nodes", Array(INT32)),
                Field("isr_nodes", Array(INT32)),
                Field("offline_replicas", Array(INT32), "5+"))),
            Field("topic_authorized_operations", INT32, "8+", default=-2147483648))),
        Field("cluster_authorized_operations", INT32, "8-10", default=-2147483648),
    ],
)

DESCRIBE_CLUSTER = Api(
    60, "DescribeCluster", "0-2", flexible="0+",
    request=[
        Field("include_cluster_authorized_operations", BOOL),
        Field("endpoint_type", INT8, "1+", default=1),
        Field("include_fenced_brokers", BOOL, "2+", default=False),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable="0+", default=None),
        Field("endpoint_type", INT8, "1+", default=1),
        Field("cluster_id", STRING),
        Field("controller_id", INT32, default=-1),
        Field("brokers", structs("DescribeClusterBroker",
            Field("broker_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, nullable="0+", default=None),
            Field("is_fenced", BOOL, "2+", default=False))),
        Field("cluster_authorized_operations", INT32, default=-2147483648),
    ],
)
