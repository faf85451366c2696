"""Consumer groups end to end with real clients (a benchmark, not a test).

    python -m bench.groups_first_message                       # starts its own kgw
    python -m bench.groups_first_message --bootstrap HOST:PORT # any Kafka-compatible broker

1. Time to the first message for a NEW group: from subscribe() to the first
   message poll() returns, with librdkafka (confluent-kafka) and kafka-python
   at their default settings, except auto.offset.reset=earliest (the topic
   already holds the messages) and a fresh group id per trial. The consumer
   is constructed (and has bootstrapped) before the clock starts; the time
   from construction is printed too. Target: under 200 ms.
2. Rebalance after a member leaves: three members of one group (threads in
   this process, each polling its own consumer) share a 6-partition topic;
   one closes (LeaveGroup) and the clock runs until both others hold their
   new assignments (their on-assign callbacks). With default settings the
   others learn of the rebalance from their next heartbeat (every 3 s for
   both clients), so this is dominated by heartbeat.interval.ms; a second
   run with heartbeat.interval.ms=100 shows the rest.

Numbers are printed, never asserted (DESIGN.md).
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

READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")
PARTITIONS = 6


def start_kgw(data_dir: str):
    proc = subprocess.Popen([sys.executable, "-m", "kgw", "serve", "--port", "0", "--data-dir", data_dir],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        match = READY.search(line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, f"{match.group(1)}:{match.group(2)}"
    raise RuntimeError("kgw did not start")


def prepare_topic(bootstrap: str) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-groups-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(PARTITIONS * 10):
        producer.produce(topic, f"m{i}".encode(), partition=i % PARTITIONS)
    assert producer.flush(10) == 0
    return topic


def summary(values_ms: list[float]) -> str:
    values = sorted(values_ms)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return (f"median {statistics.median(values):7.1f} ms   min {values[0]:7.1f}   p90 {p90:7.1f}   "
            f"max {values[-1]:7.1f}   (n={len(values)})")


# --- 1. first message ----------------------------------------------------------------

def first_message_confluent(bootstrap: str, topic: str) -> tuple[float, float]:
    from confluent_kafka import Consumer

    t_construct = time.perf_counter()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    try:
        t0 = time.perf_counter()
        consumer.subscribe([topic])
        deadline = t0 + 30
        while time.perf_counter() < deadline:
            msg = consumer.poll(0.01)
            if msg is not None and not msg.error():
                t1 = time.perf_counter()
                return (t1 - t0) * 1000, (t1 - t_construct) * 1000
        raise RuntimeError("confluent: no message within 30 s")
    finally:
        consumer.close()


def first_message_kafka_python(bootstrap: str, topic: str) -> tuple[float, float]:
    from kafka import KafkaConsumer

    t_construct = time.perf_counter()
    # consumer_timeout_ms only bounds a stall (see compat/groups/FINDINGS.md):
    # the iterator returns the first message as soon as it is fetched.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex}",
                             auto_offset_reset="earliest", consumer_timeout_ms=15000)
    try:
        t0 = time.perf_counter()
        consumer.subscribe([topic])
        for _ in consumer:
            t1 = time.perf_counter()
            return (t1 - t0) * 1000, (t1 - t_construct) * 1000
        raise RuntimeError("kafka-python: no message within 15 s (the join stalled)")
    finally:
        consumer.close()


# --- 2. rebalance after a member leaves ----------------------------------------------------

class Member(threading.Thread):
    """One consumer polled by its own thread; records (time, assignment)."""

    def __init__(self, client: str, bootstrap: str, group: str, topic: str, heartbeat_ms: int | None):
        super().__init__(daemon=True)
        self.client, self.bootstrap, self.group, self.topic = client, bootstrap, group, topic
        self.heartbeat_ms = heartbeat_ms
        self.owned: set[int] = set()
        self.history: list[tuple[float, frozenset]] = []
        self.stop_at: float | None = None  # when close() was called
        self._quit = threading.Event()
        self.error = None

    def record(self):
        self.history.append((time.perf_counter(), frozenset(self.owned)))

    def run(self):
        try:
            (self._run_confluent if self.client == "confluent" else self._run_kafka_python)()
        except Exception as exc:  # reported by the caller
            self.error = exc

    def _run_confluent(self):
        from confluent_kafka import Consumer

        conf = {"bootstrap.servers": self.bootstrap, "group.id": self.group, "auto.offset.reset": "earliest"}
        if self.heartbeat_ms:
            conf["heartbeat.interval.ms"] = self.heartbeat_ms
        consumer = Consumer(conf)

        def on_assign(c, partitions):
            self.owned |= {tp.partition for tp in partitions}
            self.record()

        def on_revoke(c, partitions):
            self.owned -= {tp.partition for tp in partitions}
            self.record()

        consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        while not self._quit.is_set():
            consumer.poll(0.01)
        self.stop_at = time.perf_counter()
        consumer.close()

    def _run_kafka_python(self):
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.owned -= {tp.partition for tp in revoked}
                member.record()

            def on_partitions_assigned(self, assigned):
                member.owned |= {tp.partition for tp in assigned}
                member.record()

        kw = {"heartbeat_interval_ms": self.heartbeat_ms} if self.heartbeat_ms else {}
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                                 auto_offset_reset="earliest", **kw)
        consumer.subscribe([self.topic], listener=Listener())
        # Work around kafka-python's stall when its first assignment predates
        # the topic's metadata (compat/groups/FINDINGS.md).
        consumer.topics()
        # A long poll timeout: kafka-python 3.0.12 drops a JoinGroup/SyncGroup
        # result that completes between two poll() calls and rejoins at once,
        # which costs the whole group another rebalance (FINDINGS.md); short
        # polls make that frequent.
        while not self._quit.is_set():
            consumer.poll(timeout_ms=500)
        self.stop_at = time.perf_counter()
        consumer.close()

    def stop(self):
        self._quit.set()


def stable(members) -> bool:
    owned = [m.owned for m in members]
    return all(owned) and sum(map(len, owned)) == PARTITIONS and set().union(*owned) == set(range(PARTITIONS))


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.005)


def rebalance_after_leave(client: str, bootstrap: str, topic: str, heartbeat_ms: int | None) -> float:
    group = f"bench-rebalance-{uuid.uuid4().hex}"
    members = [Member(client, bootstrap, group, topic, heartbeat_ms) for _ in range(3)]
    for m in members:
        m.start()
    try:
        wait(lambda: stable(members), 60, "three members to be stable")
        leaving, staying = members[2], members[:2]
        leaving.stop()
        wait(lambda: leaving.stop_at is not None, 10, "the member to start closing")
        wait(lambda: stable(staying) or any(m.error for m in members), 60, "the two to take over")
        for m in members:
            if m.error:
                raise m.error
        done = max(next(t for t, owned in reversed(m.history) if owned == frozenset(m.owned))
                   for m in staying)
        return (done - leaving.stop_at) * 1000
    finally:
        for m in members:
            m.stop()
        for m in members:
            m.join(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", help="an existing broker (default: start a kgw)")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--rebalance-trials", type=int, default=4)
    args = parser.parse_args()

    proc = None
    with tempfile.TemporaryDirectory(prefix="kgw-bench-groups-") as data_dir:
        bootstrap = args.bootstrap
        if bootstrap is None:
            proc, bootstrap = start_kgw(data_dir)
        try:
            topic = prepare_topic(bootstrap)
            print(f"broker {bootstrap}, topic {topic} ({PARTITIONS} partitions, 10 messages each)")
            print("\n1. new group: subscribe() -> first message (default settings, "
                  "auto.offset.reset=earliest)")
            for name, fn in (("confluent-kafka (librdkafka)", first_message_confluent),
                             ("kafka-python", first_message_kafka_python)):
                fn(bootstrap, topic)  # warm up imports and connections
                results, stalls = [], 0
                for _ in range(args.trials):
                    try:
                        results.append(fn(bootstrap, topic))
                    except RuntimeError:
                        stalls += 1
                if results:
                    print(f"  {name:30s} from subscribe:    {summary([r[0] for r in results])}")
                    print(f"  {'':30s} from construction: {summary([r[1] for r in results])}")
                if stalls:
                    print(f"  {name:30s} stalled (no message) in {stalls}/{args.trials} trials")

            print("\n2. three-member group, one member leaves: close() -> both others hold "
                  "their new assignment")
            for client in ("confluent", "kafka-python"):
                for label, heartbeat in (("default heartbeat (3 s)", None), ("heartbeat.interval.ms=100", 100)):
                    times = [rebalance_after_leave(client, bootstrap, topic, heartbeat)
                             for _ in range(args.rebalance_trials)]
                    print(f"  {client:13s} {label:26s} {summary(times)}")
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(15)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
