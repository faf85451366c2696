"""A broker with many partitions under real clients (a benchmark, not a test).

    python -m bench.many_partitions                        # starts its own kgw
    python -m bench.many_partitions --bootstrap HOST:PORT  # any Kafka-compatible broker

Creates one topic of `--wide` partitions (CreateTopics, then CreatePartitions:
Kafka takes at most 10,000 partitions in one request) and more topics of
5,000 partitions up to `--total`; then librdkafka produces `--rounds`
records to every partition and a librdkafka consumer assigned every
partition reads them all back.  Printed: how long each step took, and for
a kgw it started, the most descriptors its process held (sampled every
50 ms), its RSS, and its open-file limit.
"""

import argparse
import os
import resource
import tempfile
import threading
import time
import uuid

from bench.clients_e2e import Broker
from kgw.tools.client import Connection
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_PARTITIONS, CREATE_TOPICS

PER_REQUEST = 5_000


class Sampler:
    """The most descriptors a process held, sampled until stopped."""

    def __init__(self, pid: int):
        self.pid = pid
        self.most = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.most = max(self.most, len(os.listdir(f"/proc/{self.pid}/fd")))
            except FileNotFoundError:
                return

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.most


def _create(conn: Connection, name: str, partitions: int) -> None:
    Topic = CREATE_TOPICS.Request.CreatableTopic
    first = min(partitions, PER_REQUEST)
    (made,) = conn.call(CREATE_TOPICS, CREATE_TOPICS.Request(topics=[Topic(
        name=name, num_partitions=first, replication_factor=1, assignments=[], configs=[])],
        timeout_ms=600_000, validate_only=False)).topics
    assert made.error_code == ErrorCode.NONE, (name, made.error_code, made.error_message)
    total = first
    while total < partitions:
        total = min(partitions, total + PER_REQUEST)
        Grow = CREATE_PARTITIONS.Request.CreatePartitionsTopic
        (grown,) = conn.call(CREATE_PARTITIONS, CREATE_PARTITIONS.Request(
            topics=[Grow(name=name, count=total, assignments=None)], timeout_ms=600_000,
            validate_only=False)).results
        assert grown.error_code == ErrorCode.NONE, (name, grown.error_code, grown.error_message)


def _produce(bootstrap: str, topics: dict[str, int], rounds: int) -> int:
    from confluent_kafka import Producer

    # acks=1: with acks=all, kgw's default --flush acks would fsync every
    # partition written, and this would measure the disk.
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1,
                         "queue.buffering.max.messages": 1_000_000})
    failures = []
    for round_ in range(rounds):
        for name, partitions in topics.items():
            for partition in range(partitions):
                while True:
                    try:
                        producer.produce(name, value=b"%d:%d" % (partition, round_),
                                         partition=partition,
                                         on_delivery=lambda err, msg: err and failures.append(err))
                        break
                    except BufferError:
                        producer.poll(0.1)
            producer.poll(0)
    remaining = producer.flush(300)
    assert remaining == 0 and not failures, (remaining, failures[:3])
    return rounds * sum(topics.values())


def _consume(bootstrap: str, topics: dict[str, int], expected: int) -> int:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "queued.min.messages": 1_000_000})
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING)
                     for name, partitions in topics.items() for p in range(partitions)])
    seen = 0
    deadline = time.monotonic() + 600
    while seen < expected and time.monotonic() < deadline:
        for message in consumer.consume(10_000, 1.0):
            assert message.error() is None, message.error()
            assert message.value().startswith(b"%d:" % message.partition())
            seen += 1
    consumer.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", help="measure this broker instead of starting a kgw")
    parser.add_argument("--wide", type=int, default=10_000, help="partitions of the widest topic")
    parser.add_argument("--total", type=int, default=50_000, help="partitions in all")
    parser.add_argument("--rounds", type=int, default=2, help="records per partition")
    args = parser.parse_args()
    proc = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        broker = Broker(tempfile.mkdtemp(prefix="kgw-bench-"))
        broker.start()
        proc, bootstrap = broker.proc, broker.bootstrap
    sampler = Sampler(proc.pid) if proc else None
    try:
        run = uuid.uuid4().hex[:6]
        topics = {f"wide-{run}": args.wide}
        left = args.total - args.wide
        i = 0
        while left > 0:
            topics[f"more-{run}-{i}"] = min(left, PER_REQUEST)
            left -= topics[f"more-{run}-{i}"]
            i += 1
        host, port = bootstrap.rsplit(":", 1)
        admin = Connection(host, int(port), 900)
        started = time.perf_counter()
        for name, partitions in topics.items():
            _create(admin, name, partitions)
        created = time.perf_counter()
        admin.close()
        produced = _produce(bootstrap, topics, args.rounds)
        written = time.perf_counter()
        consumed = _consume(bootstrap, topics, produced)
        read = time.perf_counter()
        print(f"broker: {bootstrap}")
        print(f"{len(topics)} topics, {sum(topics.values())} partitions (widest {args.wide}) "
              f"created in {created - started:.1f} s")
        print(f"librdkafka produced {produced} records to every partition in {written - created:.1f} s")
        print(f"librdkafka consumed {consumed} of them in {read - written:.1f} s"
              + ("" if consumed == produced else " (gave up waiting for the rest)"))
        if proc is not None:
            with open(f"/proc/{proc.pid}/status") as status:
                rss = next(line.split()[1] for line in status if line.startswith("VmRSS:"))
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            print(f"broker: at most {sampler.stop()} descriptors open (limit {soft}), "
                  f"RSS {int(rss) // 1024} MB")
        assert consumed == produced
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(120)


if __name__ == "__main__":
    main()
