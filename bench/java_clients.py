"""The Java client and Kafka Streams against kgw (a benchmark, not a test).

    python -m bench.java_clients                       # starts its own kgw
    python -m bench.java_clients --bootstrap HOST:PORT # any Kafka-compatible broker

Runs compat/java's Maven project (built on first use, as the compat tests
build it), one JVM per measurement, timing inside the JVM:

- the producer as kafka-producer-perf-test runs it: --records records of
  --size bytes to one partition, as fast as it goes, with kafka-clients'
  default settings (idempotent, acks=all, batch.size 16 KiB, linger.ms 5);
- the consumer as kafka-consumer-perf-test runs it: the same records read
  back from the beginning, outside any group;
- the producer again with batch.size 1 MiB and linger.ms 20;
- a Kafka Streams word count (repartition topic, changelog-backed store)
  over --lines lines of five words already in a two-partition topic, from
  RUNNING until its group has committed the end of the input, with
  exactly_once_v2 and with at_least_once (both committing every 100 ms).

For a kgw it started, the broker's CPU time per record is printed too.
"""

import argparse
import json
import os
import subprocess
import tempfile
import uuid

from compat.java._jvm import build

from .clients_e2e import Broker, create_topic

# The JIT at full strength, unlike the compat tests' quick-starting JVMs.
BENCH_JVM_OPTIONS = ["-Xmx1g", "-XX:+UseParallelGC"]


def run_java(java_command, scenario, **args) -> dict:
    proc = subprocess.run([*java_command[:1], *BENCH_JVM_OPTIONS, *java_command[1:], "kgw.compat.Runner",
                           scenario, json.dumps(args)], capture_output=True, text=True, timeout=900)
    answer = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    if proc.returncode != 0 or "result" not in answer:
        raise SystemExit(f"{scenario} failed: {answer}\n{proc.stderr[-3000:]}")
    return answer["result"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="measure this broker instead of starting kgw")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--lines", type=int, default=200_000, help="word-count input lines (5 words each)")
    parser.add_argument("--flush", help="the started kgw's --flush policy (default: kgw's, acks)")
    args = parser.parse_args()
    if args.flush:
        os.environ["KGW_FLUSH"] = args.flush
    java = build()

    with tempfile.TemporaryDirectory(prefix="kgw-bench-") as data_dir:
        broker = None
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            broker = Broker(data_dir)
            broker.start()
            bootstrap = broker.bootstrap

        def measured(label, unit, scenario, **scenario_args):
            cpu0 = broker.cpu_s() if broker else None
            r = run_java(java, scenario, bootstrap=bootstrap, **scenario_args)
            line = f"  {label:<40} {r['recordsPerSecond']:>12,.0f} {unit}/s"
            if r["megabytesPerSecond"]:
                line += f" {r['megabytesPerSecond']:>7.1f} MB/s"
            if broker:
                line += f"   kgw CPU {(broker.cpu_s() - cpu0) / r['records'] * 1e6:.2f} us/{unit}"
            print(line, flush=True)
            return r

        if broker:
            print(f"kgw --flush {args.flush or 'acks'}")
        print(f"kafka-clients 4.4.0: {args.records:,} records of {args.size} bytes, one partition")
        topic = f"bench-java-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic)
        produced = measured("producer (defaults: idempotent, acks=all)", "record", "bench_produce",
                            topic=topic, records=args.records, size=args.size)
        measured("consumer", "record", "bench_consume", topic=topic, records=produced["records"] + 1)
        # kgw serves a connection one request at a time, as Kafka does, and
        # with --flush acks answers each acks=all Produce after its fsync:
        # the producer's 16 KiB batches pay one fsync each, larger ones less.
        create_topic(bootstrap, f"{topic}-large")
        measured("producer (batch.size 1 MiB, linger.ms 20)", "record", "bench_produce",
                 topic=f"{topic}-large", records=args.records, size=args.size,
                 config={"batch.size": str(1 << 20), "linger.ms": "20"})

        print(f"Kafka Streams 4.4.0 word count: {args.lines:,} lines of 5 words, 2 partitions, one thread")
        words = f"bench-words-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, words, 2)
        run_java(java, "bench_feed_words", bootstrap=bootstrap, topic=words, lines=args.lines)
        for guarantee in ("exactly_once_v2", "at_least_once"):
            app_id = f"bench-wc-{uuid.uuid4().hex[:8]}"
            output = f"{app_id}-out"
            create_topic(bootstrap, output, 2)
            measured(guarantee, "line", "bench_word_count", input=words, output=output, appId=app_id,
                     stateDir=f"{data_dir}/streams-{app_id}", guarantee=guarantee)
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
