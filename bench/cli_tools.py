"""How fast the `kgw` command-line tools move records, as a user runs them.

Run: .venv/bin/python bench/cli_tools.py [--messages N] [--size BYTES]

Starts `kgw serve` on a free port with a temporary data directory, then
times, each as its own `kgw` process: `produce` of N lines from a file,
`consume --from-beginning` of them to /dev/null (text and json), `log
check` of the data directory and `log dump` of the partition. Process
start-up is included, as a user pays it. Numbers are printed, never
asserted (DESIGN.md).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")
KGW = [sys.executable, "-m", "kgw"]


def serve(data_dir: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*KGW, "serve", "--port", "0", "--data-dir", str(data_dir),
                             "--flush", "never"], stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        match = READY.search(line)
        if match:
            return proc, f"{match[1]}:{match[2]}"
    raise RuntimeError("kgw did not start")


def timed(args, env, stdin=None) -> float:
    started = time.perf_counter()
    subprocess.run([*KGW, *args], env=env, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per line")
    args = parser.parse_args()
    n, size = args.messages, args.size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proc, bootstrap = serve(tmp / "data")
        env = {**os.environ, "KGW_BOOTSTRAP": bootstrap}
        try:
            lines = tmp / "lines.txt"
            line = b"x" * (size - 1) + b"\n"
            lines.write_bytes(line * n)
            mb = n * size / 1e6
            timed(["topics", "create", "bench"], env)
            with open(lines, "rb") as stdin:
                t = timed(["produce", "bench"], env, stdin)
            print(f"produce            {n:>9} lines  {t:6.2f} s  {n / t:>9,.0f} lines/s  "
                  f"{mb / t:6.1f} MB/s")
            for fmt in ("text", "json"):
                t = timed(["consume", "bench", "--from-beginning", "-f", fmt], env)
                print(f"consume ({fmt:4})     {n:>9} records {t:6.2f} s  {n / t:>9,.0f} records/s")
            data_mb = sum(p.stat().st_size for p in (tmp / "data" / "bench-0").glob("*.log")) / 1e6
            t = timed(["log", "check", str(tmp / "data")], env)
            print(f"log check          {data_mb:>9.1f} MB      {t:6.2f} s  {data_mb / t:6.1f} MB/s")
            t = timed(["log", "dump", str(tmp / "data" / "bench-0")], env)
            print(f"log dump           {n:>9} records {t:6.2f} s  {n / t:>9,.0f} records/s")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
