"""confluent-kafka 2.16 (librdkafka 2.16): the transactional Producer and
read_committed Consumer (librdkafka's default isolation level) against kgw
(KIP-98). The scenarios and their expected offsets are in _util.py;
FINDINGS.md has what was learned."""

import time
from contextlib import contextmanager

import pytest

from .. import harness
from ..harness import committed_offsets, wait_until
from . import _util as u

TIMEOUT_S = 20


@pytest.fixture(autouse=True)
def _confluent_kafka():
    harness.require("confluent_kafka")


def ck():
    from ..confluent.util import ck as modules

    return modules()


@contextmanager
def txn_producer(bootstrap, tid, **config):
    """A transactional Producer, init_transactions() done. No
    message.timeout.ms / socket.timeout.ms: librdkafka refuses them above
    transaction.timeout.ms (+100 for the socket), and derives them itself."""
    conf = {"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5}
    conf.update(config)
    p = ck().Producer(conf)
    try:
        p.init_transactions(TIMEOUT_S)
        yield p
    finally:
        try:
            p.flush(5)
        except ck().KafkaException as exc:
            # A fenced producer raises its fatal error from flush() too.
            if not exc.args[0].fatal():
                raise
        p.close()


def send(producer, topic, partition, values):
    """Produce values (key "k-" + value) and return their delivered offsets."""
    reports = []
    for v in values:
        producer.produce(topic, key=f"k-{v}".encode(), value=v.encode(), partition=partition,
                         on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert producer.flush(TIMEOUT_S) == 0
    assert [err for err, _ in reports] == [None] * len(values), reports
    return [offset for _, offset in reports]


def text_rows(rows):
    """(partition, offset, key, value) of confluent util rows, as text."""
    return sorted((r[0], r[1], r[2].decode(), r[3].decode()) for r in rows)


def read(bootstrap, topic, partitions, isolation):
    """A fresh assign()ed consumer reads from the beginning to EOF: (rows,
    {partition: offset of EOF}). librdkafka's EOF comes at the end offset of
    the isolation level: the last stable offset for read_committed."""
    from ..confluent.util import consume_to_eof, consumer

    TopicPartition = ck().TopicPartition
    eofs = {}
    with consumer(bootstrap, isolation_level=isolation) as c:
        c.assign([TopicPartition(topic, p, ck().OFFSET_BEGINNING) for p in range(partitions)])
        rows = consume_to_eof(c, partitions, eof_offsets=eofs)
    return text_rows(rows), eofs


def watermarks(bootstrap, topic, partitions, isolation):
    """Consumer.get_watermark_offsets (ListOffsets at the consumer's
    isolation.level): {partition: high}."""
    from ..confluent.util import consumer

    with consumer(bootstrap, isolation_level=isolation) as c:
        return {p: c.get_watermark_offsets(ck().TopicPartition(topic, p), timeout=10, cached=False)[1]
                for p in range(partitions)}


def admin_end_offsets(bootstrap, topic, partitions, committed: bool):
    """AdminClient.list_offsets, latest, at an isolation level: {partition: offset}."""
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
    level = IsolationLevel.READ_COMMITTED if committed else IsolationLevel.READ_UNCOMMITTED
    futures = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)},
                                 isolation_level=level, request_timeout=10)
    return {tp.partition: f.result().offset for tp, f in futures.items()}


def ends_every_way(bootstrap, topic, partitions):
    """The end offsets each API gives, read_committed first: they must agree."""
    return {
        "read_committed": (watermarks(bootstrap, topic, partitions, "read_committed"),
                           admin_end_offsets(bootstrap, topic, partitions, committed=True)),
        "read_uncommitted": (watermarks(bootstrap, topic, partitions, "read_uncommitted"),
                             admin_end_offsets(bootstrap, topic, partitions, committed=False)),
    }


def both(stable, high):
    return {"read_committed": (stable, stable), "read_uncommitted": (high, high)}


def fenced(excinfo):
    """The KafkaError of a KafkaException raised for a fenced producer."""
    error = excinfo.value.args[0]
    return (error.code(), error.fatal())


@pytest.mark.kgw_topic(partitions=2)
def test_commit_over_two_partitions(kgw_broker, kgw_topic, txn_id):
    bootstrap = kgw_broker.bootstrap
    with txn_producer(bootstrap, txn_id) as producer:
        producer.begin_transaction()
        offsets = {p: send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN1.items()}
        producer.commit_transaction(TIMEOUT_S)
        assert offsets == {0: [0, 1, 2], 1: [0, 1]}
        # The COMMIT markers took offsets 3 and 2: the end offsets count them.
        assert ends_every_way(bootstrap, kgw_topic, 2) == both(u.COMMIT_ENDS1, u.COMMIT_ENDS1)
        assert read(bootstrap, kgw_topic, 2, "read_committed") == (u.COMMIT_ROWS1, u.COMMIT_ENDS1)

        producer.begin_transaction()
        offsets = {p: send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN2.items()}
        producer.commit_transaction(TIMEOUT_S)
        assert offsets == {0: [4, 5], 1: [3]}
    assert ends_every_way(bootstrap, kgw_topic, 2) == both(u.COMMIT_ENDS2, u.COMMIT_ENDS2)
    for isolation in ("read_committed", "read_uncommitted"):
        assert read(bootstrap, kgw_topic, 2, isolation) == (u.COMMIT_ROWS_ALL, u.COMMIT_ENDS2), isolation
    for p in (0, 1):
        assert u.log_layout(kgw_broker.data_dir, kgw_topic, p) == u.COMMIT_LAYOUT[p]


def test_abort_then_commit(kgw_broker, kgw_topic, txn_id):
    bootstrap = kgw_broker.bootstrap
    with txn_producer(bootstrap, txn_id) as producer:
        producer.begin_transaction()
        assert send(producer, kgw_topic, 0, u.ABORTED) == [0, 1, 2]
        producer.abort_transaction(TIMEOUT_S)
        producer.begin_transaction()
        assert send(producer, kgw_topic, 0, u.COMMITTED) == [4, 5]
        producer.commit_transaction(TIMEOUT_S)
    ends = {0: u.ABORT_END}
    assert read(bootstrap, kgw_topic, 1, "read_committed") == (u.ABORT_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 1, "read_uncommitted") == (u.ABORT_ALL_ROWS, ends)
    assert ends_every_way(bootstrap, kgw_topic, 1) == both(ends, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT


def test_open_transaction_holds_back_the_last_stable_offset(kgw_broker, kgw_topic, txn_id):
    from ..confluent.util import consume_to_eof, consumer

    bootstrap = kgw_broker.bootstrap
    stable, high = u.LSO_WHILE_OPEN["stable"], u.LSO_WHILE_OPEN["high"]
    with txn_producer(bootstrap, txn_id) as producer:
        producer.begin_transaction()
        assert send(producer, kgw_topic, 0, u.LSO_FIRST) == [0, 1]
        producer.commit_transaction(TIMEOUT_S)
        producer.begin_transaction()
        assert send(producer, kgw_topic, 0, u.LSO_OPEN) == [3, 4, 5]
        plain = ck().Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        assert send(plain, kgw_topic, 0, u.LSO_PLAIN) == [6]
        plain.close()

        assert ends_every_way(bootstrap, kgw_topic, 1) == both({0: stable}, {0: high})
        assert read(bootstrap, kgw_topic, 1, "read_uncommitted") == (u.LSO_ALL_ROWS, {0: high})
        with consumer(bootstrap, isolation_level="read_committed") as waiting:
            waiting.assign([ck().TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING)])
            eofs = {}
            assert text_rows(consume_to_eof(waiting, eof_offsets=eofs)) == u.LSO_FIRST_ROWS
            assert eofs == {0: stable}
            assert waiting.poll(1.5) is None  # nothing until the commit

            producer.commit_transaction(TIMEOUT_S)
            assert text_rows(consume_to_eof(waiting, eof_offsets=eofs)) == u.LSO_LATER_ROWS
            assert eofs == {0: u.LSO_END}
    assert ends_every_way(bootstrap, kgw_topic, 1) == both({0: u.LSO_END}, {0: u.LSO_END})
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.LSO_LAYOUT


def test_consume_transform_produce(kgw_broker, kgw_topic, output_topic, txn_id, group_id):
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    bootstrap = kgw_broker.bootstrap
    plain = ck().Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    assert send(plain, kgw_topic, 0, u.CTP_INPUT1) == [0, 1, 2]
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})

    def group_offsets():
        request = ConsumerGroupTopicPartitions(group_id, [TopicPartition(kgw_topic, 0)])
        result = admin.list_consumer_group_offsets([request], request_timeout=10)[group_id].result()
        return {tp.partition: tp.offset for tp in result.topic_partitions}

    def member():
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                      "fetch.wait.max.ms": 100, "session.timeout.ms": 6000, "socket.timeout.ms": 5000})
        c.subscribe([kgw_topic])
        return c

    def poll_rows(c, count):
        got = []
        deadline = time.monotonic() + u.DEADLINE_S
        while len(got) < count:
            assert time.monotonic() < deadline, f"only {got}"
            msg = c.poll(0.2)
            if msg is not None:
                assert msg.error() is None, msg.error()
                got.append(msg)
        return got

    with txn_producer(bootstrap, txn_id) as producer:
        def process(c, count, commit):
            msgs = poll_rows(c, count)
            producer.begin_transaction()
            out = send(producer, output_topic, 0, [u.transformed(m.value().decode()) for m in msgs])
            producer.send_offsets_to_transaction([TopicPartition(kgw_topic, 0, msgs[-1].offset() + 1)],
                                                 c.consumer_group_metadata(), TIMEOUT_S)
            if commit:
                producer.commit_transaction(TIMEOUT_S)
            else:
                producer.abort_transaction(TIMEOUT_S)
            return text_rows((m.partition(), m.offset(), m.key(), m.value()) for m in msgs), out

        c = member()
        assert process(c, 3, commit=True) == (u.CTP_INPUT_ROWS1, [0, 1, 2])
        assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
        assert group_offsets() == {0: 3}
        assert [tp.offset for tp in c.committed([TopicPartition(kgw_topic, 0)], timeout=10)] == [3]

        assert send(plain, kgw_topic, 0, u.CTP_INPUT2) == [3, 4]
        assert process(c, 2, commit=False) == (u.CTP_INPUT_ROWS2, [4, 5])
        assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
        assert group_offsets() == {0: 3}
        c.close()

        # A new member of the group resumes at the offset the aborted round left.
        c = member()
        assert process(c, 2, commit=True) == (u.CTP_INPUT_ROWS2, [7, 8])
        assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 5}
        assert group_offsets() == {0: 5}
        c.close()
    plain.close()

    ends = {0: u.CTP_OUTPUT_END}
    assert read(bootstrap, output_topic, 1, "read_committed") == (u.CTP_OUTPUT_COMMITTED_ROWS, ends)
    assert read(bootstrap, output_topic, 1, "read_uncommitted") == (u.CTP_OUTPUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, output_topic) == u.CTP_OUTPUT_LAYOUT


# Producer.close() aborts an open transaction, which fails for a fenced producer.
@pytest.mark.filterwarnings("ignore:Producer abort_transaction failed during close:RuntimeWarning")
def test_fencing(kgw_broker, kgw_topic, txn_id):
    from confluent_kafka import KafkaError, KafkaException

    bootstrap = kgw_broker.bootstrap
    with txn_producer(bootstrap, txn_id) as a:
        a.begin_transaction()
        assert send(a, kgw_topic, 0, ["f0"]) == [0]
        a.commit_transaction(TIMEOUT_S)
        a.begin_transaction()
        assert send(a, kgw_topic, 0, ["f1"]) == [2]

        # B's init_transactions aborts A's open transaction and fences A.
        with txn_producer(bootstrap, txn_id) as b:
            assert u.stable_and_high(bootstrap, kgw_topic) == {0: (4, 4)}
            with pytest.raises(KafkaException) as info:
                a.commit_transaction(TIMEOUT_S)
            assert fenced(info) == (KafkaError._FENCED, True)
            b.begin_transaction()
            assert send(b, kgw_topic, 0, ["f2"]) == [4]
            b.commit_transaction(TIMEOUT_S)

            # C fences B while B has no transaction open: B's next one fails.
            with txn_producer(bootstrap, txn_id) as c:
                b.begin_transaction()
                b.produce(kgw_topic, key=b"k-f3", value=b"f3", partition=0)
                # (flush() would raise the fatal error itself.)
                with pytest.raises(KafkaException) as info:
                    b.commit_transaction(TIMEOUT_S)
                assert fenced(info) == (KafkaError._FENCED, True)
                assert u.stable_and_high(bootstrap, kgw_topic) == {0: (6, 6)}  # f3 was not written
                c.begin_transaction()
                assert send(c, kgw_topic, 0, ["f4"]) == [6]
                c.commit_transaction(TIMEOUT_S)

    ends = {0: u.FENCE_END}
    assert read(bootstrap, kgw_topic, 1, "read_committed") == (u.FENCE_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 1, "read_uncommitted") == (u.FENCE_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.FENCE_LAYOUT


@pytest.mark.filterwarnings("ignore:Producer abort_transaction failed during close:RuntimeWarning")
def test_transaction_timeout(kgw_broker, kgw_topic, txn_id):
    from confluent_kafka import KafkaError, KafkaException

    bootstrap = kgw_broker.bootstrap
    after = (u.TIMEOUT_AFTER_ABORT["stable"], u.TIMEOUT_AFTER_ABORT["high"])
    with txn_producer(bootstrap, txn_id, **{"transaction.timeout.ms": u.SHORT_TXN_TIMEOUT_MS}) as producer:
        producer.begin_transaction()
        assert send(producer, kgw_topic, 0, u.TIMEOUT_OPEN) == [0, 1]
        assert u.stable_and_high(bootstrap, kgw_topic) == {0: (0, 2)}
        wait_until(lambda: u.stable_and_high(bootstrap, kgw_topic) == {0: after},
                     "the timed-out transaction's abort", timeout=u.ABORT_DEADLINE_S)
        assert ends_every_way(bootstrap, kgw_topic, 1) == both({0: 3}, {0: 3})
        assert read(bootstrap, kgw_topic, 1, "read_committed") == ([], {0: 3})
        assert read(bootstrap, kgw_topic, 1, "read_uncommitted") == (u.rows(0, 0, u.TIMEOUT_OPEN), {0: 3})
        with pytest.raises(KafkaException) as info:
            producer.commit_transaction(TIMEOUT_S)
        assert fenced(info) == (KafkaError._FENCED, True)

    with txn_producer(bootstrap, txn_id) as again:
        again.begin_transaction()
        assert send(again, kgw_topic, 0, ["t2"]) == [3]
        again.commit_transaction(TIMEOUT_S)
    ends = {0: u.TIMEOUT_END}
    assert read(bootstrap, kgw_topic, 1, "read_committed") == (u.TIMEOUT_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 1, "read_uncommitted") == (u.TIMEOUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.TIMEOUT_LAYOUT
