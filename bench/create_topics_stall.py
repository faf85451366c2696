"""What one large CreateTopics costs the other clients (a benchmark, not a test).

    python -m bench.create_topics_stall                        # starts its own kgw
    python -m bench.create_topics_stall --bootstrap HOST:PORT  # any Kafka-compatible broker

A probe client sends small requests back to back on its own connection
(a Produce of one record with acks=1, then a Metadata of its topic) and
times each; meanwhile an admin client sends one CreateTopics of `--topics`
topics of one partition.  Printed: the probe's latencies before and during
the CreateTopics (p50, p99, max), how long the CreateTopics took, and for
a kgw it started, the broker's open descriptors before and after.
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid

from bench.clients_e2e import Broker
from kgw.tools.client import Connection
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_TOPICS, METADATA, PRODUCE
from protocol.records import Record, build_batch


def _connect(bootstrap: str, timeout: float = 600) -> Connection:
    host, port = bootstrap.rsplit(":", 1)
    return Connection(host, int(port), timeout)


def _create(names: list[str]):
    Topic = CREATE_TOPICS.Request.CreatableTopic
    return CREATE_TOPICS.Request(
        topics=[Topic(name=n, num_partitions=1, replication_factor=1, assignments=[], configs=[])
                for n in names], timeout_ms=600_000, validate_only=False)


class Probe:
    """Times small requests on one connection until stopped."""

    def __init__(self, bootstrap: str, topic: str):
        self.conn = _connect(bootstrap, 120)
        self.topic = topic
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        Topic = PRODUCE.Request.TopicProduceData
        self._produce = PRODUCE.Request(transactional_id=None, acks=1, timeout_ms=10_000, topic_data=[
            Topic(name=topic, partition_data=[Topic.PartitionProduceData(
                index=0, records=build_batch([Record(0, 0, None, b"x" * 100)]))])])
        self._metadata = METADATA.Request(
            topics=[METADATA.Request.MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for api, body in ((PRODUCE, self._produce), (METADATA, self._metadata)):
                start = time.perf_counter()
                self.conn.call(api, body)
                self.samples.append((start, time.perf_counter() - start))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        self.conn.close()

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for at, seconds in self.samples if start <= at < end]


def _summary(latencies: list[float]) -> str:
    if not latencies:
        return "no request completed"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(ordered)} requests, p50 {statistics.median(ordered) * 1000:.2f} ms, "
            f"p99 {p99 * 1000:.2f} ms, max {ordered[-1] * 1000:.1f} ms")


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", help="measure this broker instead of starting a kgw")
    parser.add_argument("--topics", type=int, default=5_000)
    args = parser.parse_args()
    proc = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        broker = Broker(tempfile.mkdtemp(prefix="kgw-bench-"))
        broker.start()
        proc, bootstrap = broker.proc, broker.bootstrap
    try:
        run = uuid.uuid4().hex[:8]
        admin = _connect(bootstrap)
        probe_topic = f"probe-{run}"
        (made,) = admin.call(CREATE_TOPICS, _create([probe_topic])).topics
        assert made.error_code == ErrorCode.NONE, made
        fds_before = _fds(proc.pid) if proc else None
        probe = Probe(bootstrap, probe_topic)
        probe.thread.start()
        time.sleep(3)
        quiet_end = time.perf_counter()
        created = admin.call(CREATE_TOPICS, _create([f"bulk-{run}-{i}" for i in range(args.topics)]))
        busy_end = time.perf_counter()
        time.sleep(1)
        probe.stop()
        admin.close()
        failed = [t for t in created.topics if t.error_code != ErrorCode.NONE]
        print(f"broker: {bootstrap}")
        print(f"CreateTopics of {args.topics} topics: {busy_end - quiet_end:.2f} s, "
              f"{len(failed)} refused" + (f" (first: {ErrorCode(failed[0].error_code).name} "
                                          f"{failed[0].error_message})" if failed else ""))
        print(f"probe before:  {_summary(probe.between(quiet_end - 3, quiet_end))}")
        print(f"probe during:  {_summary(probe.between(quiet_end, busy_end))}")
        if proc is not None:
            print(f"broker descriptors: {fds_before} before, {_fds(proc.pid)} after")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    main()
