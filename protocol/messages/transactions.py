"""The transactional producer APIs.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BOOL, INT8, INT16, INT32, INT64, STRING, structs

ADD_PARTITIONS_TO_TXN = Api(
    24, "AddPartitionsToTxn", "0-3", flexible="3+",
    request=[
        Field("v3_and_below_transactional_id", STRING),
        Field("v3_and_below_producer_id", INT64),
        Field("v3_and_below_producer_epoch", INT16),
        Field("v3_and_below_topics", structs("AddPartitionsToTxnTopic",
            Field("name", STRING),
            Field("partitions", Array(INT32)))),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("results_by_topic_v3_and_below", structs("AddPartitionsToTxnTopicResult",
            Field("name", STRING),
            Field("results_by_partition", structs("AddPartitionsToTxnPartitionResult",
                Field("partition_index", INT32),
                Field("partition_error_code", INT16))))),
    ],
)

ADD_OFFSETS_TO_TXN = Api(
    25, "AddOffsetsToTxn", "0-3", flexible="3+",
    request=[
        Field("transactional_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("group_id", STRING),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
    ],
)

END_TXN = Api(
    26, "EndTxn", "0-3", flexible="3+",
    request=[
        Field("transactional_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("committed", BOOL),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
    ],
)

TXN_OFFSET_COMMIT = Api(
    28, "TxnOffsetCommit", "0-3", flexible="3+",
    request=[
        Field("transactional_id", STRING),
        Field("group_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("generation_id", INT32, "3+", default=-1),
        Field("member_id", STRING, "3+", default=""),
        Field("group_instance_id", STRING, "3+", nullable="3+", default=None),
        Field("topics", structs("TxnOffsetCommitRequestTopic",
            Field("name", STRING),
            Field("partitions", structs("TxnOffsetCommitRequestPartition",
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, "2+", default=-1),
                Field("committed_metadata", STRING, nullable="0+"))))),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("topics", structs("TxnOffsetCommitResponseTopic",
            Field("name", STRING),
            Field("partitions", structs("TxnOffsetCommitResponsePartition",
                Field("partition_index", INT32),
                Field("error_code", INT16))))),
    ],
)

# The transaction admin APIs (KIP-664): what the coordinator and the
# partitions know of transactions and producers.

DESCRIBE_PRODUCERS = Api(
    61, "DescribeProducers", "0", flexible="0+",
    request=[
        Field("topics", structs("TopicRequest",
            Field("name", STRING),
            Field("partition_indexes", Array(INT32)))),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("topics", structs("TopicResponse",
            Field("name", STRING),
            Field("partitions", structs("PartitionResponse",
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("error_message", STRING, nullable="0+", default=None),
                Field("active_producers", structs("ProducerState",
                    Field("producer_id", INT64),
                    Field("producer_epoch", INT32),
                    Field("last_sequence", INT32, default=-1),
                    Field("last_timestamp", INT64, default=-1),
                    Field("coordinator_epoch", INT32),
                    Field("current_txn_start_offset", INT64, default=-1))))))),
    ],
)

DESCRIBE_TRANSACTIONS = Api(
    65, "DescribeTransactions", "0", flexible="0+",
    request=[
        Field("transactional_ids", Array(STRING)),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("transaction_states", structs("TransactionState",
            Field("error_code", INT16),
            Field("transactional_id", STRING),
            Field("transaction_state", STRING),
            Field("transaction_timeout_ms", INT32),
            Field("transaction_start_time_ms", INT64),
            Field("producer_id", INT64),
            Field("producer_epoch", INT16),
            Field("topics", structs("TopicData",
                Field("topic", STRING),
                Field("partitions", Array(INT32)))))),
    ],
)

LIST_TRANSACTIONS = Api(
    66, "ListTransactions", "0-2", flexible="0+",
    request=[
        Field("state_filters", Array(STRING)),
        Field("producer_id_filters", Array(INT64)),
        Field("duration_filter", INT64, "1+", default=-1),
        Field("transactional_id_pattern", STRING, "2+", nullable="2+", default=None),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("unknown_state_filters", Array(STRING)),
        Field("transaction_states", structs("TransactionState",
            Field("transactional_id", STRING),
            Field("producer_id", INT64),
            Field("transaction_state", STRING))),
    ],
)

# Sent by a transaction coordinator to partition leaders, and by admin
# clients to abort a hanging transaction (KIP-664). Kafka 4 serves v1+.
WRITE_TXN_MARKERS = Api(
    27, "WriteTxnMarkers", "1-2", flexible="1+",
    request=[
        Field("markers", structs("WritableTxnMarker",
            Field("producer_id", INT64),
            Field("producer_epoch", INT16),
            Field("transaction_result", BOOL),
            Field("topics", structs("WritableTxnMarkerTopic",
                Field("name", STRING),
                Field("partition_indexes", Array(INT32)))),
            Field("coordinator_epoch", INT32),
            Field("transaction_version", INT8, "2+", default=0))),
    ],
    response=[
        Field("markers", structs("WritableTxnMarkerResult",
            Field("producer_id", INT64),
            Field("topics", structs("WritableTxnMarkerTopicResult",
                Field("name", STRING),
                Field("partitions", structs("WritableTxnMarkerPartitionResult",
                    Field("partition_index", INT32),
                    Field("error_code", INT16))))))),
    ],
)
