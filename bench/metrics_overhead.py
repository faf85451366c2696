"""What metrics cost per request (a benchmark, not a test).

    python -m bench.metrics_overhead [--requests N] [--rounds N]

Starts `kgw serve` twice per round, without and with `--metrics-port`, and
sends it N small requests of each kind (Produce of one 100-byte record with
acks=1, then Fetch of one such batch), pipelined 64 at a time over one
connection. Reports the broker's CPU time per request (from /proc) for each
setting, and the bare cost of the counting calls, timed in this process.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import timeit

from kgw.observability.metrics import NO_METRICS, Metrics
from protocol.connection import NEED_DATA, ClientConnection
from protocol.messages import FETCH, PRODUCE
from protocol.records import Record, build_batch

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")
WINDOW = 64
BATCH = build_batch([Record(0, 1_700_000_000_000, b"key", b"v" * 100)])


def produce_request(topic: str):
    Topic = PRODUCE.Request.TopicProduceData
    return PRODUCE.Request(transactional_id=None, acks=1, timeout_ms=1000, topic_data=[
        Topic(name=topic, partition_data=[Topic.PartitionProduceData(index=0, records=BATCH)])])


def fetch_request(topic: str, offset: int):
    Topic = FETCH.Request.FetchTopic
    return FETCH.Request(replica_id=-1, max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[Topic(
        topic=topic, partitions=[Topic.FetchPartition(partition=0, fetch_offset=offset,
                                                      partition_max_bytes=1 << 20)])])


class Broker:
    def __init__(self, data_dir: str, metrics: bool):
        args = [sys.executable, "-m", "kgw", "serve", "--port", "0", "--data-dir", data_dir,
                "--flush", "never"]
        if metrics:
            args += ["--metrics-port", "0"]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if match := READY.search(line):
                self.address = (match.group(1), int(match.group(2)))
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


def pipelined(sock, client, requests) -> None:
    """Send `requests` ((api, version, body), ...) keeping WINDOW in flight."""
    pending = 0
    for api, version, body in requests:
        sock.sendall(client.send_request(api.key, version, body)[1])
        pending += 1
        while pending >= WINDOW or (pending and api is None):
            pending -= _receive(sock, client)
    while pending:
        pending -= _receive(sock, client)


def _receive(sock, client) -> int:
    response = client.next_response()
    while response is NEED_DATA:
        client.receive_data(sock.recv(1 << 20))
        response = client.next_response()
    return 1


def one_round(metrics: bool, n: int) -> tuple[float, float]:
    """Broker CPU microseconds per Produce and per Fetch."""
    with tempfile.TemporaryDirectory(prefix="kgw-bench-") as data_dir:
        broker = Broker(data_dir, metrics)
        try:
            client = ClientConnection("bench")
            with socket.create_connection(broker.address) as sock:
                pipelined(sock, client, [(PRODUCE, 9, produce_request("warmup"))] * 1000)
                cpu = broker.cpu_s()
                pipelined(sock, client, [(PRODUCE, 9, produce_request("t"))] * n)
                produce_us = (broker.cpu_s() - cpu) / n * 1e6
                cpu = broker.cpu_s()
                pipelined(sock, client, [(FETCH, 12, fetch_request("t", i)) for i in range(n)])
                fetch_us = (broker.cpu_s() - cpu) / n * 1e6
        finally:
            broker.stop()
    return produce_us, fetch_us


def calls_ns() -> dict[str, float]:
    """The counting calls alone, in ns, for metrics on and off."""
    Result = PRODUCE.Response.TopicProduceResponse
    response = PRODUCE.Response(responses=[Result(name="t", partition_responses=[
        Result.PartitionProduceResponse(index=0, error_code=0, base_offset=7)])])
    out = {}
    for name, metrics in (("on", Metrics()), ("off", NO_METRICS)):
        def per_request(metrics=metrics):
            metrics.request(PRODUCE.key, response, 0.0002)
            metrics.produced("t", 160, 1)
        number = 200_000
        out[name] = min(timeit.repeat(per_request, number=number, repeat=5)) / number * 1e9
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {False: [], True: []}
    for _ in range(args.rounds):
        for metrics in (False, True):
            results[metrics].append(one_round(metrics, args.requests))
    print(f"broker CPU per request, median of {args.rounds} rounds of {args.requests:,} "
          "pipelined requests (one 100-byte record each):")
    for metrics, label in ((False, "without metrics"), (True, "with --metrics-port")):
        produce = statistics.median(p for p, _ in results[metrics])
        fetch = statistics.median(f for _, f in results[metrics])
        print(f"  {label:<20} Produce {produce:6.1f} us   Fetch {fetch:6.1f} us")
    calls = calls_ns()
    print(f"counting calls of one Produce (request + produced): {calls['on']:.0f} ns with metrics, "
          f"{calls['off']:.0f} ns without")


if __name__ == "__main__":
    main()
