"""Helpers for the kafka-python compat tests: client factories that record
every client they make (so the test's teardown closes all of them), a
reader that consumes assigned partitions up to known end offsets, and a
reader of the RecordBatch headers kgw stored on disk (to see the codec the
producer really used)."""

import itertools
import threading
import time
from collections import defaultdict

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from .. import harness

_ids = itertools.count()

# Short timeouts keep failures fast; none of them is asserted on.
PRODUCER_DEFAULTS = dict(
    linger_ms=5,
    request_timeout_ms=5000,
    delivery_timeout_ms=30000,
    retry_backoff_ms=50,
    reconnect_backoff_ms=20,
    reconnect_backoff_max_ms=200,
)
CONSUMER_DEFAULTS = dict(
    group_id=None,
    enable_auto_commit=False,
    auto_offset_reset="earliest",
    fetch_max_wait_ms=100,
    request_timeout_ms=5000,
    retry_backoff_ms=50,
    reconnect_backoff_ms=20,
    reconnect_backoff_max_ms=200,
)
ADMIN_DEFAULTS = dict(request_timeout_ms=5000, retry_backoff_ms=50, reconnect_backoff_ms=20)

CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


class Clients:
    """Makes kafka-python clients and closes every one of them at the end."""

    def __init__(self):
        self.prefix = f"kgw-compat-kp-{next(_ids)}"
        self._made = []

    def _client_id(self):
        return f"{self.prefix}-{len(self._made)}"

    def producer(self, bootstrap, **overrides):
        config = {**PRODUCER_DEFAULTS, **overrides}
        producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=self._client_id(), **config)
        self._made.append(producer)
        return producer

    def consumer(self, bootstrap, **overrides):
        config = {**CONSUMER_DEFAULTS, **overrides}
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id=self._client_id(), **config)
        self._made.append(consumer)
        return consumer

    def admin(self, bootstrap, **overrides):
        config = {**ADMIN_DEFAULTS, **overrides}
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=self._client_id(), **config)
        self._made.append(admin)
        return admin

    def close_all(self):
        errors = []
        for client in reversed(self._made):
            try:
                if isinstance(client, KafkaProducer):
                    client.close(timeout=10)
                else:
                    client.close()
            except Exception as exc:  # keep closing the others
                errors.append(repr(exc))
        self._made.clear()
        return errors

    def lingering_threads(self, wait_s=5.0):
        """Threads of this test's clients still alive after close_all()."""
        deadline = time.monotonic() + wait_s
        while True:
            alive = [t.name for t in threading.enumerate() if self.prefix + "-" in t.name and t.is_alive()]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)


def checked_clients():
    """The body of a fixture: a Clients whose every client is closed at
    teardown, with no thread of theirs outliving the test."""
    made = Clients()
    yield made
    errors = made.close_all()
    assert not errors, f"closing kafka-python clients failed: {errors}"
    lingering = made.lingering_threads()
    assert not lingering, f"kafka-python threads still running after close: {lingering}"


def record_tuple(record):
    """The parts of a ConsumerRecord a test compares exactly."""
    return (record.partition, record.offset, record.key, record.value, list(record.headers))


def read_range(consumer, ends, timeout_s=20.0):
    """Poll an assigned consumer until every partition in `ends`
    ({TopicPartition: end offset}) has reached its end offset; return
    {TopicPartition: [ConsumerRecord, ...]} in offset order."""
    got = defaultdict(list)
    deadline = time.monotonic() + timeout_s
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            positions = {tp: consumer.position(tp) for tp in ends}
            raise AssertionError(f"consumer stuck at {positions}, expected {ends}")
        for tp, records in consumer.poll(timeout_ms=200).items():
            got[tp].extend(records)
    return dict(got)


def read_all(consumer, topic, partitions, end, start=None):
    """Assign the partitions, seek to `start` (or the beginning) and read up
    to `end` (one int for all, or {partition: end})."""
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    for tp in tps:
        if start is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, start)
    ends = {tp: (end[tp.partition] if isinstance(end, dict) else end) for tp in tps}
    return read_range(consumer, ends)


def stored_batches(data_dir, topic, partition):
    """Every RecordBatch header in the partition's segment files, as dicts."""
    return [dict(base_offset=b.base_offset, magic=b.magic, codec=b.compression,
                 last_offset_delta=b.last_offset_delta, producer_id=b.producer_id,
                 producer_epoch=b.producer_epoch, base_sequence=b.base_sequence,
                 record_count=b.record_count)
            for b in harness.stored_batches(data_dir, topic, partition)]


def require_codec(codec):
    """kafka-python's codecs need optional python packages (gzip is stdlib)."""
    from ..harness import require

    module = {"gzip": "gzip", "snappy": "snappy", "lz4": "lz4.frame", "zstd": "zstandard"}[codec]
    require(module)
