"""Start-up time after an unclean stop with a 1 GiB active segment, and after a clean one.

Run: .venv/bin/python bench/log_recovery.py [--dir DIR] [--mib N]

A child process appends N MiB (default 1023, just under the 1 GiB default
segment.bytes, so it is all one active segment) of 16 KiB batches and exits
with os._exit: no flush, no clean-shutdown marker, as after kill -9.  Then
LogManager.open() is timed: it re-validates the whole segment (framing,
offsets, CRC-32C of every batch) and rebuilds its indexes.  For comparison
open() is timed again after a clean close.  With root, the page cache is
also dropped first for a cold-cache figure.  Printed, never asserted.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from log_common import MIB, scratch_dir

from kgw.log import LogManager

CHILD = """
import os, sys
sys.path.insert(0, {bench!r})
from log_common import batch_of
from kgw.log import LogManager
manager = LogManager({data!r})
manager.open()
partition = manager.create_topic("bench", 1).partitions[0]
batch = batch_of(16 * 1024)
for _ in range({mib} * 1024 * 1024 // len(batch)):
    partition.append(batch)
os._exit(0)
"""


def drop_page_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def timed_open(data: Path) -> tuple[float, LogManager]:
    manager = LogManager(data)
    start = time.perf_counter()
    manager.open()
    return time.perf_counter() - start, manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: the temp directory)")
    parser.add_argument("--mib", type=int, default=1023)
    args = parser.parse_args()
    bench = str(Path(__file__).resolve().parent)
    with scratch_dir(args.dir, args.mib * MIB) as scratch:
        data = scratch / "data"
        for cold in (False, True):
            subprocess.run([sys.executable, "-c", CHILD.format(bench=bench, data=str(data),
                                                               mib=args.mib)], check=True)
            if cold and not drop_page_cache():
                print("(cannot drop the page cache here: no cold-cache figure)")
                break
            elapsed, manager = timed_open(data)
            partition = manager.partition("bench", 0)
            size = partition.size_bytes
            print(f"unclean open, {'cold' if cold else 'warm'} cache: {size / MIB:.0f} MiB segment, "
                  f"{partition.log_end_offset} records, recovered in {elapsed:.2f} s "
                  f"({size / elapsed / 1e6:.0f} MB/s)")
            manager.close()
            elapsed, manager = timed_open(data)
            print(f"clean open after that:   {elapsed * 1000:.1f} ms")
            manager.delete_topic("bench")
            manager.close()


if __name__ == "__main__":
    main()
