"""The classic group protocol and its admin APIs: FindCoordinator 0-6,
JoinGroup 0-7, SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5, ListGroups 0-5,
DescribeGroups 0-5 and DeleteGroups 0-2.

These only translate between each version's messages and kgw.groups, where
the state machine lives. Versions: JoinGroup v4+ asks new members to come
back with an id (KIP-394), v5+ carries static membership (KIP-345), v7 names
the protocol type; SyncGroup v5 checks it; LeaveGroup v3+ leaves in batches;
FindCoordinator v4+ looks up several keys at once (KIP-699).
"""

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import (
    DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP,
    LIST_GROUPS, SYNC_GROUP,
)

from ..authorized_operations import GROUP, reported
from ..groups import JoinRequest, SyncRequest
from ..broker import Broker
from . import RequestContext, handles

# FindCoordinator key types kgw coordinates (it coordinates them all).
GROUP_KEY = 0
TRANSACTION_KEY = 1
# Every classic group is of this type (KIP-848's ListGroups v5 filter).
CLASSIC = "classic"


@handles(FIND_COORDINATOR)
async def find_coordinator(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = FIND_COORDINATOR.Response
    if body.key_type in (GROUP_KEY, TRANSACTION_KEY):
        error, message = ErrorCode.NONE, None
        node, host, port = broker.node_id, broker.advertised_host, broker.advertised_port
    else:
        # Kafka's CoordinatorType.forId refuses it with this message; the
        # answer names no node, as Kafka's Node.noNode().
        error = ErrorCode.INVALID_REQUEST
        message = f"Unknown coordinator type received: {body.key_type}"
        node, host, port = -1, "", -1
    if request.api_version >= 4:
        return Response(throttle_time_ms=0, coordinators=[
            Response.Coordinator(key=key, node_id=node, host=host, port=port, error_code=error,
                                 error_message=message or "")
            for key in body.coordinator_keys])
    # Kafka sends the error's name, "NONE", as the message of a success.
    return Response(throttle_time_ms=0, error_code=error, error_message=message or error.name,
                    node_id=node, host=host, port=port)


@handles(JOIN_GROUP)
async def join_group(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    version = request.api_version
    result = await broker.groups.join_group(JoinRequest(
        group_id=body.group_id,
        member_id=body.member_id,
        group_instance_id=body.group_instance_id,
        client_id=request.client_id or "",
        client_host=context.client_host,
        session_timeout_ms=body.session_timeout_ms,
        # v0 has no rebalance timeout; Kafka uses the session timeout.
        rebalance_timeout_ms=body.rebalance_timeout_ms if version >= 1 else body.session_timeout_ms,
        protocol_type=body.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in body.protocols],
        require_known_member_id=version >= 4))
    Member = JOIN_GROUP.Response.JoinGroupResponseMember
    return JOIN_GROUP.Response(
        throttle_time_ms=0, error_code=result.error, generation_id=result.generation_id,
        protocol_type=result.protocol_type,
        # Nullable only from v7.
        protocol_name=result.protocol_name if version >= 7 else result.protocol_name or "",
        leader=result.leader, member_id=result.member_id,
        members=[Member(member_id=member_id, group_instance_id=instance_id, metadata=metadata)
                 for member_id, instance_id, metadata in result.members])


@handles(SYNC_GROUP)
async def sync_group(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = SYNC_GROUP.Response
    if request.api_version >= 5 and (body.protocol_type is None or body.protocol_name is None):
        # Mandatory from v5 on, as Kafka's SyncGroupRequest checks.
        return Response(throttle_time_ms=0, error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    result = await broker.groups.sync_group(SyncRequest(
        group_id=body.group_id,
        generation_id=body.generation_id,
        member_id=body.member_id,
        group_instance_id=body.group_instance_id,
        protocol_type=body.protocol_type,
        protocol_name=body.protocol_name,
        assignments=[(a.member_id, bytes(a.assignment)) for a in body.assignments]))
    return Response(throttle_time_ms=0, error_code=result.error, protocol_type=result.protocol_type,
                    protocol_name=result.protocol_name, assignment=result.assignment)


@handles(HEARTBEAT)
async def heartbeat(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    error = broker.groups.heartbeat(body.group_id, body.generation_id, body.member_id,
                                    body.group_instance_id)
    return HEARTBEAT.Response(throttle_time_ms=0, error_code=error)


@handles(LEAVE_GROUP)
async def leave_group(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Response = LEAVE_GROUP.Response
    if request.api_version < 3:
        error, member_errors = broker.groups.leave_group(body.group_id, [(body.member_id, None)])
        # Before v3 the one member's error is the response's.
        return Response(throttle_time_ms=0, error_code=error or next(iter(member_errors), error))
    leaving = [(m.member_id, m.group_instance_id) for m in body.members]
    error, member_errors = broker.groups.leave_group(body.group_id, leaving)
    return Response(throttle_time_ms=0, error_code=error, members=[
        Response.MemberResponse(member_id=member_id, group_instance_id=instance_id,
                                error_code=member_error)
        for (member_id, instance_id), member_error in zip(leaving, member_errors)])


@handles(LIST_GROUPS)
async def list_groups(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    # Kafka compares both filters case-insensitively.
    states = {state.lower() for state in body.states_filter}
    types = {group_type.lower() for group_type in body.types_filter}
    Listed = LIST_GROUPS.Response.ListedGroup
    return LIST_GROUPS.Response(throttle_time_ms=0, error_code=ErrorCode.NONE, groups=[
        Listed(group_id=g.group_id, protocol_type=g.protocol_type, group_state=g.state,
               group_type=CLASSIC)
        for g in broker.groups.list_groups()
        if (not states or g.state.lower() in states) and (not types or CLASSIC in types)])


@handles(DESCRIBE_GROUPS)
async def describe_groups(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    Described = DESCRIBE_GROUPS.Response.DescribedGroup
    Member = Described.DescribedGroupMember
    operations = reported(GROUP, body.include_authorized_operations)
    described = []
    for group_id in body.groups:
        group = broker.groups.describe_group(group_id)
        described.append(Described(
            error_code=ErrorCode.NONE, group_id=group_id, group_state=group.state,
            protocol_type=group.protocol_type, protocol_data=group.protocol,
            authorized_operations=operations, members=[
                Member(member_id=m.member_id, group_instance_id=m.group_instance_id,
                       client_id=m.client_id, client_host=m.client_host,
                       member_metadata=m.metadata, member_assignment=m.assignment)
                for m in group.members]))
    return DESCRIBE_GROUPS.Response(throttle_time_ms=0, groups=described)


@handles(DELETE_GROUPS)
async def delete_groups(broker: Broker, request: Request, context: RequestContext):
    results = await broker.groups.delete_groups(request.body.groups_names)
    Result = DELETE_GROUPS.Response.DeletableGroupResult
    return DELETE_GROUPS.Response(throttle_time_ms=0, results=[
        Result(group_id=group_id, error_code=error) for group_id, error in results.items()])
