"""How fast `kgw.EmbeddedBroker` starts and stops (target: ready in under
100 ms once imported).

Run: .venv/bin/python bench/embedded_startup.py [--cycles N] [--processes N]

1. In fresh interpreters (one per process): the import of kgw.embedded,
   then the first start (the thread starting to the broker accepting), the
   first request answered (an ApiVersions over a new connection) and the
   stop. A first start pays for code paths nothing has warmed yet. The
   start's CPU time (all threads) is printed beside it: a new data
   directory is fsynced a few times, and on a busy disk those waits are
   most of the elapsed time.
2. In this process, `--cycles` more starts and stops, with a temporary data
   directory and with a kept one being reopened.

Numbers are printed, never asserted (DESIGN.md).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from kgw.embedded import EmbeddedBroker
t1 = time.perf_counter()
sys.path.insert(0, {bench_dir!r})
from embedded_startup import one_cycle
print(json.dumps({{"import": t1 - t0, **one_cycle(EmbeddedBroker)}}))
"""


def api_versions_roundtrip(bootstrap: str) -> None:
    from protocol.connection import NEED_DATA, ClientConnection
    from protocol.messages import API_VERSIONS

    host, _, port = bootstrap.rpartition(":")
    connection = ClientConnection("bench")
    with socket.create_connection((host, int(port))) as sock:
        _, data = connection.send_request(API_VERSIONS.key, 3, API_VERSIONS.Request(
            client_software_name="bench", client_software_version="0"))
        sock.sendall(data)
        while connection.next_response() is NEED_DATA:
            connection.receive_data(sock.recv(65536))


def one_cycle(broker_class, data_dir=None) -> dict[str, float]:
    t0, cpu0 = time.perf_counter(), time.process_time()
    broker = broker_class(data_dir).start()
    t1, cpu1 = time.perf_counter(), time.process_time()
    api_versions_roundtrip(broker.bootstrap)
    t2 = time.perf_counter()
    broker.stop()
    t3 = time.perf_counter()
    return {"start": t1 - t0, "start_cpu": cpu1 - cpu0, "first_request": t2 - t1, "stop": t3 - t2}


def _ms(values) -> str:
    values = sorted(v * 1000 for v in values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return (f"median {statistics.median(values):6.1f} ms   min {values[0]:6.1f}   "
            f"p90 {p90:6.1f}   max {values[-1]:6.1f}")


def _report(title: str, runs: list[dict]) -> None:
    print(title)
    for key in runs[0]:
        print(f"  {key:14} {_ms([run[key] for run in runs])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5)
    args = parser.parse_args()

    child = CHILD.format(bench_dir=str(Path(__file__).parent))
    # Bytecode cached, as an installed kgw has it; the first child writes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    fresh = [json.loads(subprocess.run([sys.executable, "-c", child], check=True, env=env,
                                       capture_output=True, text=True).stdout)
             for _ in range(args.processes + 1)][1:]
    _report(f"fresh interpreter ({args.processes} runs): import, first start, first request, stop", fresh)

    from kgw.embedded import EmbeddedBroker

    _report(f"warm, temporary data dir ({args.cycles} cycles)",
            [one_cycle(EmbeddedBroker) for _ in range(args.cycles)])
    with tempfile.TemporaryDirectory(prefix="kgw-bench-") as kept:
        _report(f"warm, a kept data dir reopened ({args.cycles} cycles)",
                [one_cycle(EmbeddedBroker, kept) for _ in range(args.cycles)])


if __name__ == "__main__":
    main()
