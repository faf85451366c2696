"""`kgw produce TOPIC`: one record per line of stdin (or of a file)."""

import time
from collections import defaultdict

import click

from protocol.compression import Codec
from protocol.messages import PRODUCE
from protocol.records import Record, build_batch

from ..cli_errors import ToolCommand, ToolError
from . import byte_formats
from .byte_formats import FORMATS, BadInput
from .client import Cluster, TopicInfo, check
from .command import bootstrap_option, key_value
from .completion import complete_topics
from .partitioner import Partitioner

READ_SIZE = 64 * 1024
REQUEST_TIMEOUT_MS = 30_000
ACKS = {"all": -1, "-1": -1, "0": 0, "1": 1}
# The first Produce version that carries RecordBatch v2 (message format 2).
MIN_PRODUCE_VERSION = 3


@click.command(cls=ToolCommand)
@click.argument("topic", shell_complete=complete_topics)
@click.option("-k", "--key-separator", default=None, metavar="SEP",
              help="Split each line at the first SEP into key and value.  [default: no key]")
@click.option("-K", "--key", "fixed_key", default=None, metavar="KEY",
              help="The key of every record (in --key-format).")
@click.option("-H", "--header", "headers", multiple=True, callback=key_value, metavar="KEY=VALUE",
              help="A header for every record; repeatable.")
@click.option("-p", "--partition", type=click.IntRange(0), default=None,
              help="Write every record to this partition.  [default: by key, as the Java "
                   "client does; records without a key in turn]")
@click.option("--acks", type=click.Choice(list(ACKS)), default="all", show_default=True,
              help="How many replicas must have a record before it is acknowledged.")
@click.option("-z", "--compression", type=click.Choice([c.name.lower() for c in Codec]),
              default="none", show_default=True)
@click.option("--file", "path", type=click.File("rb"), default="-", show_default="stdin",
              help="Read the lines from this file.")
@click.option("--key-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How keys are written in the input: as they are, hex, base64, or json (checked).")
@click.option("--value-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How values are written in the input: as they are, hex, base64 (for binary "
                   "values), or json (checked).")
@click.option("--skip-bad-lines", is_flag=True,
              help="Skip a line without the key separator, or not in its format, with a warning "
                   "on stderr.  [default: stop there]")
@click.option("--create/--no-create", default=True, show_default=True,
              help="Ask the broker to create a missing topic, as producer clients do "
                   "(if its auto.create.topics.enable allows).")
@bootstrap_option
def produce(topic, key_separator, fixed_key, headers, partition, acks, compression, path, key_format,
            value_format, skip_bad_lines, create, bootstrap):
    """Write each line of stdin (or --file) to TOPIC as one record.

    Lines are sent as they arrive, so the command works at a terminal and at
    the end of a pipe alike; it ends at end of input.  A line that cannot
    be read stops it after the lines before it were written (or is skipped,
    with --skip-bad-lines).
    """
    if key_separator == "":
        raise click.BadParameter("must not be empty", param_hint="'--key-separator'")
    if key_separator is not None and fixed_key is not None:
        raise click.UsageError("use --key-separator or --key, not both")
    try:
        key = None if fixed_key is None else byte_formats.parse(fixed_key.encode(), key_format)
    except BadInput as exc:
        raise click.BadParameter(f"{fixed_key!r} is {exc} (--key-format {key_format})",
                                 param_hint="'-K' / '--key'") from None
    lines = _Lines(key_separator.encode() if key_separator is not None else None, key,
                   key_format, value_format)
    header_bytes = [(k, v.encode()) for k, v in headers]
    codec = Codec[compression.upper()]
    with Cluster(bootstrap) as cluster:
        info = cluster.metadata([topic], create=create).topic(topic, creation_asked=create)
        if partition is not None and partition not in info.partitions:
            raise ToolError(f"topic {topic!r} has no partition {partition} "
                            f"(it has {len(info.partitions)})")
        choose = Partitioner(len(info.partitions), partition)
        written = 0
        for chunk in _line_chunks(path):
            by_partition: defaultdict[int, list] = defaultdict(list)
            now = int(time.time() * 1000)
            bad = None
            for line in chunk:
                try:
                    record_key, value = lines.read(line)
                except BadInput as exc:
                    if not skip_bad_lines:
                        bad = exc
                        break
                    click.echo(f"Warning: {exc}; skipped", err=True)
                    continue
                records = by_partition[choose(record_key)]
                records.append(Record(len(records), now, record_key, value, header_bytes))
            if by_partition:
                _send(cluster, info, by_partition, ACKS[acks], codec)
                written += sum(len(records) for records in by_partition.values())
            if bad is not None:
                raise ToolError(f"{bad} ({_written(written)} before it)")


def _written(count: int) -> str:
    if count == 1:
        return "1 record was written"
    return f"{count or 'no'} records were written"


class _Lines:
    """Turns input lines into (key, value), numbering them for errors."""

    def __init__(self, separator: bytes | None, key: bytes | None, key_format: str, value_format: str):
        self.separator = separator
        self.key = key
        self.key_format = key_format
        self.value_format = value_format
        self.number = 0

    def read(self, line: bytes) -> tuple[bytes | None, bytes]:
        self.number += 1
        key = self.key
        if self.separator is not None:
            key, found, line = line.partition(self.separator)
            if not found:
                raise BadInput(f"line {self.number} has no key separator {self.separator.decode()!r}")
            key = self._parse(key, self.key_format, "key")
        return key, self._parse(line, self.value_format, "value")

    def _parse(self, data: bytes, fmt: str, what: str) -> bytes:
        try:
            return byte_formats.parse(data, fmt)
        except BadInput as exc:
            raise BadInput(f"line {self.number}'s {what} is {exc} (--{what}-format {fmt})") from None


def _line_chunks(stream):
    """The complete lines of each read from `stream`, without their line ends.

    One read returns what is available (one line typed at a terminal, up to
    READ_SIZE from a pipe), so each read becomes one request.
    """
    read = getattr(stream, "read1", stream.read)
    pending = b""
    while True:
        data = read(READ_SIZE)
        if not data:
            break
        *lines, pending = (pending + data).split(b"\n")
        if lines:
            yield [line.removesuffix(b"\r") for line in lines]
    if pending:
        yield [pending.removesuffix(b"\r")]


def _send(cluster: Cluster, info: TopicInfo, by_partition: dict[int, list[Record]], acks: int,
          codec: Codec) -> None:
    by_leader = defaultdict(list)
    for p, records in sorted(by_partition.items()):
        by_leader[cluster.leader(info, p)].append(
            PRODUCE.Request.TopicProduceData.PartitionProduceData(
                index=p, records=build_batch(records, codec=codec)))
    for leader, partition_data in by_leader.items():
        request = PRODUCE.Request(acks=acks, timeout_ms=REQUEST_TIMEOUT_MS, topic_data=[
            PRODUCE.Request.TopicProduceData(name=info.name, partition_data=partition_data)])
        conn = cluster.node(leader)
        version = conn.version(PRODUCE, MIN_PRODUCE_VERSION)
        if acks == 0:
            conn.send(PRODUCE, request, version)
            continue
        body = conn.call(PRODUCE, request, version)
        for t in body.responses:
            for p in t.partition_responses:
                check(p.error_code, f"cannot write to partition {p.index} of {t.name!r}",
                      p.error_message)
