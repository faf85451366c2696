"""Read throughput through the file-range path: PartitionLog.read, then sendfile or pread.

Run: .venv/bin/python bench/log_read.py [--dir DIR] [--mib N]

Fills a partition with N MiB of 16 KiB batches, then reads it back from
offset 0 to the end the way Fetch does, 1 MiB per read(): once sending the
ranges with os.sendfile into a socketpair drained by a thread, once with
pread (FileRecords.read_bytes), and once with read() alone (index lookup
and header walk, no data moved).  The data is in the page cache, so this
measures kgw's overhead, not the disk.  Numbers are printed, never asserted.
"""

import argparse
import os
import socket
import threading
import time

from log_common import MIB, batch_of, rate, scratch_dir

from kgw.log import LogManager
from protocol.records import RecordBatch

FETCH_BYTES = MIB


def drain(sock: socket.socket) -> None:
    while sock.recv(1 << 20):
        pass


def read_all(partition, batch_size: int, records_per_batch: int, deliver) -> tuple[int, int]:
    """Fetch from 0 to the end; every batch has the same size, so the next
    offset follows from the bytes returned (a consumer parses the last batch)."""
    offset, end = 0, partition.log_end_offset
    total = reads = 0
    while offset < end:
        records = partition.read(offset, FETCH_BYTES).records
        deliver(records)
        total += len(records)
        reads += 1
        offset += len(records) // batch_size * records_per_batch
    return total, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write (default: the temp directory)")
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    with scratch_dir(args.dir, args.mib * MIB) as scratch:
        manager = LogManager(scratch)
        manager.open()
        partition = manager.create_topic("bench", 1).partitions[0]
        batch = batch_of(16 * 1024)
        for _ in range(args.mib * MIB // len(batch)):
            partition.append(batch)

        ours, theirs = socket.socketpair()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MIB)
        reader = threading.Thread(target=drain, args=(theirs,))
        reader.start()

        def send(records):
            for r in records.ranges:
                sent = 0
                while sent < r.length:
                    sent += os.sendfile(ours.fileno(), r.file.fd, r.position + sent, r.length - sent)

        for name, deliver in (("read() + os.sendfile to a socket", send),
                              ("read() + pread (read_bytes)", lambda records: records.read_bytes()),
                              ("read() only (lookup + header walk)", lambda records: None)):
            start = time.perf_counter()
            total, reads = read_all(partition, len(batch), RecordBatch(batch).record_count,
                                    deliver)
            elapsed = time.perf_counter() - start
            print(f"{name:38s} {rate(total, elapsed)}  {reads / elapsed:8.0f} reads/s "
                  f"({reads} reads of up to {FETCH_BYTES // 1024} KiB)")
        ours.close()
        reader.join()
        theirs.close()
        manager.close()


if __name__ == "__main__":
    main()
