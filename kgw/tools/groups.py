"""`kgw groups list|describe|delete|reset-offsets`."""

import json
from collections import defaultdict

import click

from protocol import primitives as p
from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.messages import DELETE_GROUPS, LIST_GROUPS

from .client import Cluster, check
from ..cli_errors import ToolError, ToolGroup
from .command import bootstrap_option, format_option, table
from .completion import complete_groups, complete_topics
from .group_state import describe_group, require_no_members
from .offsets import (
    LATEST, NO_OFFSET, TopicPartition, commit, fetch_committed, list_offsets,
    offset_ranges,
)
from .positions import TimeType

CONSUMER_PROTOCOL = "consumer"
OFFSET_COLUMNS = ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                  "CONSUMER-ID", "HOST", "CLIENT-ID"]


@click.group(cls=ToolGroup)
def groups():
    """List, describe and delete consumer groups; reset their offsets."""


@groups.command("list")
@format_option
@bootstrap_option
def list_groups(fmt, bootstrap):
    """Print the id of every consumer group, one a line (json: an array of
    objects with each group's protocol type and, from brokers that say it,
    its state)."""
    found: dict[str, dict] = {}
    with Cluster(bootstrap) as cluster:
        # Each broker lists the groups it coordinates.
        for node in sorted(cluster.metadata([]).brokers):
            conn = cluster.node(node)
            body = conn.call(LIST_GROUPS, LIST_GROUPS.Request())
            check(body.error_code, f"listing the groups of broker {node}")
            for g in body.groups:
                found[g.group_id] = {"group": g.group_id, "protocol_type": g.protocol_type or None,
                                     "state": g.group_state if conn.version(LIST_GROUPS) >= 4 else None}
    if fmt == "json":
        click.echo(json.dumps([found[group] for group in sorted(found)]))
        return
    for group in sorted(found):
        click.echo(group)


@groups.command()
@click.argument("group_ids", metavar="GROUP...", nargs=-1, required=True, shell_complete=complete_groups)
@format_option
@bootstrap_option
def describe(group_ids, fmt, bootstrap):
    """Show state, members, committed offsets and lag of each GROUP, as
    kafka-consumer-groups.sh --describe does (json: an array of objects)."""
    with Cluster(bootstrap) as cluster:
        described = [_described(cluster, group) for group in group_ids]
    if fmt == "json":
        click.echo(json.dumps([_describe_json(d) for d in described]))
        return
    click.echo("\n\n".join(_describe_text(d) for d in described))


class _Described:
    """A group's state, members and offsets, as both outputs need them."""

    def __init__(self, group: str, described, rows: list):
        self.group = group
        self.state = described.group_state
        self.protocol = described.protocol_data
        self.protocol_type = described.protocol_type
        self.members = described.members
        self.rows = rows


def _described(cluster: Cluster, group: str) -> _Described:
    described = describe_group(cluster, group)
    committed = fetch_committed(cluster.coordinator(group), group, None)
    if described.group_state == "Dead" and not committed:
        raise ToolError(f"unknown group {group!r}")
    owners = {}
    rows = []
    for m in described.members:
        assigned = (_assigned_partitions(m.member_assignment)
                    if described.protocol_type == CONSUMER_PROTOCOL else [])
        for tp in assigned:
            owners[tp] = m
        if not assigned:
            rows.append((("", -1), [None, None, None, None, None, m.member_id, m.client_host,
                                    m.client_id]))
    ends = _end_offsets(cluster, set(committed) | set(owners))
    for tp in set(committed) | set(owners):
        current, end, m = committed.get(tp), ends.get(tp), owners.get(tp)
        lag = end - current if current is not None and end is not None else None
        rows.append((tp, [tp[0], tp[1], current, end, lag, m and m.member_id,
                          m and m.client_host, m and m.client_id]))
    return _Described(group, described, [row for _, row in sorted(rows, key=_row_order)])


def _describe_text(d: _Described) -> str:
    head = "\t".join([f"Group: {d.group}", f"State: {d.state}", f"Protocol: {d.protocol or '-'}",
                      f"Members: {len(d.members)}"])
    if not d.rows:
        return head
    return head + "\n\n" + table(OFFSET_COLUMNS, d.rows)


def _describe_json(d: _Described) -> dict:
    offsets = [dict(zip(("topic", "partition", "current_offset", "log_end_offset", "lag",
                         "consumer_id", "host", "client_id"), row)) for row in d.rows if row[0]]
    members = []
    for m in d.members:
        assigned = (_assigned_partitions(m.member_assignment)
                    if d.protocol_type == CONSUMER_PROTOCOL else [])
        members.append({"member_id": m.member_id, "client_id": m.client_id, "host": m.client_host,
                        "assignment": [{"topic": t, "partition": p} for t, p in assigned]})
    return {"group": d.group, "state": d.state, "protocol_type": d.protocol_type or None,
            "protocol": d.protocol or None, "members": members, "offsets": offsets}


def _row_order(item):
    (topic, partition), row = item
    return (topic == "", topic, partition, row[5] or "")


def _assigned_partitions(data: bytes) -> list[TopicPartition]:
    """The partitions in a consumer member's assignment (Kafka's
    ConsumerProtocolAssignment: version, then topics with their partitions).
    An assignment that does not parse is shown as none."""
    view = memoryview(data)
    try:
        _, pos = p.read_int16(view, 0)
        topics, pos = p.read_int32(view, pos)
        assigned = []
        for _ in range(max(topics, 0)):
            topic, pos = p.read_string(view, pos)
            count, pos = p.read_int32(view, pos)
            for _ in range(max(count, 0)):
                partition, pos = p.read_int32(view, pos)
                assigned.append((topic, partition))
    except DecodeError:
        return []
    return assigned


def _end_offsets(cluster: Cluster, partitions) -> dict[TopicPartition, int]:
    by_topic = defaultdict(list)
    for topic, partition in partitions:
        by_topic[topic].append(partition)
    if not by_topic:
        return {}
    meta = cluster.metadata(sorted(by_topic))
    ends = {}
    for topic, parts in by_topic.items():
        info = meta.topics.get(topic)
        if info is None or info.error_code != ErrorCode.NONE:
            continue  # deleted since the group committed: no end to show
        known = [q for q in parts if q in info.partitions]
        for partition, offset in list_offsets(cluster, info, known, LATEST).items():
            ends[topic, partition] = offset
    return ends


@groups.command()
@click.argument("group_ids", metavar="GROUP...", nargs=-1, required=True, shell_complete=complete_groups)
@bootstrap_option
def delete(group_ids, bootstrap):
    """Delete each GROUP and its committed offsets; it must have no members."""
    with Cluster(bootstrap) as cluster:
        for group in group_ids:
            body = cluster.coordinator(group).call(DELETE_GROUPS, DELETE_GROUPS.Request(
                groups_names=[group]))
            error = body.results[0].error_code
            if error == ErrorCode.GROUP_ID_NOT_FOUND:
                raise ToolError(f"unknown group {group!r}")
            if error == ErrorCode.NON_EMPTY_GROUP:
                raise ToolError(f"group {group!r} has members; stop its consumers first")
            check(error, f"cannot delete group {group!r}")
            click.echo(f"Deleted group {group}.")


def _topic_spec(ctx, param, values) -> list[tuple[str, list[int] | None]]:
    """TOPIC or TOPIC:P,P,... as kafka-consumer-groups takes them."""
    specs: list[tuple[str, list[int] | None]] = []
    for value in values:
        topic, sep, parts = value.partition(":")
        if not topic:
            raise click.BadParameter(f"{value!r} names no topic", ctx, param)
        if not sep:
            specs.append((topic, None))
            continue
        try:
            specs.append((topic, sorted({int(x) for x in parts.split(",")})))
        except ValueError:
            raise click.BadParameter(f"{value!r} is not TOPIC:PARTITION,...", ctx, param) from None
    return specs


@groups.command("reset-offsets")
@click.argument("group", shell_complete=complete_groups)
@click.option("-t", "--topic", "topic_specs", multiple=True, callback=_topic_spec,
              metavar="TOPIC[:P,...]", shell_complete=complete_topics,
              help="A topic (or some of its partitions); repeatable.")
@click.option("--all-topics", is_flag=True, help="Every topic the group has offsets for.")
@click.option("--to-earliest", is_flag=True, help="To the oldest record.")
@click.option("--to-latest", is_flag=True, help="To the end: only new records will be read.")
@click.option("--to-offset", type=click.IntRange(0), default=None,
              help="To this offset (kept within each partition's offsets).")
@click.option("--to-timestamp", type=TimeType(), default=None,
              help="To the first record at or after TIME: milliseconds since the epoch, ISO 8601 "
                   "(local time without an offset) or a time ago (-1h, -2d).")
@click.option("--dry-run", is_flag=True, help="Show the new offsets without committing them.")
@bootstrap_option
def reset_offsets(group, topic_specs, all_topics, to_earliest, to_latest, to_offset,
                  to_timestamp, dry_run, bootstrap):
    """Move GROUP's committed offsets.  The group must have no members:
    a running consumer would overwrite them."""
    targets = [to_earliest, to_latest, to_offset is not None, to_timestamp is not None]
    if sum(targets) != 1:
        raise click.UsageError(
            "use exactly one of --to-earliest, --to-latest, --to-offset and --to-timestamp")
    if bool(topic_specs) == all_topics:
        raise click.UsageError("name the topics with --topic, or use --all-topics")
    with Cluster(bootstrap) as cluster:
        require_no_members(cluster, group, "resetting its offsets")
        conn = cluster.coordinator(group)
        if all_topics:
            by_topic = defaultdict(list)
            for topic, partition in fetch_committed(conn, group, None):
                by_topic[topic].append(partition)
            if not by_topic:
                raise ToolError(f"group {group!r} has no committed offsets; name the topics "
                                "with --topic")
            topic_specs = list(by_topic.items())
        meta = cluster.metadata(sorted({topic for topic, _ in topic_specs}))
        new = {}
        for topic, parts in topic_specs:
            info = meta.topic(topic)
            parts = list(info.partitions) if parts is None else parts
            for q in parts:
                if q not in info.partitions:
                    raise ToolError(f"topic {topic!r} has no partition {q} "
                                    f"(it has {len(info.partitions)})")
            ranges = offset_ranges(cluster, info, parts)
            if to_timestamp is not None:
                found = list_offsets(cluster, info, parts, to_timestamp)
            for q in parts:
                start, end = ranges[q]
                if to_earliest:
                    offset = start
                elif to_latest:
                    offset = end
                elif to_offset is not None:
                    offset = min(max(to_offset, start), end)
                else:
                    offset = end if found[q] == NO_OFFSET else found[q]
                new[topic, q] = offset
        if not dry_run:
            commit(conn, group, new)
    click.echo(table(["TOPIC", "PARTITION", "NEW-OFFSET"],
                     [[t, q, o] for (t, q), o in sorted(new.items())]))
