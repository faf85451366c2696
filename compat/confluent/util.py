"""Helpers for driving confluent-kafka (librdkafka 2.16) against kgw.

Every client made here is closed by its context manager, so no librdkafka
thread outlives a test.
"""

import os
import time
from contextlib import contextmanager


# Short enough that a broken test fails fast, long enough for a slow CI box.
DEADLINE_S = 20


def ck():
    import confluent_kafka
    import confluent_kafka.admin  # noqa: F401  (a submodule: not imported by the package)
    return confluent_kafka


def _dotted(config: dict) -> dict:
    """librdkafka property names from Python keywords (acks, linger_ms, ...);
    callbacks (error_cb, ...) and logger keep their names."""
    return {k if k.endswith("_cb") or k == "logger" else k.replace("_", "."): v
            for k, v in config.items()}


@contextmanager
def producer(bootstrap: str, **config):
    """A Producer; `config` keys use librdkafka's dotted names via `_`."""
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5,
            "message.timeout.ms": 15000, "socket.timeout.ms": 5000}
    conf.update(_dotted(config))
    conf = {k: v for k, v in conf.items() if v is not None}
    p = ck().Producer(conf)
    try:
        yield p
    finally:
        p.flush(10)
        p.close()


@contextmanager
def consumer(bootstrap: str, **config):
    """A Consumer that only ever assign()s. librdkafka wants a group.id even
    so, and looks up its coordinator; auto-commit is off so that these tests
    do not depend on groups (FINDINGS.md: without a coordinator, close()
    with auto-commit on blocked for session.timeout.ms)."""
    conf = {"bootstrap.servers": bootstrap,
            "group.id": f"compat-confluent-{os.getpid()}-{time.monotonic_ns()}",
            "enable.auto.commit": False, "enable.partition.eof": True,
            # EOF is reported when a fetch at the end comes back empty: do
            # not wait the default 500 ms long-poll for it.
            "fetch.wait.max.ms": 100, "socket.timeout.ms": 5000}
    conf.update(_dotted(config))
    c = ck().Consumer(conf)
    try:
        yield c
    finally:
        c.close()


@contextmanager
def admin(bootstrap: str):
    # AdminClient has no close(); it is torn down when collected.
    yield ck().admin.AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})


def create_topic(adm, name: str, partitions: int = 1, config: dict | None = None) -> None:
    new = ck().admin.NewTopic(name, num_partitions=partitions, replication_factor=1,
                              config=config or {})
    futures = adm.create_topics([new], operation_timeout=5, request_timeout=10)
    assert futures[name].result(timeout=DEADLINE_S) is None


def row(msg):
    """What a consumed message is compared by: everything a client sees."""
    return (msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers(), msg.timestamp())


def consume_to_eof(c, partitions: int = 1, limit: int | None = None, eof_offsets: dict | None = None) -> list:
    """Poll until every assigned partition reported EOF (or `limit`
    messages arrived): the messages, in arrival order, as `row`s.
    `eof_offsets`, if given, gets the offset of each partition's EOF."""
    KafkaError, KafkaException = ck().KafkaError, ck().KafkaException
    rows, eofs = [], set()
    deadline = time.monotonic() + DEADLINE_S
    while len(eofs) < partitions and (limit is None or len(rows) < limit):
        assert time.monotonic() < deadline, f"no EOF after {len(rows)} messages: {rows[-3:]}"
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eofs.add(msg.partition())
                if eof_offsets is not None:
                    eof_offsets[msg.partition()] = msg.offset()
                continue
            raise KafkaException(msg.error())
        eofs.discard(msg.partition())
        rows.append(row(msg))
    return rows


def read_all(bootstrap: str, topic: str, partitions: int = 1, **config) -> list:
    """Everything in the topic from the beginning, by a fresh consumer."""
    TopicPartition, OFFSET_BEGINNING = ck().TopicPartition, ck().OFFSET_BEGINNING
    with consumer(bootstrap, **config) as c:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        return consume_to_eof(c, partitions)


class Deliveries:
    """A delivery-report callback that records (error, partition, offset, key, value)."""

    def __init__(self):
        self.reports = []

    def __call__(self, err, msg):
        self.reports.append((err, msg.partition(), msg.offset(), msg.key(), msg.value()))

    @property
    def errors(self):
        return [r for r in self.reports if r[0] is not None]
