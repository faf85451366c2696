"""End-to-end benchmark with real clients (a benchmark, not a test).

    python -m bench.clients_e2e                       # starts its own kgw
    python -m bench.clients_e2e --bootstrap HOST:PORT # any Kafka-compatible broker
    python -m bench.clients_e2e --against-kafka       # kgw and Apache Kafka, side by side

Measures, from outside the broker process: produce and consume throughput
with confluent-kafka (librdkafka) and kafka-python, end-to-end latency at
~1,000 msg/s with librdkafka's default settings, the time from `kgw serve`
to the first answered Metadata request, the broker's RSS, and (for a kgw
it started) the broker's CPU time per message.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")


class Broker:
    """A kgw child process, observed through /proc."""

    def __init__(self, data_dir: str, *serve_args: str):
        self.data_dir = data_dir
        self.serve_args = serve_args
        self.proc = None
        self.bootstrap = None

    def start(self) -> float:
        """Start kgw; returns seconds from spawn to the first answered Metadata."""
        from confluent_kafka.admin import AdminClient

        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "kgw", "serve", "--port", "0",
                                      "--data-dir", self.data_dir, *self.serve_args],
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            match = READY.search(line)
            if match:
                self.bootstrap = f"{match.group(1)}:{match.group(2)}"
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10)
        return time.perf_counter() - t0

    def rss_mb(self) -> float:
        return _rss_mb(self.proc.pid)

    def cpu_s(self) -> float:
        return _cpu_s(self.proc.pid)

    def stop(self, timeout: float = 30):
        self.proc.terminate()
        self.proc.wait(timeout)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_topic(bootstrap, name, partitions=1):
    from confluent_kafka.admin import AdminClient, NewTopic

    # The admin client must outlive its futures.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    for future in futures.values():
        future.result(30)


def librdkafka_produce(bootstrap, topic, count, size, acks):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5})
    payload = b"x" * size
    start = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.001)
    assert producer.flush(60) == 0
    return time.perf_counter() - start


def librdkafka_consume(bootstrap, topic, count):
    from confluent_kafka import Consumer, TopicPartition

    # librdkafka stops prefetching for a second (fetch.queue.backoff.ms)
    # whenever its queue holds queued.min.messages (100,000): a Python loop
    # drains slower than kgw fills it, so let the queue hold the whole run.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False, "queued.min.messages": count})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.perf_counter()
    while got < count:
        for message in consumer.consume(10_000, timeout=1):
            if not message.error():
                got += 1
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def kafka_python_produce(bootstrap, topic, count, size):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024)
    payload = b"x" * size
    start = time.perf_counter()
    for _ in range(count):
        producer.send(topic, payload)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    producer.close()
    return elapsed


def kafka_python_consume(bootstrap, topic, count):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             max_partition_fetch_bytes=8 << 20, fetch_max_bytes=32 << 20)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    got = 0
    start = time.perf_counter()
    while got < count:
        for records in consumer.poll(timeout_ms=1000, max_records=100_000).values():
            got += len(records)
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def latency(bootstrap, topic, rate=1000, seconds=5):
    """p50/p99 of produce-to-consume time with librdkafka's default settings."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    producer = Producer({"bootstrap.servers": bootstrap})
    total = rate * seconds
    samples = []
    done = threading.Event()

    def consume():
        while len(samples) < total and not done.is_set():
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                samples.append(time.perf_counter() - float(message.value()))

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(1)  # let the consumer's first fetch start long-polling
    start = time.perf_counter()
    for i in range(total):
        target = start + i / rate
        while time.perf_counter() < target:
            time.sleep(max(target - time.perf_counter(), 0))
        producer.produce(topic, repr(time.perf_counter()).encode())
        producer.poll(0)
    producer.flush(30)
    reader.join(30)
    done.set()
    consumer.close()
    samples.sort()
    return samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.99)] * 1000, len(samples)


class ReferenceKafka:
    """Apache Kafka (compat/reference), observed through /proc like Broker."""

    def __init__(self, data_dir: str):
        from compat.reference.apache_kafka import ApacheKafka

        self.kafka = ApacheKafka(Path(data_dir) / "kafka")
        self.bootstrap = None

    def start(self) -> float:
        """Format and start Kafka; seconds to its first answered Metadata."""
        t0 = time.perf_counter()
        self.kafka.start()
        self.bootstrap = self.kafka.bootstrap
        return time.perf_counter() - t0

    def rss_mb(self) -> float:
        return _rss_mb(self.kafka.proc.pid)

    def cpu_s(self) -> float:
        return _cpu_s(self.kafka.proc.pid)

    def stop(self):
        self.kafka.stop()


def measure(bootstrap: str, n: int, size: int, broker=None) -> dict[str, tuple[float, float | None]]:
    """{what: (per second or milliseconds, broker CPU microseconds per message or None)}."""
    results: dict[str, tuple[float, float | None]] = {}

    def measured(label, fn, *fn_args):
        cpu0 = broker.cpu_s() if broker else None
        seconds = fn(*fn_args)
        cpu = (broker.cpu_s() - cpu0) / n * 1e6 if broker else None
        results[label] = (n / seconds, cpu)

    for acks in ("1", "all"):
        topic = f"bench-rd-{acks}-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic)
        measured(f"librdkafka produce acks={acks}", librdkafka_produce, bootstrap, topic, n, size, acks)
    measured("librdkafka consume", librdkafka_consume, bootstrap, topic, n)
    topic = f"bench-kp-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    measured("kafka-python produce acks=1", kafka_python_produce, bootstrap, topic, n, size)
    measured("kafka-python consume", kafka_python_consume, bootstrap, topic, n)
    topic = f"bench-lat-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    p50, p99, _ = latency(bootstrap, topic)
    results["end-to-end latency p50 (ms)"] = (p50, None)
    results["end-to-end latency p99 (ms)"] = (p99, None)
    return results


def compare(n: int, size: int, rounds: int) -> None:
    """kgw and Apache Kafka alternately, `rounds` each; medians and their ratio."""
    runs: dict[str, list[dict]] = {"kgw": [], "kafka": []}
    for _ in range(rounds):
        for name, kind in (("kgw", Broker), ("kafka", ReferenceKafka)):
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as data_dir:
                broker = kind(data_dir)
                startup = broker.start()
                results = measure(broker.bootstrap, n, size, broker)
                results["start-up to first Metadata (ms)"] = (startup * 1000, None)
                results["RSS after the run (MB)"] = (broker.rss_mb(), None)
                broker.stop()
            runs[name].append(results)
            print(f"  {name}: " + ", ".join(f"{k} {v[0]:,.1f}" for k, v in results.items()))
    print(f"\n| what ({n:,} messages of {size} bytes) | kgw | Apache Kafka | kgw / Kafka |")
    print("|---|---|---|---|")
    for label in runs["kgw"][0]:
        ours = statistics.median(r[label][0] for r in runs["kgw"])
        theirs = statistics.median(r[label][0] for r in runs["kafka"])
        unit = "" if "(" in label else " msg/s"
        cpu = [r[label][1] for r in runs["kgw"] if r[label][1] is not None]
        ref_cpu = [r[label][1] for r in runs["kafka"] if r[label][1] is not None]
        extra = (f" (CPU {statistics.median(cpu):.2f} / {statistics.median(ref_cpu):.2f} us/msg)"
                 if cpu and ref_cpu else "")
        print(f"| {label} | {ours:,.1f}{unit} | {theirs:,.1f}{unit} | {ours / theirs:.2f}{extra} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting kgw")
    parser.add_argument("--against-kafka", action="store_true",
                        help="run kgw and Apache Kafka 4.x (compat/reference) alternately; a ratio table")
    parser.add_argument("--rounds", type=int, default=2, help="with --against-kafka: runs of each")
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    if args.against_kafka:
        compare(args.messages, args.size, args.rounds)
        return
    n, size = args.messages, args.size
    mb = n * size / 1e6
    broker = None
    with tempfile.TemporaryDirectory(prefix="kgw-bench-") as data_dir:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            broker = Broker(data_dir)
            startup = broker.start()
            bootstrap = broker.bootstrap
            print(f"kgw serve -> first Metadata answered: {startup * 1000:.0f} ms")
            print(f"broker RSS at start: {broker.rss_mb():.1f} MB")

        print(f"{n:,} messages of {size} bytes ({mb:.0f} MB), one partition")
        for label, (value, cpu) in measure(bootstrap, n, size, broker).items():
            if "(ms)" in label:
                print(f"  {label:<34} {value:>12,.2f}")
                continue
            line = f"  {label:<34} {value:>12,.0f} msg/s {value * size / 1e6:>8.1f} MB/s"
            if cpu is not None:
                line += f"   broker CPU {cpu:.2f} us/msg"
            print(line)
        if broker:
            print(f"broker RSS after the run: {broker.rss_mb():.1f} MB")
            broker.stop()


if __name__ == "__main__":
    main()
