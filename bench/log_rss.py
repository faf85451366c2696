"""Memory growth of a process appending 2 GiB to the log (target: under 30 MB).

Run: .venv/bin/python bench/log_rss.py [--dir DIR] [--gib N]

For 16 KiB and 1 MiB batches, a fresh child process opens a LogManager,
appends N GiB (default 2) to one partition with default configs (so it
rolls 1 GiB segments), reads it all back once through read(), and reports
VmRSS before and after and the peak (VmHWM), from /proc/self/status.  The
payload lives on disk and in the page cache, not in the process; what grows
is the indexes, one 8-byte offset entry and at most one 12-byte time entry
per 4 KiB of log.  Printed, never asserted.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from log_common import MIB, scratch_dir

TARGET_MB = 30

CHILD = """
import sys
sys.path.insert(0, {bench!r})
from log_common import batch_of
from kgw.log import LogManager

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

batch = batch_of({batch_size})
manager = LogManager({data!r})
manager.open()
partition = manager.create_topic("bench", 1).partitions[0]
before = status("VmRSS")
for _ in range({gib} * 1024 ** 3 // len(batch)):
    partition.append(batch)
offset = 0
while offset < partition.log_end_offset:
    records = partition.read(offset, 1 << 20).records
    offset += len(records) // len(batch) * {per_batch}
after = status("VmRSS")
print(before, after, status("VmHWM"), partition.size_bytes, partition.segment_count)
manager.delete_topic("bench")
manager.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: the temp directory)")
    parser.add_argument("--gib", type=int, default=2)
    args = parser.parse_args()
    bench = str(Path(__file__).resolve().parent)
    sys.path.insert(0, bench)
    from log_common import batch_of
    from protocol.records import RecordBatch
    with scratch_dir(args.dir, args.gib * 1024 * MIB) as scratch:
        for size in (16 * 1024, MIB):
            per_batch = RecordBatch(batch_of(size)).record_count
            code = CHILD.format(bench=bench, data=str(scratch / f"data-{size}"), batch_size=size,
                                gib=args.gib, per_batch=per_batch)
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout.split()
            before, after, peak, stored, segments = map(int, out)
            growth = (after - before) / 1e6
            verdict = "ok" if growth < TARGET_MB else f"ABOVE the {TARGET_MB} MB target"
            print(f"{size // 1024:5d} KiB batches: appended and read {stored / 2**30:.1f} GiB in "
                  f"{segments} segments; RSS {before / 1e6:.1f} -> {after / 1e6:.1f} MB "
                  f"(+{growth:.1f} MB, peak {peak / 1e6:.1f} MB)  {verdict}")


if __name__ == "__main__":
    main()
