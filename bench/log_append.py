"""Append throughput of kgw's log against plain os.write of the same bytes.

Run: .venv/bin/python bench/log_append.py [--dir DIR] [--rounds N]

For 16 KiB and 1 MiB batches: PartitionLog.append (validation, CRC check,
offset assignment, one write) against os.write of the same batch to a file
on the same file system, without fsync (target ratio >= 0.8) and with an
fsync after every append, as --flush=always does it (the Flusher's round:
begin_flush, the fsync, end_flush; here without the worker thread).
Rounds alternate between the two and the median of each is reported.
Numbers are printed, never asserted.
"""

import argparse
import os
import statistics
import time

from log_common import MIB, batch_of, drop_file, rate, scratch_dir

from kgw.log import LogManager

TARGET_RATIO = 0.8
CASES = [  # (batch size, bytes per round without fsync, appends per round with fsync)
    (16 * 1024, 512 * MIB, 400),
    (MIB, 512 * MIB, 40),
]


def plain(path, batch: bytes, count: int, fsync: bool) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(count):
            os.write(fd, batch)
            if fsync:
                os.fsync(fd)
        return time.perf_counter() - start
    finally:
        os.close(fd)
        drop_file(path)


def kgw(directory, batch: bytes, count: int, fsync: bool) -> float:
    manager = LogManager(directory)
    manager.open()
    try:
        partition = manager.create_topic("bench", 1).partitions[0]
        start = time.perf_counter()
        for _ in range(count):
            partition.append(batch)
            if fsync:
                job = partition.begin_flush()
                job.run()
                partition.end_flush(job)
        elapsed = time.perf_counter() - start
        manager.delete_topic("bench")
        return elapsed
    finally:
        manager.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: the temp directory)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with scratch_dir(args.dir, 2 * 512 * MIB) as scratch:
        for size, volume, synced in CASES:
            batch = batch_of(size)
            for fsync, count in ((False, volume // len(batch)), (True, synced)):
                plain_times, kgw_times = [], []
                for _ in range(args.rounds):
                    plain_times.append(plain(scratch / "plain.bin", batch, count, fsync))
                    kgw_times.append(kgw(scratch / "kgw", batch, count, fsync))
                nbytes = count * len(batch)
                p, k = statistics.median(plain_times), statistics.median(kgw_times)
                ratio = p / k
                verdict = "" if fsync else ("  ok" if ratio >= TARGET_RATIO else
                                            f"  BELOW the {TARGET_RATIO} target")
                label = f"{size // 1024} KiB batches, {'fsync each' if fsync else 'no fsync'}"
                print(f"{label:30s} os.write {rate(nbytes, p)}   kgw append {rate(nbytes, k)}   "
                      f"ratio {ratio:4.2f}{verdict}")


if __name__ == "__main__":
    main()
