"""How long `kgw serve` takes to answer its first Metadata request, next to
the time a bare `python -c "import trio"` takes on the same machine in the
same run (target: at most 1.4 times as long).

Run: .venv/bin/python bench/serve_startup.py [--rounds N] [--kgw PATH ...]

Each round spawns, in turn, `python -c "import trio"` (timed to its exit)
and `kgw serve --port 0` with a fresh data directory (timed from the spawn
to the answer of a Metadata request sent as soon as it logs that it is
ready), so both see the same machine load.  Both run with the interpreter
of the `kgw` script's own venv and with bytecode caching on, as an
installed kgw runs: the first, unmeasured round writes kgw's bytecode.
`--kgw` names the script (default: this venv's); given several times, the
rounds take each in turn, to compare two versions side by side.

Besides the elapsed time, each process's CPU time is taken (to its exit for
Python, to the Metadata answer for kgw): on a shared machine, waiting for a
core inflates elapsed times by whatever else runs, while CPU time says
what the start itself costs.  Medians are printed, with the ratio of each
round's pair; nothing is asserted (DESIGN.md).
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")


@dataclass
class Runs:
    trio_s: list[float] = field(default_factory=list)
    trio_cpu_s: list[float] = field(default_factory=list)
    serve_s: list[float] = field(default_factory=list)
    serve_cpu_s: list[float] = field(default_factory=list)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # An installed kgw has its bytecode compiled; a source checkout writes it
    # on the first run, which this bench leaves out of its figures.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def bare_trio(python: Path, env) -> tuple[float, float]:
    """(elapsed, CPU) seconds of `python -c "import trio"`."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(python), "-c", "import trio"], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{python} -c 'import trio' failed")
    return elapsed, usage.ru_utime + usage.ru_stime


def _cpu_s(pid: int) -> float:
    """CPU time of every thread of `pid` so far (schedstat's first field, ns)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def _metadata_request() -> bytes:
    from protocol.connection import ClientConnection
    from protocol.messages import METADATA

    return ClientConnection("bench").send_request(METADATA.key, 12, METADATA.Request(topics=None))[1]


def serve_to_first_metadata(kgw: Path, env, request: bytes) -> tuple[float, float]:
    """(elapsed, CPU) seconds from spawning `kgw serve` to its first Metadata answer."""
    with tempfile.TemporaryDirectory(prefix="kgw-startup-") as data_dir:
        started = time.perf_counter()
        proc = subprocess.Popen([str(kgw), "serve", "--port", "0", "--data-dir", data_dir],
                                env=env, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:
                match = READY.search(line)
                if match:
                    break
            else:
                raise RuntimeError("kgw exited before it was ready")
            with socket.create_connection((match[1], int(match[2]))) as sock:
                sock.sendall(request)
                # The response's size, then as much as it says.
                header = sock.recv(4, socket.MSG_WAITALL)
                size = int.from_bytes(header, "big")
                while size > 0:
                    size -= len(sock.recv(size))
            elapsed = time.perf_counter() - started
            cpu = _cpu_s(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    return elapsed, cpu


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:4.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--kgw", type=Path, action="append",
                        help="a kgw script to measure; repeatable [default: this venv's]")
    args = parser.parse_args()
    scripts = args.kgw or [Path(sys.executable).parent / "kgw"]
    env = _env()
    request = _metadata_request()
    results = {kgw: Runs() for kgw in scripts}
    for kgw in scripts:
        bare_trio(kgw.parent / "python", env)
        serve_to_first_metadata(kgw, env, request)  # writes kgw's bytecode
    for _ in range(args.rounds):
        for kgw in scripts:
            runs = results[kgw]
            elapsed, cpu = bare_trio(kgw.parent / "python", env)
            runs.trio_s.append(elapsed)
            runs.trio_cpu_s.append(cpu)
            elapsed, cpu = serve_to_first_metadata(kgw, env, request)
            runs.serve_s.append(elapsed)
            runs.serve_cpu_s.append(cpu)
    for kgw, runs in results.items():
        ratios = [s / t for s, t in zip(runs.serve_s, runs.trio_s)]
        cpu_ratios = [s / t for s, t in zip(runs.serve_cpu_s, runs.trio_cpu_s)]
        print(kgw)
        print(f"  python -c 'import trio'      elapsed {_ms(runs.trio_s)}   CPU {_ms(runs.trio_cpu_s)}")
        print(f"  kgw serve -> first Metadata  elapsed {_ms(runs.serve_s)}   CPU {_ms(runs.serve_cpu_s)}")
        print(f"  ratio (median of rounds)     elapsed {statistics.median(ratios):.2f}       "
              f"CPU {statistics.median(cpu_ratios):.2f}   (target <= 1.4)")
        print(f"  elapsed ratios, sorted: {' '.join(f'{r:.2f}' for r in sorted(ratios))}")


if __name__ == "__main__":
    main()
