"""Writing records: Produce, and InitProducerId for idempotent and transactional producers.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, INT16, INT32, INT64, RECORDS, STRING, Struct, structs

PRODUCE = Api(
    0, "Produce", "0-10", flexible="9+",
    request=[
        Field("transactional_id", STRING, "3+", nullable="3+", default=None),
        Field("acks", INT16),
        Field("timeout_ms", INT32),
        Field("topic_data", structs("TopicProduceData",
            Field("name", STRING),
            Field("partition_data", structs("PartitionProduceData",
                Field("index", INT32),
                Field("records", RECORDS, nullable="0+"))))),
    ],
    response=[
        Field("responses", structs("TopicProduceResponse",
            Field("name", STRING),
            Field("partition_responses", structs("PartitionProduceResponse",
                Field("index", INT32),
                Field("error_code", INT16),
                Field("base_offset", INT64),
                Field("log_append_time_ms", INT64, "2+", default=-1),
                Field("log_start_offset", INT64, "5+", default=-1),
                Field("record_errors", structs("BatchIndexAndErrorMessage",
                    Field("batch_index", INT32),
                    Field("batch_index_error_message", STRING, nullable="8+", default=None)), "8+"),
                Field("error_message", STRING, "8+", nullable="8+", default=None),
                Field("current_leader", Struct("LeaderIdAndEpoch", [
                    Field("leader_id", INT32, default=-1),
                    Field("leader_epoch", INT32, default=-1)]), "10+", tag=0))))),
        Field("throttle_time_ms", INT32, "1+", default=0),
        Field("node_endpoints", structs("NodeEndpoint",
            Field("node_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, nullable="10+", default=None)), "10+", tag=0),
    ],
)

INIT_PRODUCER_ID = Api(
    22, "InitProducerId", "0-4", flexible="2+",
    request=[
        Field("transactional_id", STRING, nullable="0+"),
        Field("transaction_timeout_ms", INT32),
        Field("producer_id", INT64, "3+", default=-1),
        Field("producer_epoch", INT16, "3+", default=-1),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("producer_id", INT64, default=-1),
        Field("producer_epoch", INT16),
    ],
)
