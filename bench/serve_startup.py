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
rounds take each in turn, to compare two versions side by side.  Medians
are printed, with the ratio of each round's pair; nothing is asserted
(DESIGN.md).
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
from pathlib import Path

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # An installed kgw has its bytecode compiled; a source checkout writes it
    # on the first run, which this bench leaves out of its figures.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def bare_trio(python: Path, env) -> float:
    started = time.perf_counter()
    subprocess.run([str(python), "-c", "import trio"], env=env, check=True)
    return time.perf_counter() - started


def _metadata_request() -> bytes:
    from protocol.connection import ClientConnection
    from protocol.messages import METADATA

    return ClientConnection("bench").send_request(METADATA.key, 12, METADATA.Request(topics=None))[1]


def serve_to_first_metadata(kgw: Path, env, request: bytes) -> float:
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
        finally:
            proc.terminate()
            proc.wait(30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--kgw", type=Path, action="append",
                        help="a kgw script to measure; repeatable [default: this venv's]")
    args = parser.parse_args()
    scripts = args.kgw or [Path(sys.executable).parent / "kgw"]
    env = _env()
    request = _metadata_request()
    results: dict[Path, tuple[list, list]] = {kgw: ([], []) for kgw in scripts}
    for kgw in scripts:
        bare_trio(kgw.parent / "python", env)
        serve_to_first_metadata(kgw, env, request)  # writes kgw's bytecode
    for _ in range(args.rounds):
        for kgw in scripts:
            trio_s, serve_s = results[kgw]
            trio_s.append(bare_trio(kgw.parent / "python", env))
            serve_s.append(serve_to_first_metadata(kgw, env, request))
    for kgw, (trio_s, serve_s) in results.items():
        ratios = [s / t for s, t in zip(serve_s, trio_s)]
        ms = " ".join(f"{v * 1000:.0f}" for v in sorted(serve_s))
        print(f"{kgw}")
        print(f"  python -c 'import trio'        median {statistics.median(trio_s) * 1000:4.0f} ms")
        print(f"  kgw serve -> first Metadata    median {statistics.median(serve_s) * 1000:4.0f} ms "
              f"(sorted: {ms})")
        print(f"  ratio, per round               median {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.4)")


if __name__ == "__main__":
    main()
