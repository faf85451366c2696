"""`kgw consume TOPIC`: print records, from wherever the user asks to start."""

import contextlib
import signal
import sys
import threading
import time

import click

from ..cli_errors import ToolCommand, ToolError, stdout_closed
from .byte_formats import FORMATS
from .client import Cluster
from .command import bootstrap_option, progress
from .completion import complete_groups, complete_topics
from .fetcher import Reader
from .group_state import require_no_members
from .offsets import NO_OFFSET, READ_COMMITTED, READ_UNCOMMITTED, fetch_committed, list_offsets, offset_ranges
from .positions import OffsetType, TimeType, start_offset
from .record_output import JsonOutput, Rendering, TemplateOutput, TextOutput

# A long poll short enough that --timeout and Ctrl-C are honoured promptly.
FETCH_WAIT_MS = 500
INTERRUPTED = 130


def _output_format(ctx, param, value: str) -> str:
    if value not in ("text", "json") and "%" not in value:
        raise click.BadParameter(f"{value!r} is not text, json or a template with %-tokens "
                                 "(such as '%k %s\\n')")
    return value


@click.command(cls=ToolCommand)
@click.argument("topic", shell_complete=complete_topics)
@click.option("-p", "--partition", "partitions", multiple=True, type=click.IntRange(0),
              help="Read only this partition; repeatable.  [default: all]")
@click.option("--from-beginning", is_flag=True,
              help="Start at the oldest record (with --group: where the group has no committed offset).")
@click.option("-o", "--offset", type=OffsetType(), default=None,
              help="Start at this offset in each partition read; negative: that many records "
                   "before the end (-5: the last five).")
@click.option("--from-timestamp", type=TimeType(), default=None,
              help="Start at the first record at or after TIME: milliseconds since the epoch, "
                   "ISO 8601 (2024-05-01T12:00:00Z; local time without an offset) or a time ago "
                   "(-30s, -15m, -1h, -2d).")
@click.option("--auto-offset-reset", type=click.Choice(["earliest", "latest"]), default=None,
              help="Where a partition without a committed offset starts (with --group), as Kafka's "
                   "auto.offset.reset.  [default: latest]")
@click.option("-g", "--group", default=None, shell_complete=complete_groups,
              help="Start where GROUP's committed offsets say, and commit what is printed.")
@click.option("-f", "--format", "fmt", default="text", show_default=True, callback=_output_format,
              metavar="text|json|TEMPLATE",
              help="text: the value of each record (and what --print-* add); json: one object per "
                   "record; TEMPLATE: as kcat's -f, e.g. '%t/%p@%o %k=%s\\n' (%t topic, %p partition, "
                   "%o offset, %T timestamp, %k key, %s or %v value, %K/%S their lengths, %h headers).")
@click.option("--print-key", is_flag=True, help="text: print the key before the value.")
@click.option("--print-timestamp", is_flag=True, help="text: print CreateTime:MS (or LogAppendTime:MS) first.")
@click.option("--print-partition", is_flag=True, help="text: print Partition:N.")
@click.option("--print-offset", is_flag=True, help="text: print Offset:N.")
@click.option("--print-headers", is_flag=True, help="text: print the headers, k:v,k:v (NO_HEADERS if none).")
@click.option("--key-separator", default="\t", show_default=r"\t",
              help="text: what separates the fields --print-* add.")
@click.option("--null-literal", default="(null)", show_default=True,
              help="text and templates: what a null key or value prints as, so that it differs "
                   "from the string 'null'.")
@click.option("--key-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How keys are printed: as they are, hex, base64, or json (one line).")
@click.option("--value-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How values are printed: as they are, hex, base64, or json (one line).")
@click.option("-n", "--count", type=click.IntRange(1), default=None,
              help="Stop after N records, waiting for them as long as it takes.")
@click.option("-F", "--follow", is_flag=True, help="Keep waiting for new records.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="SECONDS",
              help="Fail if --count records (or the end) have not been read in this time.")
@click.option("--isolation-level", type=click.Choice(["read_uncommitted", "read_committed"]),
              default="read_uncommitted", show_default=True,
              help="read_committed: only records of committed transactions, up to the last "
                   "stable offset.")
@bootstrap_option
def consume(topic, partitions, from_beginning, offset, from_timestamp, auto_offset_reset, group, fmt,
            print_key, print_timestamp, print_partition, print_offset, print_headers, key_separator,
            null_literal, key_format, value_format, count, follow, timeout, isolation_level, bootstrap):
    """Print the records of TOPIC.

    Starts at the end (only records written from now on) unless told
    otherwise, as Kafka's console consumer does; with --group, partitions
    the group has committed offsets for start there, and only what was
    printed is committed.  Without --count or --follow it stops at the end
    of the partitions as they were when it started (their last stable
    offset with read_committed).  A reader that goes away (| head) ends it
    quietly.
    """
    starts = [from_beginning, offset is not None, from_timestamp is not None,
              auto_offset_reset is not None]
    if sum(starts) > 1:
        raise click.UsageError("use only one of --from-beginning, --offset, --from-timestamp "
                               "and --auto-offset-reset")
    if timeout is not None and follow and count is None:
        raise click.UsageError("--timeout needs an end: --count, or no --follow")
    rendering = Rendering(key_format, value_format, null_literal.encode())
    try:
        write = _output(fmt, rendering, key_separator.encode(), print_timestamp, print_partition,
                        print_offset, print_headers, print_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'-f' / '--format'") from None
    deadline = None if timeout is None else time.monotonic() + timeout
    isolation = READ_COMMITTED if isolation_level == "read_committed" else READ_UNCOMMITTED
    with Cluster(bootstrap) as cluster:
        info = cluster.metadata([topic]).topic(topic)
        wanted = sorted(set(partitions)) or list(info.partitions)
        for p in wanted:
            if p not in info.partitions:
                raise ToolError(f"topic {topic!r} has no partition {p} "
                                f"(it has {len(info.partitions)})")
        ranges = offset_ranges(cluster, info, wanted, isolation)
        committed = {}
        if group is not None:
            # Commits from outside a group are refused while it has members.
            require_no_members(cluster, group, "consuming with it")
            committed = {p: o for (t, p), o in fetch_committed(
                cluster.coordinator(group), group, {topic: wanted}).items() if t == topic}
        reset = "earliest" if from_beginning else auto_offset_reset
        positions = _start_positions(cluster, info, wanted, ranges, committed, reset, offset,
                                     from_timestamp)
        # Partitions that began at the end only because nothing said where:
        # the likeliest reason for a wait that ends in a timeout.
        at_end_by_default = [p for p in wanted if p not in committed and not any(starts)]
        ends = None if follow or count is not None else {p: ranges[p][1] for p in wanted}
        reader = Reader(cluster, info, positions, group, committed, isolation)
        try:
            _run(reader, sys.stdout.buffer, write, topic, ends, count, deadline,
                 _timeout_hint(group, at_end_by_default))
        except KeyboardInterrupt:
            reader.commit()
            click.get_current_context().exit(INTERRUPTED)
        except BrokenPipeError:
            reader.commit()
            raise stdout_closed() from None
        reader.commit()


def _output(fmt: str, rendering: Rendering, separator: bytes, timestamp: bool, partition: bool,
            offset: bool, headers: bool, key: bool):
    if fmt == "json":
        return JsonOutput(rendering)
    if fmt == "text":
        return TextOutput(rendering, separator, timestamp, partition, offset, headers, key)
    return TemplateOutput(fmt, rendering)


def _start_positions(cluster, info, wanted, ranges, committed, reset, offset,
                     from_timestamp) -> dict[int, int]:
    """Per partition: the group's committed offset, else where --offset,
    --from-timestamp or the reset policy (earliest, or latest by default)
    say."""
    positions = {}
    for p in wanted:
        start, end = ranges[p]
        if p in committed:
            # Retention may have deleted past a group's offset; Kafka's
            # consumer then resets it, here to the nearest valid offset.
            positions[p] = min(max(committed[p], start), end)
        elif offset is not None:
            at = start_offset(offset, start, end)
            if not start <= at <= end:
                held = f"offsets {start} to {end - 1}" if end > start else "no record"
                raise ToolError(f"offset {offset} is outside partition {p} of {info.name!r}, "
                                f"which holds {held} (its next offset is {end})")
            positions[p] = at
        elif reset == "earliest":
            positions[p] = start
        else:
            positions[p] = end
    if from_timestamp is not None:
        pending = [p for p in wanted if p not in committed]
        found = list_offsets(cluster, info, pending, from_timestamp) if pending else {}
        for p, at in found.items():
            positions[p] = ranges[p][1] if at == NO_OFFSET else at
    return positions


def _timeout_hint(group: str | None, at_end: list[int]) -> str:
    if not at_end:
        return ""
    if group is None:
        return "; it started at the end of the topic (--from-beginning reads what it holds)"
    which = ", ".join(map(str, at_end))
    return (f"; group {group!r} had no committed offset for partition{'s' if len(at_end) > 1 else ''} "
            f"{which} and started at the end, as Kafka's consumer does by default "
            "(--auto-offset-reset earliest starts at the beginning)")


def _run(reader: Reader, out, write, topic: str, ends: dict[int, int] | None,
         count: int | None, deadline: float | None, hint: str) -> None:
    printed = 0
    if ends is not None:
        active = {p for p, pos in reader.positions.items() if pos < ends[p]}
        total: int | None = sum(ends[p] - reader.positions[p] for p in active)
    else:
        active = set(reader.positions)
        total = count
    with progress(total, topic) as bar:
        while active and (count is None or printed < count):
            wait_ms = FETCH_WAIT_MS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    reader.commit()
                    if count is not None:
                        wanted = f"{printed} of {count} records{hint if printed < count else ''}"
                    else:
                        wanted = f"{printed} records, before the end"
                    raise ToolError(f"timed out with {wanted}")
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            for p, batches in reader.fetch(sorted(active), wait_ms):
                before = reader.positions[p]
                limit = None if count is None else count - printed
                end = None if ends is None else ends[p]
                output, after, taken = _take(batches, before, limit, end, topic, p, write)
                with _interrupts_held():
                    # The position moves once the output is out: a reader
                    # that went away (BrokenPipeError) has not seen it.
                    out.write(output)
                    out.flush()
                    reader.positions[p] = after
                printed += taken
                if count is not None:
                    bar.update(taken)
                if ends is not None:
                    bar.update(min(after, ends[p]) - min(before, ends[p]))
                    if after >= ends[p]:
                        active.discard(p)
                if count is not None and printed == count:
                    break
            reader.commit()


def _take(batches, position: int, limit: int | None, end: int | None, topic: str,
          partition: int, write):
    """(the output for up to `limit` records below offset `end`, the position
    after them, how many)."""
    lines: list[bytes] = []
    for records, batch_end, timestamp_type in batches:
        for record in records:
            full = limit is not None and len(lines) == limit
            if full or (end is not None and record.offset >= end):
                return b"".join(lines), position, len(lines)
            lines.append(write(topic, partition, record, timestamp_type))
            position = record.offset + 1
        position = max(position, batch_end if end is None else min(batch_end, end))
    return b"".join(lines), position, len(lines)


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C waits while records are printed and their position moves, so a
    record printed is a record counted, and committed with --group.  Only
    the main thread receives signals, so only it needs to hold them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
