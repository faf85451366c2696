"""Helpers shared by the bench/log_*.py scripts (not a benchmark itself)."""

import contextlib
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.records import Record, build_batch  # noqa: E402

MIB = 1 << 20


def batch_of(size: int, seed: int = 0) -> bytes:
    """An uncompressed batch of about `size` bytes, in 1 KiB-ish records."""
    rng = random.Random(seed)
    value = rng.randbytes(1000)
    records, total, i = [], 61, 0
    while total + 1100 <= size:
        records.append(Record(i, 1_700_000_000_000 + i, b"key-%d" % i, value))
        total += 1024
        i += 1
    tail = size - total - 30
    records.append(Record(i, 1_700_000_000_000 + i, b"k", rng.randbytes(max(tail, 0))))
    return build_batch(records)


@contextlib.contextmanager
def scratch_dir(parent: str | None, need_bytes: int):
    """A temporary directory with room for `need_bytes`, removed afterwards."""
    base = Path(parent or tempfile.gettempdir())
    free = shutil.disk_usage(base).free
    print(f"scratch space in {base}: {free / 2**30:.1f} GiB free, {need_bytes / 2**30:.1f} GiB needed")
    if free < need_bytes * 1.2:
        raise SystemExit("not enough free disk space")
    path = Path(tempfile.mkdtemp(prefix="kgw-bench-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:8.0f} MB/s"


def drop_file(path: Path) -> None:
    """Delete a file; its dirty pages go with it, so rounds do not feed each other."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
