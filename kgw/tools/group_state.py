"""A consumer group's state, as the tools that change its offsets need it."""

import time

from protocol.error_codes import ErrorCode
from protocol.messages import DESCRIBE_GROUPS

from ..cli_errors import ToolError
from .client import RETRIABLE_COORDINATOR_ERRORS, Cluster, check, coordinator_retries

# The states in which a group has no members.  Kafka's kafka-consumer-groups
# changes offsets only then: a running member would overwrite them.
INACTIVE = ("Empty", "Dead")


def describe_group(cluster: Cluster, group: str):
    """DescribeGroups' answer for `group`; an unknown group is Dead with no
    members, as before v6, which names it GROUP_ID_NOT_FOUND (KIP-1043): a
    group that does not exist yet may still be given offsets.

    A coordinator still loading its groups, or one that has just moved (as
    a fresh Kafka's is while it creates __consumer_offsets), is asked again,
    found anew, as Kafka's clients do.
    """
    for pause in coordinator_retries():
        conn = cluster.coordinator(group)
        body = conn.call(DESCRIBE_GROUPS, DESCRIBE_GROUPS.Request(groups=[group]))
        described = body.groups[0]
        if described.error_code not in RETRIABLE_COORDINATOR_ERRORS or pause is None:
            break
        cluster.forget_coordinator(group)
        time.sleep(pause)
    if described.error_code == ErrorCode.GROUP_ID_NOT_FOUND:
        described.error_code, described.group_state, described.members = ErrorCode.NONE, "Dead", []
    check(described.error_code, f"describing group {group!r}")
    return described


def require_no_members(cluster: Cluster, group: str, action: str) -> None:
    """ToolError unless `group` is Empty or Dead."""
    described = describe_group(cluster, group)
    if described.group_state not in INACTIVE:
        raise ToolError(f"group {group!r} is {described.group_state} with "
                        f"{len(described.members)} member(s); stop its consumers before {action}")
