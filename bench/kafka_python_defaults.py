"""kafka-python's default producer against kgw's default flush and --flush never.

    python -m bench.kafka_python_defaults [--messages N] [--rounds R]

kafka-python 3.0's defaults are an idempotent producer with acks=all and
five requests in flight per connection: every Produce waits for an fsync
under kgw's default `--flush acks`, and `--flush never` shows what the
fsyncs cost.  Pipelined requests on one connection share fsyncs (see
kgw.connections), which is what keeps the two close.  The two brokers
alternate, R rounds each, each with a fresh data directory.  Printed,
never asserted.
"""

import argparse
import statistics
import tempfile
import time
import uuid

from .clients_e2e import Broker, create_topic


def produce_with_defaults(bootstrap: str, topic: str, count: int, size: int) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    payload = b"x" * size
    start = time.perf_counter()
    for _ in range(count):
        producer.send(topic, payload)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    producer.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"acks": [], "never": []}
    for _ in range(args.rounds):
        for flush in rates:
            with tempfile.TemporaryDirectory(prefix="kgw-bench-") as data_dir:
                broker = Broker(data_dir, "--flush", flush)
                broker.start()
                topic = f"bench-kp-{uuid.uuid4().hex[:8]}"
                create_topic(broker.bootstrap, topic)
                seconds = produce_with_defaults(broker.bootstrap, topic, args.messages, args.size)
                broker.stop()
            rates[flush].append(args.messages / seconds)
            print(f"  --flush {flush:<6} {args.messages / seconds:>9,.0f} msg/s")
    for flush, values in rates.items():
        print(f"kafka-python defaults, --flush {flush}: median {statistics.median(values):,.0f} msg/s "
              f"over {len(values)} rounds")


if __name__ == "__main__":
    main()
