"""End-to-end benchmark with real clients (a benchmark, not a test).

    python -m bench.clients_e2e                       # starts its own kgw
    python -m bench.clients_e2e --bootstrap HOST:PORT # any Kafka-compatible broker

Measures, from outside the broker process: produce and consume throughput
with confluent-kafka (librdkafka) and kafka-python, end-to-end latency at
~1,000 msg/s with librdkafka's default settings, the time from `kgw serve`
to the first answered Metadata request, the broker's RSS, and (for a kgw
it started) the broker's CPU time per message.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid

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
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting kgw")
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
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

        def row(label, seconds, cpu=None):
            line = f"  {label:<34} {n / seconds:>12,.0f} msg/s {mb / seconds:>8.1f} MB/s"
            if cpu is not None:
                line += f"   broker CPU {cpu / n * 1e6:.2f} us/msg"
            print(line)

        def measured(fn, *fn_args):
            cpu0 = broker.cpu_s() if broker else None
            seconds = fn(*fn_args)
            return seconds, (broker.cpu_s() - cpu0) if broker else None

        print(f"{n:,} messages of {size} bytes ({mb:.0f} MB), one partition")
        for acks in ("1", "all"):
            topic = f"bench-rd-{acks}-{uuid.uuid4().hex[:8]}"
            create_topic(bootstrap, topic)
            row(f"librdkafka produce acks={acks}", *measured(librdkafka_produce, bootstrap, topic, n, size, acks))
        row("librdkafka consume", *measured(librdkafka_consume, bootstrap, topic, n))
        topic = f"bench-kp-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic)
        row("kafka-python produce acks=1", *measured(kafka_python_produce, bootstrap, topic, n, size))
        row("kafka-python consume", *measured(kafka_python_consume, bootstrap, topic, n))
        topic = f"bench-lat-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic)
        p50, p99, count = latency(bootstrap, topic)
        print(f"  end-to-end latency at 1,000 msg/s (librdkafka defaults): p50 {p50:.2f} ms, "
              f"p99 {p99:.2f} ms over {count} messages")
        if broker:
            print(f"broker RSS after the run: {broker.rss_mb():.1f} MB")
            broker.stop()


if __name__ == "__main__":
    main()
