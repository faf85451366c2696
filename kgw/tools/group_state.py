"""A consumer group's state, as the tools that change its offsets need it."""

from protocol.error_codes import ErrorCode
from protocol.messages import DESCRIBE_GROUPS

from .client import Connection, check
from ..cli_errors import ToolError

# The states in which a group has no members.  Kafka's kafka-consumer-groups
# changes offsets only then: a running member would overwrite them.
INACTIVE = ("Empty", "Dead")


def describe_group(conn: Connection, group: str):
    """DescribeGroups' answer for `group` (an unknown group is Dead, as Kafka has it)."""
    body = conn.call(DESCRIBE_GROUPS, DESCRIBE_GROUPS.Request(groups=[group]))
    described = body.groups[0]
    if described.error_code == ErrorCode.GROUP_ID_NOT_FOUND:
        raise ToolError(f"unknown group {group!r}")
    check(described.error_code, f"describing group {group!r}")
    return described


def require_no_members(conn: Connection, group: str, action: str) -> None:
    """ToolError unless `group` is Empty or Dead."""
    described = describe_group(conn, group)
    if described.group_state not in INACTIVE:
        raise ToolError(f"group {group!r} is {described.group_state} with "
                        f"{len(described.members)} member(s); stop its consumers before {action}")
