"""Transactions with a real client (a benchmark, not a test).

    python -m bench.transactions                       # starts its own kgw
    python -m bench.transactions --bootstrap HOST:PORT # any Kafka-compatible broker

A confluent-kafka (librdkafka) transactional producer runs back-to-back
transactions of --batch messages of 100 bytes on --partitions partitions
and commits each; measured: transactions per second, messages per second,
the commit_transaction() latency (its EndTxn includes the markers and their
fsync in kgw), and for a kgw it started the broker's CPU per transaction.
Then a read_committed consumer reads everything back, markers skipped,
and its rate is printed next to that of a read_uncommitted one (after an
untimed warm-up read).
"""

import argparse
import statistics
import tempfile
import time
import uuid

from .clients_e2e import Broker, create_topic

SIZE = 100


def transactions(bootstrap, topic, partitions, count, batch):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"bench-{uuid.uuid4().hex}",
                         "linger.ms": 5})
    producer.init_transactions(30)
    value = b"x" * SIZE
    commits = []
    started = time.perf_counter()
    for n in range(count):
        producer.begin_transaction()
        for i in range(batch):
            producer.produce(topic, value, partition=(n * batch + i) % partitions)
        t0 = time.perf_counter()
        producer.commit_transaction(30)
        commits.append(time.perf_counter() - t0)
    return time.perf_counter() - started, commits


def consume(bootstrap, topic, partitions, expected, isolation):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "queued.min.messages": expected})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = 0
    started = time.perf_counter()
    while got < expected:
        # Never more than are left: consume() waits out its timeout for a
        # batch it cannot fill.
        for message in consumer.consume(min(10_000, expected - got), timeout=5):
            if message.error() is None:
                got += 1
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting kgw")
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10, help="messages per transaction")
    parser.add_argument("--partitions", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kgw-bench-") as data_dir:
        broker = None
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            broker = Broker(data_dir)
            broker.start()
            bootstrap = broker.bootstrap
        topic = f"bench-txn-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic, args.partitions)
        cpu0 = broker.cpu_s() if broker else None
        seconds, commits = transactions(bootstrap, topic, args.partitions, args.transactions, args.batch)
        n = args.transactions
        messages = n * args.batch
        print(f"{n:,} transactions of {args.batch} messages of {SIZE} bytes on "
              f"{args.partitions} partition(s), each committed")
        line = f"  {n / seconds:,.0f} transactions/s, {messages / seconds:,.0f} msg/s"
        if broker:
            line += f", broker CPU {(broker.cpu_s() - cpu0) / n * 1e6:.0f} us/transaction"
        print(line)
        commits.sort()
        print(f"  commit_transaction(): p50 {statistics.median(commits) * 1000:.2f} ms, "
              f"p99 {commits[int(len(commits) * 0.99)] * 1000:.2f} ms")
        # An untimed read first: the first consumer of a run is several
        # times slower at either level (connections, caches).
        consume(bootstrap, topic, args.partitions, messages, "read_uncommitted")
        for isolation in ("read_committed", "read_uncommitted"):
            took = consume(bootstrap, topic, args.partitions, messages, isolation)
            print(f"  {isolation} consume of the {messages:,} messages: {messages / took:,.0f} msg/s")
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
