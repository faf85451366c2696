"""`kgw produce TOPIC`: one record per line of stdin."""

import sys
import time
from collections import defaultdict

import click

from protocol.compression import Codec
from protocol.messages import PRODUCE
from protocol.records import Record, build_batch

from .client import Cluster, TopicInfo, check
from ..cli_errors import ToolCommand, ToolError
from .command import bootstrap_option, key_value
from .partitioner import Partitioner

READ_SIZE = 64 * 1024
REQUEST_TIMEOUT_MS = 30_000
ACKS = {"all": -1, "-1": -1, "0": 0, "1": 1}
# The first Produce version that carries RecordBatch v2 (message format 2).
MIN_PRODUCE_VERSION = 3


@click.command(cls=ToolCommand)
@click.argument("topic")
@click.option("-k", "--key-separator", default=None, metavar="SEP",
              help="Split each line at the first SEP into key and value.  [default: no key]")
@click.option("-H", "--header", "headers", multiple=True, callback=key_value, metavar="KEY=VALUE",
              help="A header for every record; repeatable.")
@click.option("-p", "--partition", type=click.IntRange(0), default=None,
              help="Write every record to this partition.  [default: by key, as the Java "
                   "client does; records without a key in turn]")
@click.option("--acks", type=click.Choice(list(ACKS)), default="all", show_default=True,
              help="How many replicas must have a record before it is acknowledged.")
@click.option("-z", "--compression", type=click.Choice([c.name.lower() for c in Codec]),
              default="none", show_default=True)
@bootstrap_option
def produce(topic, key_separator, headers, partition, acks, compression, bootstrap):
    """Write each line of stdin to TOPIC as one record.

    Lines are sent as they arrive, so the command works at a terminal and at
    the end of a pipe alike; it ends at end of input.  The topic must exist.
    """
    if key_separator == "":
        raise click.BadParameter("must not be empty", param_hint="'--key-separator'")
    separator = key_separator.encode() if key_separator is not None else None
    header_bytes = [(k, v.encode()) for k, v in headers]
    codec = Codec[compression.upper()]
    stdin = sys.stdin.buffer
    with Cluster(bootstrap) as cluster:
        info = cluster.metadata([topic]).topic(topic)
        if partition is not None and partition not in info.partitions:
            raise ToolError(f"topic {topic!r} has no partition {partition} "
                            f"(it has {len(info.partitions)})")
        choose = Partitioner(len(info.partitions), partition)
        line_number = 0
        for lines in _line_chunks(stdin):
            by_partition: defaultdict[int, list] = defaultdict(list)
            now = int(time.time() * 1000)
            for line in lines:
                line_number += 1
                key, value = _split(line, separator, line_number)
                records = by_partition[choose(key)]
                records.append(Record(len(records), now, key, value, header_bytes))
            _send(cluster, info, by_partition, ACKS[acks], codec)


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


def _split(line: bytes, separator: bytes | None, number: int):
    if separator is None:
        return None, line
    key, found, value = line.partition(separator)
    if not found:
        raise ToolError(f"line {number} has no key separator {separator.decode()!r}")
    return key, value


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
