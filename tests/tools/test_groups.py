"""`kgw groups` against a live kgw."""

import json
import struct

import pytest

from kgw.tools.client import Connection
from kgw.tools.command import parse_address, table
from protocol.error_codes import ErrorCode
from protocol.messages import JOIN_GROUP, LEAVE_GROUP, SYNC_GROUP

HEADER = ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
          "CLIENT-ID"]


def _string(s: str) -> bytes:
    return struct.pack(">h", len(s)) + s.encode()


def _assignment(topic: str, partitions: list[int]) -> bytes:
    """Kafka's ConsumerProtocolAssignment v0, written out by hand."""
    return (struct.pack(">hi", 0, 1) + _string(topic) + struct.pack(">i", len(partitions))
            + b"".join(struct.pack(">i", p) for p in partitions) + struct.pack(">i", -1))


class Member:
    """A consumer-group member driven by hand: joined, synced, then silent."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: list[int]):
        self.group = group
        self.conn = Connection(*parse_address(bootstrap))
        subscription = struct.pack(">hi", 0, 1) + _string(topic) + struct.pack(">i", -1)
        request = JOIN_GROUP.Request(
            group_id=group, session_timeout_ms=60_000, rebalance_timeout_ms=60_000, member_id="",
            protocol_type="consumer", protocols=[JOIN_GROUP.Request.JoinGroupRequestProtocol(
                name="range", metadata=subscription)])
        joined = self.conn.call(JOIN_GROUP, request)
        if joined.error_code == ErrorCode.MEMBER_ID_REQUIRED:
            request.member_id = joined.member_id
            joined = self.conn.call(JOIN_GROUP, request)
        assert joined.error_code == ErrorCode.NONE
        self.member_id = joined.member_id
        synced = self.conn.call(SYNC_GROUP, SYNC_GROUP.Request(
            group_id=group, generation_id=joined.generation_id, member_id=self.member_id,
            protocol_type="consumer", protocol_name="range",
            assignments=[SYNC_GROUP.Request.SyncGroupRequestAssignment(
                member_id=self.member_id, assignment=_assignment(topic, partitions))]))
        assert synced.error_code == ErrorCode.NONE

    def leave(self):
        self.conn.call(LEAVE_GROUP, LEAVE_GROUP.Request(
            group_id=self.group, member_id=self.member_id,
            members=[LEAVE_GROUP.Request.MemberIdentity(member_id=self.member_id)]))
        self.conn.close()


@pytest.fixture
def group(topic):
    return f"{topic}-group"


def test_table_aligns_columns():
    assert table(["A", "LONGER"], [["xyz", 1], [None, "b"]]) == (
        "A    LONGER\n"
        "xyz  1\n"
        "-    b")


def test_list_and_describe_an_empty_group(kgw, topic, group):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="a\nb\nc\n")
    kgw("produce", topic, "-p", 1, input="x\n")
    kgw("consume", topic, "-g", group, "--from-beginning", "-p", 0, "--count", 1)
    listed = kgw("groups", "list")
    assert listed.exit_code == 0
    assert group in listed.stdout.splitlines()
    assert listed.stdout.splitlines() == sorted(listed.stdout.splitlines())
    described = kgw("groups", "describe", group)
    assert (described.exit_code, described.stderr) == (0, "")
    assert described.stdout == (
        f"Group: {group}\tState: Empty\tProtocol: -\tMembers: 0\n\n"
        + table(HEADER, [[topic, 0, 1, 3, 2, None, None, None]]) + "\n")


def test_describe_a_group_with_a_member(kgw, broker, topic, group):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 1, input="a\nb\n")
    member = Member(broker.bootstrap, group, topic, [0, 1])
    try:
        described = kgw("groups", "describe", group)
        assert described.stdout == (
            f"Group: {group}\tState: Stable\tProtocol: range\tMembers: 1\n\n"
            + table(HEADER, [[topic, 0, None, 0, None, member.member_id, "/127.0.0.1", "kgw-cli"],
                             [topic, 1, None, 2, None, member.member_id, "/127.0.0.1", "kgw-cli"]])
            + "\n")
    finally:
        member.leave()


def test_reset_delete_and_consume_are_refused_while_the_group_has_members(kgw, broker, topic, group):
    kgw("topics", "create", topic)
    member = Member(broker.bootstrap, group, topic, [0])
    try:
        reset = kgw("groups", "reset-offsets", group, "--topic", topic, "--to-earliest")
        assert (reset.exit_code, reset.stdout, reset.stderr) == (
            1, "", f"Error: group '{group}' is Stable with 1 member(s); stop its consumers "
                   "before resetting its offsets\n")
        delete = kgw("groups", "delete", group)
        assert (delete.exit_code, delete.stdout, delete.stderr) == (
            1, "", f"Error: group '{group}' has members; stop its consumers first\n")
        consume = kgw("consume", topic, "--group", group)
        assert (consume.exit_code, consume.stdout, consume.stderr) == (
            1, "", f"Error: group '{group}' is Stable with 1 member(s); stop its consumers "
                   "before consuming with it\n")
    finally:
        member.leave()
    reset = kgw("groups", "reset-offsets", group, "--topic", topic, "--to-earliest")
    assert (reset.exit_code, reset.stdout) == (0, table(["TOPIC", "PARTITION", "NEW-OFFSET"],
                                                        [[topic, 0, 0]]) + "\n")


def test_reset_offsets_every_way(kgw, topic, group):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="a\nb\nc\nd\n")
    kgw("produce", topic, "-p", 1, input="x\n")
    kgw("consume", topic, "-g", group, "--from-beginning")  # commits 4 and 1

    def reset(*args):
        result = kgw("groups", "reset-offsets", group, *args)
        assert result.exit_code == 0, result.stderr
        return [line.split() for line in result.stdout.splitlines()[1:]]

    assert reset("--all-topics", "--to-earliest") == [[topic, "0", "0"], [topic, "1", "0"]]
    assert kgw("consume", topic, "-g", group, "-p", 0, "--count", 1).stdout == "a\n"
    assert reset("--topic", f"{topic}:0", "--to-offset", 2) == [[topic, "0", "2"]]
    assert kgw("consume", topic, "-g", group, "-p", 0, "--count", 1).stdout == "c\n"
    # Offsets beyond the log are kept within it, as Kafka's tool does.
    assert reset("--topic", topic, "--to-offset", 99) == [[topic, "0", "4"], [topic, "1", "1"]]
    assert reset("--topic", topic, "--to-latest", "--dry-run") == [[topic, "0", "4"], [topic, "1", "1"]]
    assert reset("--topic", topic, "--to-timestamp", 0) == [[topic, "0", "0"], [topic, "1", "0"]]
    assert reset("--topic", topic, "--to-timestamp", 2**62) == [[topic, "0", "4"], [topic, "1", "1"]]
    # A dry run commits nothing.
    reset("--topic", topic, "--to-earliest", "--dry-run")
    described = kgw("groups", "describe", group).stdout
    assert described.splitlines()[3].split()[:5] == [topic, "0", "4", "4", "0"]


def test_reset_offsets_argument_errors(kgw, topic, group):
    kgw("topics", "create", topic)
    cases = [
        (["--topic", topic], "use exactly one of --to-earliest, --to-latest, --to-offset and "
                             "--to-timestamp"),
        (["--to-earliest"], "name the topics with --topic, or use --all-topics"),
        (["--topic", f"{topic}:x", "--to-earliest"],
         f"Invalid value for '-t' / '--topic': '{topic}:x' is not TOPIC:PARTITION,..."),
    ]
    for args, message in cases:
        result = kgw("groups", "reset-offsets", group, *args)
        assert (result.exit_code, result.stderr) == (
            2, f"Error: {message} (see 'kgw groups reset-offsets --help')\n")
    result = kgw("groups", "reset-offsets", group, "--all-topics", "--to-earliest")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: group '{group}' has no committed offsets; name the topics with --topic\n")
    result = kgw("groups", "reset-offsets", group, "--topic", f"{topic}:3", "--to-earliest")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: topic '{topic}' has no partition 3 (it has 1)\n")


def test_delete(kgw, topic, group):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\n")
    kgw("consume", topic, "-g", group, "--from-beginning")
    deleted = kgw("groups", "delete", group)
    assert (deleted.exit_code, deleted.stdout) == (0, f"Deleted group {group}.\n")
    assert group not in kgw("groups", "list").stdout.splitlines()
    again = kgw("groups", "delete", group)
    assert (again.exit_code, again.stderr) == (1, f"Error: unknown group '{group}'\n")


def test_describe_unknown_group(kgw, group):
    result = kgw("groups", "describe", group)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", f"Error: unknown group '{group}'\n")


def test_list_and_describe_as_json(kgw, broker, topic, group):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="a\nb\nc\n")
    kgw("consume", topic, "-g", group, "--from-beginning", "-p", 0, "--count", 1)
    listed = json.loads(kgw("groups", "list", "--format", "json").stdout)
    assert {"group": group, "protocol_type": None, "state": "Empty"} in listed
    described = json.loads(kgw("groups", "describe", group, "--format", "json").stdout)
    assert described == [{"group": group, "state": "Empty", "protocol_type": None, "protocol": None,
                          "members": [], "offsets": [
                              {"topic": topic, "partition": 0, "current_offset": 1, "log_end_offset": 3,
                               "lag": 2, "consumer_id": None, "host": None, "client_id": None}]}]
    member = Member(broker.bootstrap, f"{group}-live", topic, [0, 1])
    try:
        (live,) = json.loads(kgw("groups", "describe", f"{group}-live", "--format", "json").stdout)
    finally:
        member.leave()
    assert (live["state"], live["protocol_type"], live["protocol"]) == ("Stable", "consumer", "range")
    assert live["members"] == [{"member_id": member.member_id, "client_id": "kgw-cli", "host": "/127.0.0.1",
                                "assignment": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]}]
    assert [(o["partition"], o["current_offset"], o["consumer_id"]) for o in live["offsets"]] == [
        (0, None, member.member_id), (1, None, member.member_id)]
