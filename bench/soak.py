"""A bounded soak: mixed clients, hostile clients, and kill -9 every minute.

    python -m bench.soak [--minutes 10] [--kill-every 60] [--quiet-minutes 2]

Runs one `kgw serve` and, for `--minutes`, at the same time:

- idempotent producers (librdkafka, acks=all) writing numbered records and
  noting each one acknowledged;
- a consumer group of two librdkafka consumers reading and committing;
- a transactional producer committing numbered transactions;
- an admin loop creating, describing and deleting topics;
- hostile clients: long-polling Fetches whose sockets close at once,
  frames that announce 90 MiB and stall, garbage frames, floods of
  JoinGroups that never come back, and ListOffsets by time over a
  decompression bomb.

kgw is killed with SIGKILL and restarted on the same port and data
directory every `--kill-every` seconds, but not during the last
`--quiet-minutes`, whose start is the baseline for the broker's RSS and open
descriptors.  At the end it checks, with a read_uncommitted and a
read_committed consumer from the start of each topic, that every
acknowledged record and every committed transaction is present exactly
once, and that RSS and descriptors came back near the baseline after the
hostile clients stopped.  Prints figures; exits 1 if a check fails.
Not part of `make test`.
"""

import argparse
import os
import socket
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compat.harness import KgwProcess, Wire  # noqa: E402
from protocol.compression import Codec  # noqa: E402
from protocol.messages import FETCH, JOIN_GROUP, LIST_OFFSETS, PRODUCE  # noqa: E402
from protocol.records import Record, build_batch  # noqa: E402

DATA, TXN, BOMB = "soak-data", "soak-txn", "soak-bomb"
PARTITIONS = 3
PRODUCERS = 2
# librdkafka logs every refused connection during a restart; the figures say enough.
QUIET = {"log_level": 0}


class Soak:
    def __init__(self, broker: KgwProcess):
        self.broker = broker
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: Counter = Counter()
        self.committed_txns: list[int] = []
        self.consumed = 0
        self.admin_calls = 0
        self.hostile_rounds: Counter = Counter()
        self.errors: Counter = Counter()

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    # --- well-behaved clients ---------------------------------------------------

    def produce(self, worker: int) -> None:
        from confluent_kafka import Producer

        producer = Producer({**QUIET, "bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                             "acks": "all", "linger.ms": 5, "message.timeout.ms": 300_000})

        def delivered(err, msg):
            if err is None:
                with self.lock:
                    self.acked[msg.value()] += 1
            else:
                self.errors[f"produce: {err.name()}"] += 1

        seq = 0
        while not self.stop.is_set():
            try:
                producer.produce(DATA, f"p{worker}-{seq}".encode(), key=str(seq % 97).encode(),
                                 on_delivery=delivered)
                seq += 1
            except BufferError:
                producer.poll(0.05)
            producer.poll(0)
            if seq % 200 == 0:
                time.sleep(0.01)
        if producer.flush(300):
            self.errors["produce: not flushed at the end"] += 1

    def consume(self, name: str) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({**QUIET, "bootstrap.servers": self.bootstrap, "group.id": "soak-group",
                             "client.id": name, "auto.offset.reset": "earliest",
                             "enable.auto.commit": True, "session.timeout.ms": 10_000})
        consumer.subscribe([DATA])
        while not self.stop.is_set():
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                with self.lock:
                    self.consumed += 1
        consumer.close()

    def transact(self) -> None:
        from confluent_kafka import KafkaException, Producer

        producer = Producer({**QUIET, "bootstrap.servers": self.bootstrap,
                             "transactional.id": "soak-txn", "transaction.timeout.ms": 60_000,
                             "message.timeout.ms": 60_000})
        producer.init_transactions(120)
        number = 0
        while not self.stop.is_set():
            try:
                producer.begin_transaction()
                for i in range(5):
                    producer.produce(TXN, f"t{number}-{i}".encode(), partition=i % PARTITIONS)
                producer.commit_transaction(120)
                self.committed_txns.append(number)
            except KafkaException as exc:
                error = exc.args[0]
                self.errors[f"transaction: {error.name()}"] += 1
                if error.txn_requires_abort():
                    producer.abort_transaction(120)
                elif not error.retriable():
                    producer = Producer({**QUIET, "bootstrap.servers": self.bootstrap,
                                         "transactional.id": "soak-txn",
                                         "transaction.timeout.ms": 60_000,
                                         "message.timeout.ms": 60_000})
                    producer.init_transactions(120)
            number += 1
            time.sleep(0.05)

    def administer(self) -> None:
        from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

        admin = AdminClient({**QUIET, "bootstrap.servers": self.bootstrap})
        n = 0
        while not self.stop.is_set():
            name = f"soak-admin-{n % 5}"
            try:
                admin.create_topics([NewTopic(name, 2, 1)])[name].result(30)
                admin.describe_configs([ConfigResource("topic", name)])
                admin.list_consumer_groups().result(30)
                admin.delete_topics([name])[name].result(30)
                self.admin_calls += 4
            except Exception as exc:  # noqa: BLE001 (a restart makes any call fail; counted)
                error = exc.args[0] if exc.args else None
                name = error.name() if hasattr(error, "name") else type(exc).__name__
                self.errors[f"admin: {name}"] += 1
            n += 1
            time.sleep(0.2)

    # --- hostile clients ------------------------------------------------------------

    def _connect(self) -> socket.socket:
        host, port = self.bootstrap.rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=5)

    def hostile(self) -> None:
        attacks = [self._abandoned_long_poll, self._stalled_huge_frame, self._garbage,
                   self._join_flood, self._bomb_lookup]
        i = 0
        while not self.stop.is_set():
            attack = attacks[i % len(attacks)]
            try:
                attack()
                self.hostile_rounds[attack.__name__.lstrip("_")] += 1
            except (OSError, AssertionError):
                # kgw restarting, or closing on a hostile frame as it should.
                pass
            i += 1

    def _abandoned_long_poll(self) -> None:
        for _ in range(20):
            with Wire(self.bootstrap) as wire:
                Topic = FETCH.Request.FetchTopic
                wire.send(FETCH.key, 12, replica_id=-1, max_wait_ms=2**31 - 1, min_bytes=1 << 30,
                          max_bytes=1 << 20, isolation_level=0, topics=[Topic(
                              topic=DATA, partitions=[Topic.FetchPartition(
                                  partition=0, fetch_offset=0, partition_max_bytes=1 << 20)])])

    def _stalled_huge_frame(self) -> None:
        with self._connect() as sock:
            sock.sendall(struct.pack(">i", 90 << 20) + b"\0" * (1 << 20))
            self.stop.wait(2)

    def _garbage(self) -> None:
        with self._connect() as sock:
            sock.sendall(struct.pack(">i", 64) + os.urandom(64))
            try:
                sock.recv(16)
            except OSError:
                pass

    def _join_flood(self) -> None:
        with Wire(self.bootstrap) as wire:
            Protocol = JOIN_GROUP.Request.JoinGroupRequestProtocol
            for i in range(200):
                wire.call(JOIN_GROUP.key, 5, group_id=f"soak-flood-{i % 20}", session_timeout_ms=6000,
                          rebalance_timeout_ms=6000, member_id="", group_instance_id=None,
                          protocol_type="consumer",
                          protocols=[Protocol(name="range", metadata=b"")])

    def _bomb_lookup(self) -> None:
        with Wire(self.bootstrap) as wire:
            Topic = LIST_OFFSETS.Request.ListOffsetsTopic
            wire.call(LIST_OFFSETS.key, 7, replica_id=-1, isolation_level=0, topics=[Topic(
                name=BOMB, partitions=[Topic.ListOffsetsPartition(partition_index=0,
                                                                  timestamp=1)])])


def broker_resources(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def read_all(bootstrap: str, topic: str, isolation: str) -> Counter:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"soak-check-{isolation}",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen: Counter = Counter()
    at_end: set[int] = set()
    idle_until = time.monotonic() + 60
    while len(at_end) < PARTITIONS and time.monotonic() < idle_until:
        for message in consumer.consume(10_000, timeout=1):
            if message.error():
                if message.error().name() == "_PARTITION_EOF":
                    at_end.add(message.partition())
                continue
            seen[message.value()] += 1
            idle_until = time.monotonic() + 60
    consumer.close()
    return seen


def create_topics(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (DATA, TXN, BOMB)]).values():
        future.result(30)
    # Past what a lookup inflates (32 MiB) and within what a Produce
    # inflates to check it (64 MiB), so that it is stored.
    bomb = build_batch([Record(0, 1_000, None, bytes(48 << 20))], codec=Codec.GZIP)
    with Wire(bootstrap) as wire:
        Topic = PRODUCE.Request.TopicProduceData
        body = wire.call(PRODUCE.key, 9, transactional_id=None, acks=1, timeout_ms=30_000, topic_data=[
            Topic(name=BOMB, partition_data=[Topic.PartitionProduceData(index=0, records=bomb)])])
    assert body.responses[0].partition_responses[0].error_code == 0, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--kill-every", type=float, default=60)
    parser.add_argument("--quiet-minutes", type=float, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kgw-soak-") as scratch:
        broker = KgwProcess(Path(scratch) / "data").start()
        create_topics(broker.bootstrap)
        soak = Soak(broker)
        workers = [threading.Thread(target=soak.produce, args=(i,)) for i in range(PRODUCERS)]
        workers += [threading.Thread(target=soak.consume, args=(f"c{i}",)) for i in range(2)]
        workers += [threading.Thread(target=soak.transact), threading.Thread(target=soak.administer),
                    threading.Thread(target=soak.hostile)]
        for worker in workers:
            worker.start()
        started = time.monotonic()
        end = started + args.minutes * 60
        quiet_from = end - args.quiet_minutes * 60
        kills = 0
        next_kill = started + args.kill_every
        while time.monotonic() < quiet_from:
            time.sleep(1)
            if time.monotonic() >= next_kill:
                broker.restart(crash=True)
                kills += 1
                next_kill = time.monotonic() + args.kill_every
        time.sleep(10)
        baseline = broker_resources(broker.proc.pid)
        while time.monotonic() < end:
            time.sleep(1)
        soak.stop.set()
        for worker in workers:
            worker.join(600)
        time.sleep(5)  # the hostile clients' connections and parked requests are gone
        final = broker_resources(broker.proc.pid)
        data = read_all(broker.bootstrap, DATA, "read_uncommitted")
        txns = read_all(broker.bootstrap, TXN, "read_committed")
        assert broker.stop() == 0

    lost = [v for v in soak.acked if data[v] == 0]
    duplicated = [v for v, n in data.items() if n > 1]
    expected_txn = Counter(f"t{n}-{i}".encode() for n in soak.committed_txns for i in range(5))
    txn_lost = [v for v in expected_txn if txns[v] == 0]
    txn_duplicated = [v for v, n in txns.items() if n > 1]
    print(f"soak: {args.minutes:g} min, {kills} kill -9 and restarts")
    print(f"  acknowledged records: {len(soak.acked):,}; consumed by the group: {soak.consumed:,}")
    print(f"  committed transactions: {len(soak.committed_txns):,}; admin calls: {soak.admin_calls:,}")
    print(f"  hostile rounds: {dict(soak.hostile_rounds)}")
    print(f"  client-side errors (expected around restarts): {dict(soak.errors)}")
    print(f"  broker RSS {baseline[0]:.1f} -> {final[0]:.1f} MB, descriptors {baseline[1]} -> {final[1]}")
    print(f"  acknowledged but missing: {len(lost)}; present more than once: {len(duplicated)}")
    print(f"  committed transactions' records missing: {len(txn_lost)}; "
          f"more than once: {len(txn_duplicated)}")
    ok = (not lost and not duplicated and not txn_lost and not txn_duplicated
          and final[1] <= baseline[1] + 10 and final[0] <= baseline[0] * 1.5 + 20)
    print("soak: clean" if ok else "soak: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
