"""kill -9 at random moments: every acknowledged append survives, nothing corrupt remains."""

import hashlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kgw.log import LogManager
from protocol.records import ATTRIBUTES_OFFSET, iter_batches

from .helpers import crash

CHILD = Path(__file__).with_name("crash_child.py")
ITERATIONS = 30


def _acknowledged(path: Path) -> list[tuple[int, int, str]]:
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    # A kill can only cut the last line short; complete lines end with "\n".
    return [(int(o), int(c), d.decode()) for o, c, d in (line.split() for line in lines[:-1])]


def _verify(data_dir: Path, acks: list[tuple[int, int, str]], rng: random.Random) -> int:
    manager = LogManager(data_dir)
    manager.open()
    partition = manager.partition("c", 0)
    assert partition.offline is None
    stored = {}
    offset, end = partition.log_start_offset, partition.log_end_offset
    assert offset == 0
    while offset < end:
        batches = list(iter_batches(partition.read(offset, 1 << 20).records.read_bytes()))
        for batch in batches:
            assert batch.base_offset == offset, "offsets must be dense"
            assert batch.crc_ok()
            stored[offset] = (batch.record_count, hashlib.sha256(batch.memory[ATTRIBUTES_OFFSET:]).hexdigest())
            offset = batch.last_offset + 1
    for base, count, digest in acks:
        assert stored.get(base) == (count, digest), f"acknowledged batch at {base} lost"
    if rng.random() < 0.5:
        manager.close()
    else:
        crash(manager)
    return end


def test_acknowledged_appends_survive_sigkill(tmp_path):
    rng = random.Random(20240611)
    data_dir, ack_path = tmp_path / "data", tmp_path / "acks"
    kills_mid_stream = 0
    for iteration in range(ITERATIONS):
        child = subprocess.Popen([sys.executable, str(CHILD), str(data_dir), str(ack_path),
                                  str(iteration)], stdout=subprocess.PIPE)
        try:
            assert child.stdout.readline() == b"ready\n"
            before = len(_acknowledged(ack_path))
            time.sleep(rng.uniform(0.0, 0.15))
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait()
            child.stdout.close()
        acks = _acknowledged(ack_path)
        kills_mid_stream += len(acks) > before
        end = _verify(data_dir, acks, rng)
        assert end >= (acks[-1][0] + acks[-1][1] if acks else 0)
    assert kills_mid_stream >= ITERATIONS // 2
