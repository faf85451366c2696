"""Restoring a partition's producer state after a restart, clean or not.

Run: .venv/bin/python bench/log_transactions.py [--dir DIR] [--batches N] [--size BYTES]

Fills a partition with N batches (default 100,000) of about BYTES each
(default 1 KiB), all transactional, from 8 producers taking turns, each
transaction of 10 batches ended by a marker, every third one an abort, and
a second partition with as many plain batches.  A copy of the data
directory taken while the log is open stands for a crash; the log is then
closed cleanly.  Timed: the first `last_stable_offset` of each partition,
which restores the producer state: from the snapshot written at shutdown
(clean), or from the last roll's snapshot plus a walk of the batch headers
after it (crash; the plain partition has no producer batch to walk).
Printed, never asserted.
"""

import argparse
import shutil
import time

from log_common import MIB, batch_of, scratch_dir

from kgw.log import LogManager
from protocol.records import Record, build_batch

PRODUCERS = 8
TXN_BATCHES = 10


def transactional_batch(size: int, producer_id: int, sequence: int) -> bytes:
    value = b"v" * max(size - 80, 0)
    return build_batch([Record(0, 1_700_000_000_000, b"k", value)],
                       producer_id=producer_id, producer_epoch=0, base_sequence=sequence,
                       is_transactional=True)


def fill(partition, batches: int, size: int) -> int:
    """Append `batches` transactional batches and their markers; the markers written."""
    sequences = [0] * PRODUCERS
    markers = written = 0
    while written < batches:
        pid = written % PRODUCERS
        partition.append(transactional_batch(size, pid, sequences[pid]))
        sequences[pid] += 1
        written += 1
        if sequences[pid] % TXN_BATCHES == 0:
            partition.append_marker(pid, 0, commit=sequences[pid] % (3 * TXN_BATCHES) != 0)
            markers += 1
    return markers


def timed_first_lso(data, name: str) -> tuple[float, int]:
    manager = LogManager(data)
    manager.open()
    partition = manager.partition(name, 0)
    start = time.perf_counter()
    lso = partition.last_stable_offset
    elapsed = time.perf_counter() - start
    manager.close()
    return elapsed, lso


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: the temp directory)")
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    need = args.batches * (args.size + 100) * 2
    with scratch_dir(args.dir, need) as scratch:
        data = scratch / "data"
        manager = LogManager(data)
        manager.open()
        txn = manager.create_topic("txn", 1).partitions[0]
        markers = fill(txn, args.batches, args.size)
        plain = manager.create_topic("plain", 1).partitions[0]
        batch = batch_of(args.size)
        for _ in range(args.batches):
            plain.append(batch)
        sizes = (txn.size_bytes, txn.segment_count)
        since_roll = txn.log_end_offset - txn.active.base_offset
        for partition in (txn, plain):
            partition.flush()
        crashed = scratch / "crashed"
        shutil.copytree(data, crashed, ignore=shutil.ignore_patterns(".lock"))
        manager.close()
        print(f"transactional: {args.batches} batches + {markers} markers, "
              f"{sizes[0] / MIB:.0f} MiB in {sizes[1]} segment(s), {since_roll} offsets since "
              f"the last roll")
        for label, where in (("clean restart", data), ("after a crash", crashed)):
            elapsed, lso = timed_first_lso(where, "txn")
            print(f"  {label}: first LSO ({lso}) after {elapsed * 1000:.2f} ms")
        for label, where in (("clean restart", data), ("after a crash", crashed)):
            elapsed, lso = timed_first_lso(where, "plain")
            print(f"plain, {label}: first LSO ({lso}) after {elapsed * 1000:.3f} ms")


if __name__ == "__main__":
    main()
