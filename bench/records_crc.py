"""Throughput of the broker's produce-path check: parse a batch header, verify its CRC.

Run: .venv/bin/python bench/records_crc.py [--batches N] [--rounds N]

The broker never decodes records; per batch it builds a RecordBatch view,
reads header fields and calls crc_ok().  This measures that over 1 MiB
batches (target: >= 1 GB/s) and checks the views copy nothing.
"""

import argparse
import os
import statistics
import time
import tracemalloc

from protocol.records import Record, RecordBatch, build_batch, iter_batches

BATCH_BYTES = 1 << 20
TARGET_GBPS = 1.0


def one_mib_batch() -> bytes:
    value = os.urandom(1000)
    records, size, i = [], 0, 0
    while size < BATCH_BYTES - 2048:
        records.append(Record(i, 1_700_000_000_000 + i, b"key-%d" % i, value))
        size += 1024
        i += 1
    return build_batch(records)


def check_batch(batch: RecordBatch) -> None:
    """What the produce path reads before appending a batch."""
    if ((batch.magic, batch.attributes, batch.producer_id, batch.base_sequence) != (2, 0, -1, -1)
            or batch.record_count <= 0 or batch.last_offset < batch.base_offset):
        raise SystemExit("header fields read wrong")
    if not batch.crc_ok():
        raise SystemExit("CRC mismatch on a valid batch")


def by_iter_batches(buf) -> None:
    for batch in iter_batches(buf):
        check_batch(batch)


def by_position(buf, positions) -> None:
    for pos in positions:
        check_batch(RecordBatch(buf, pos))


def measure(fn, nbytes: int, rounds: int) -> tuple[float, float]:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        rates.append(nbytes / (time.perf_counter() - start) / 1e9)
    return max(rates), statistics.median(rates)


def check_zero_copy(buf: bytearray, batch_size: int) -> int:
    """Views must share `buf`; return the bytes allocated while walking it."""
    view = memoryview(buf)
    batches = list(iter_batches(view))
    if not all(b.memory.obj is buf for b in batches):
        raise SystemExit("a batch view does not share the buffer")
    second = RecordBatch(view, batch_size)
    buf[batch_size + 7] ^= 0xFF  # inside the base offset: must show through the view
    changed = second.base_offset
    buf[batch_size + 7] ^= 0xFF
    if changed == second.base_offset:
        raise SystemExit("a batch view does not see writes to the buffer")
    tracemalloc.start()
    by_iter_batches(view)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=128, help="1 MiB batches per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    batch = one_mib_batch()
    buf = bytearray(batch * args.batches)
    positions = range(0, len(buf), len(batch))
    print(f"{args.batches} batches of {len(batch)} bytes ({len(buf) / 2**20:.0f} MiB), "
          f"{RecordBatch(batch).record_count} records each, {args.rounds} rounds")

    view = memoryview(buf)
    for name, fn in (("iter_batches + header + crc_ok", lambda: by_iter_batches(view)),
                     ("RecordBatch(buf, pos) + header + crc_ok", lambda: by_position(view, positions))):
        best, median = measure(fn, len(buf), args.rounds)
        verdict = "ok" if median >= TARGET_GBPS else f"BELOW the {TARGET_GBPS} GB/s target"
        print(f"  {name:42s} best {best:6.2f} GB/s  median {median:6.2f} GB/s  {verdict}")

    peak = check_zero_copy(buf, len(batch))
    print(f"  zero-copy: every view shares the buffer; walking {len(buf) / 2**20:.0f} MiB "
          f"allocated at most {peak} bytes")


if __name__ == "__main__":
    main()
