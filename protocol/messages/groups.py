"""The classic consumer-group protocol and its admin APIs.

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BOOL, BYTES, INT16, INT32, INT8, STRING, structs

FIND_COORDINATOR = Api(
    10, "FindCoordinator", "0-6", flexible="3+",
    request=[
        Field("key", STRING, "0-3"),
        Field("key_type", INT8, "1+", default=0),
        Field("coordinator_keys", Array(STRING), "4+"),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("error_code", INT16, "0-3"),
        Field("error_message", STRING, "1-3", nullable="1-3"),
        Field("node_id", INT32, "0-3"),
        Field("host", STRING, "0-3"),
        Field("port", INT32, "0-3"),
        Field("coordinators", structs("Coordinator",
            Field("key", STRING),
            Field("node_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable="4+")), "4+"),
    ],
)

JOIN_GROUP = Api(
    11, "JoinGroup", "0-7", flexible="6+",
    request=[
        Field("group_id", STRING),
        Field("session_timeout_ms", INT32),
        Field("rebalance_timeout_ms", INT32, "1+", default=-1),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, "5+", nullable="5+", default=None),
        Field("protocol_type", STRING),
        Field("protocols", structs("JoinGroupRequestProtocol",
            Field("name", STRING),
            Field("metadata", BYTES))),
    ],
    response=[
        Field("throttle_time_ms", INT32, "2+"),
        Field("error_code", INT16),
        Field("generation_id", INT32, default=-1),
        Field("protocol_type", STRING, "7+", nullable="7+", default=None),
        Field("protocol_name", STRING, nullable="7+"),
        Field("leader", STRING),
        Field("member_id", STRING),
        Field("members", structs("JoinGroupResponseMember",
            Field("member_id", STRING),
            Field("group_instance_id", STRING, "5+", nullable="5+", default=None),
            Field("metadata", BYTES))),
    ],
)

SYNC_GROUP = Api(
    14, "SyncGroup", "0-5", flexible="4+",
    request=[
        Field("group_id", STRING),
        Field("generation_id", INT32),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, "3+", nullable="3+", default=None),
        Field("protocol_type", STRING, "5+", nullable="5+", default=None),
        Field("protocol_name", STRING, "5+", nullable="5+", default=None),
        Field("assignments", structs("SyncGroupRequestAssignment",
            Field("member_id", STRING),
            Field("assignment", BYTES))),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("error_code", INT16),
        Field("protocol_type", STRING, "5+", nullable="5+", default=None),
        Field("protocol_name", STRING, "5+", nullable="5+", default=None),
        Field("assignment", BYTES),
    ],
)

HEARTBEAT = Api(
    12, "Heartbeat", "0-4", flexible="4+",
    request=[
        Field("group_id", STRING),
        Field("generation_id", INT32),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, "3+", nullable="3+", default=None),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("error_code", INT16),
    ],
)

LEAVE_GROUP = Api(
    13, "LeaveGroup", "0-5", flexible="4+",
    request=[
        Field("group_id", STRING),
        Field("member_id", STRING, "0-2"),
        Field("members", structs("MemberIdentity",
            Field("member_id", STRING),
            Field("group_instance_id", STRING, nullable="3+", default=None),
            Field("reason", STRING, "5+", nullable="5+", default=None)), "3+"),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("error_code", INT16),
        Field("members", structs("MemberResponse",
            Field("member_id", STRING),
            Field("group_instance_id", STRING, nullable="3+"),
            Field("error_code", INT16)), "3+"),
    ],
)

LIST_GROUPS = Api(
    16, "ListGroups", "0-5", flexible="3+",
    request=[
        Field("states_filter", Array(STRING), "4+"),
        Field("types_filter", Array(STRING), "5+"),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("error_code", INT16),
        Field("groups", structs("ListedGroup",
            Field("group_id", STRING),
            Field("protocol_type", STRING),
            Field("group_state", STRING, "4+"),
            Field("group_type", STRING, "5+"))),
    ],
)

DESCRIBE_GROUPS = Api(
    15, "DescribeGroups", "0-6", flexible="5+",
    request=[
        Field("groups", Array(STRING)),
        Field("include_authorized_operations", BOOL, "3+"),
    ],
    response=[
        Field("throttle_time_ms", INT32, "1+"),
        Field("groups", structs("DescribedGroup",
            Field("error_code", INT16),
            Field("error_message", STRING, "6+", nullable="6+", default=None),
            Field("group_id", STRING),
            Field("group_state", STRING),
            Field("protocol_type", STRING),
            Field("protocol_data", STRING),
            Field("members", structs("DescribedGroupMember",
                Field("member_id", STRING),
                Field("group_instance_id", STRING, "4+", nullable="4+", default=None),
                Field("client_id", STRING),
                Field("client_host", STRING),
                Field("member_metadata", BYTES),
                Field("member_assignment", BYTES))),
            Field("authorized_operations", INT32, "3+", default=-2147483648))),
    ],
)

DELETE_GROUPS = Api(
    42, "DeleteGroups", "0-2", flexible="2+",
    request=[
        Field("groups_names", Array(STRING)),
    ],
    response=[
        Field("throttle_time_ms", INT32),
        Field("results", structs("DeletableGroupResult",
            Field("group_id", STRING),
            Field("error_code", INT16))),
    ],
)
