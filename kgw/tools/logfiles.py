"""`kgw log dump|check`: kgw's files read offline, no broker needed."""

from pathlib import Path

import click

from kgw.log.topic import META_DIR

from ..cli_errors import ToolError, ToolGroup
from .command import progress
from .data_check import DataDirCheck
from .segment_dump import SegmentDump, segment_files


@click.group("log", cls=ToolGroup)
def log():
    """Read segment files and data directories offline."""


@log.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--records/--no-records", default=True, show_default=True,
              help="Decode and print each batch's records.")
def dump(path, records):
    """Print the batches (and records) of a segment file, or of every segment
    of a partition directory: offsets, timestamps, codec, CRC status.

    Exits non-zero if it met a problem; the problems are printed in place.
    """
    files = segment_files(path)
    if not files:
        raise ToolError(f"{path} holds no segment file (<20-digit offset>.log)")
    dumper = SegmentDump(click.echo, records)
    for file in files:
        dumper.dump(file)
    if dumper.problems:
        raise ToolError(f"{dumper.problems} problem(s) in {path}")


@log.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(data_dir):
    """Validate a data directory: topic metadata, and in every partition the
    framing, CRC-32Cs and dense offsets of each segment and its indexes.

    Prints each problem and exits non-zero if there is any.  It only reads,
    so it may run beside a broker; the newest writes may then look torn.
    """
    if not (data_dir / META_DIR).is_dir():
        raise ToolError(f"{data_dir} is not a kgw data directory (it has no {META_DIR}/)")
    checker = DataDirCheck(data_dir, click.echo)
    total = checker.plan()
    with progress(total, "checking", stdout_busy=False) as bar:
        totals = checker.run(bar.update)
    outcome = f"{totals.problems} problem(s)" if totals.problems else "no problems"
    click.echo(f"checked {totals.topics} topic(s), {totals.partitions} partition(s), "
               f"{totals.segments} segment(s), {totals.batches} batch(es), {totals.bytes} bytes: "
               f"{outcome}")
    if totals.problems:
        raise ToolError(f"{totals.problems} problem(s) in {data_dir}")
