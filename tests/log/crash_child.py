"""Appends until killed, acknowledging each append on a side channel.

Run by test_crash.py as `python crash_child.py DATA_DIR ACK_FILE SEED`.  Each
acknowledgement is one line, "<base offset> <record count> <sha256 of the
CRC'd bytes>", written with a single write() only after append() returned,
so the parent knows exactly what was acknowledged when it kills us.
"""

import hashlib
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kgw.log import LogManager  # noqa: E402
from protocol import checksum  # noqa: E402
from protocol.records import ATTRIBUTES_OFFSET, Record, build_batch  # noqa: E402

CONFIGS = {"internal.segment.bytes": "30000", "index.interval.bytes": "700"}


def main() -> None:
    data_dir, ack_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    manager = LogManager(data_dir)
    manager.open()
    topic = manager.topic("c") or manager.create_topic("c", 1, CONFIGS)
    partition = topic.partitions[0]
    acks = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    # crc32c loads on the first checksum: before "ready", so that the kills
    # land among appends, not in the import.
    checksum.crc32c(b"")
    os.write(1, b"ready\n")
    n = 0
    while True:
        count = rng.randint(1, 5)
        records = [Record(i, 1_700_000_000_000 + n, None, rng.randbytes(rng.randint(0, 400)))
                   for i in range(count)]
        batch = build_batch(records)
        result = partition.append(batch)
        digest = hashlib.sha256(batch[ATTRIBUTES_OFFSET:]).hexdigest()
        os.write(acks, f"{result.base_offset} {count} {digest}\n".encode())
        n += 1
        if n % 97 == 0:
            partition.flush()
            manager.write_recovery_checkpoint()


if __name__ == "__main__":
    main()
