"""kafka-python 3.0.12: the transactional KafkaProducer and the
read_committed KafkaConsumer against kgw (KIP-98). The scenarios and their
expected offsets are in _util.py; FINDINGS.md has what was learned."""

import re
import time

import pytest

from .. import harness
from ..harness import stored_batches
from ..harness import committed_offsets, wait_until
from . import _util as u


@pytest.fixture(autouse=True)
def _kafka_python():
    harness.require("kafka")


def txn_producer(kp, bootstrap, tid, **overrides):
    producer = kp.producer(bootstrap, transactional_id=tid, **overrides)
    producer.init_transactions()
    return producer


def send(producer, topic, partition, values):
    """Send values (key "k-" + value) and return their offsets once acknowledged."""
    futures = [producer.send(topic, key=f"k-{v}".encode(), value=v.encode(), partition=partition)
               for v in values]
    producer.flush()
    return [f.get(timeout=10).offset for f in futures]


def row(record):
    return (record.partition, record.offset, record.key.decode(), record.value.decode())


def consumer(kp, bootstrap, isolation, **overrides):
    return kp.consumer(bootstrap, isolation_level=isolation, **overrides)


def read(kp, bootstrap, topic, ends, isolation):
    """A fresh assign()ed consumer reads every partition in `ends` from the
    beginning up to its end offset: (rows in (partition, offset) order,
    {partition: position after}). The position counts markers too."""
    from kafka import TopicPartition

    from ..kafka_python._kp import read_all

    c = consumer(kp, bootstrap, isolation)
    got = read_all(c, topic, sorted(ends), ends)
    positions = {p: c.position(TopicPartition(topic, p)) for p in ends}
    c.close()
    return sorted(row(r) for records in got.values() for r in records), positions


def end_offsets(kp, bootstrap, topic, partitions, isolation):
    """KafkaConsumer.end_offsets, which asks at the consumer's isolation level."""
    from kafka import TopicPartition

    c = consumer(kp, bootstrap, isolation)
    ends = c.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    c.close()
    return {tp.partition: offset for tp, offset in ends.items()}


def poll_nothing(c, seconds=1.5):
    """Records a consumer returns within `seconds` (expected: none)."""
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for records in c.poll(timeout_ms=100).values():
            got.extend(row(r) for r in records)
    return got


def poll_rows(c, count):
    """Poll a subscribed consumer until `count` records came; (partition, offset) order."""
    got = []
    deadline = time.monotonic() + u.DEADLINE_S
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {got}"
        for records in c.poll(timeout_ms=200).values():
            got.extend(row(r) for r in records)
    return sorted(got)


@pytest.mark.kgw_topic(partitions=2)
def test_commit_over_two_partitions(kgw_broker, kgw_topic, kp, txn_id):
    bootstrap = kgw_broker.bootstrap
    producer = txn_producer(kp, bootstrap, txn_id)
    producer.begin_transaction()
    offsets = {p: send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN1.items()}
    producer.commit_transaction()
    assert offsets == {0: [0, 1, 2], 1: [0, 1]}
    # The COMMIT markers took offsets 3 and 2: the high watermark counts them.
    for isolation in ("read_committed", "read_uncommitted"):
        assert end_offsets(kp, bootstrap, kgw_topic, 2, isolation) == u.COMMIT_ENDS1, isolation
    assert read(kp, bootstrap, kgw_topic, u.COMMIT_ENDS1, "read_committed") == (u.COMMIT_ROWS1, u.COMMIT_ENDS1)

    producer.begin_transaction()
    offsets = {p: send(producer, kgw_topic, p, values) for p, values in u.COMMIT_TXN2.items()}
    producer.commit_transaction()
    assert offsets == {0: [4, 5], 1: [3]}  # after the markers
    for isolation in ("read_committed", "read_uncommitted"):
        assert end_offsets(kp, bootstrap, kgw_topic, 2, isolation) == u.COMMIT_ENDS2, isolation
        assert read(kp, bootstrap, kgw_topic, u.COMMIT_ENDS2, isolation) == (
            u.COMMIT_ROWS_ALL, u.COMMIT_ENDS2), isolation
    assert u.stable_and_high(bootstrap, kgw_topic, 2) == {0: (7, 7), 1: (5, 5)}
    for p in (0, 1):
        assert u.log_layout(kgw_broker.data_dir, kgw_topic, p) == u.COMMIT_LAYOUT[p]


def test_abort_then_commit(kgw_broker, kgw_topic, kp, txn_id):
    bootstrap = kgw_broker.bootstrap
    producer = txn_producer(kp, bootstrap, txn_id)
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, u.ABORTED) == [0, 1, 2]
    producer.abort_transaction()
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, u.COMMITTED) == [4, 5]
    producer.commit_transaction()

    ends = {0: u.ABORT_END}
    assert read(kp, bootstrap, kgw_topic, ends, "read_committed") == (u.ABORT_COMMITTED_ROWS, ends)
    assert read(kp, bootstrap, kgw_topic, ends, "read_uncommitted") == (u.ABORT_ALL_ROWS, ends)
    for isolation in ("read_committed", "read_uncommitted"):
        assert end_offsets(kp, bootstrap, kgw_topic, 1, isolation) == ends
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT


def test_open_transaction_holds_back_the_last_stable_offset(kgw_broker, kgw_topic, kp, txn_id):
    from kafka import TopicPartition

    from ..kafka_python._kp import read_range

    bootstrap = kgw_broker.bootstrap
    tp = TopicPartition(kgw_topic, 0)
    producer = txn_producer(kp, bootstrap, txn_id)
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, u.LSO_FIRST) == [0, 1]
    producer.commit_transaction()
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, u.LSO_OPEN) == [3, 4, 5]
    # A plain record written while the transaction is open is held back too.
    assert send(kp.producer(bootstrap), kgw_topic, 0, u.LSO_PLAIN) == [6]

    stable, high = u.LSO_WHILE_OPEN["stable"], u.LSO_WHILE_OPEN["high"]
    assert end_offsets(kp, bootstrap, kgw_topic, 1, "read_committed") == {0: stable}
    assert end_offsets(kp, bootstrap, kgw_topic, 1, "read_uncommitted") == {0: high}
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (stable, high)}
    assert read(kp, bootstrap, kgw_topic, {0: high}, "read_uncommitted") == (u.LSO_ALL_ROWS, {0: high})

    waiting = consumer(kp, bootstrap, "read_committed")
    waiting.assign([tp])
    waiting.seek_to_beginning(tp)
    got = read_range(waiting, {tp: stable})
    assert [row(r) for r in got[tp]] == u.LSO_FIRST_ROWS
    assert poll_nothing(waiting) == []
    assert waiting.position(tp) == stable

    producer.commit_transaction()
    got = read_range(waiting, {tp: u.LSO_END})
    assert [row(r) for r in got[tp]] == u.LSO_LATER_ROWS
    for isolation in ("read_committed", "read_uncommitted"):
        assert end_offsets(kp, bootstrap, kgw_topic, 1, isolation) == {0: u.LSO_END}
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.LSO_LAYOUT


def test_consume_transform_produce(kgw_broker, kgw_topic, output_topic, kp, txn_id, group_id):
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    bootstrap = kgw_broker.bootstrap
    tp = TopicPartition(kgw_topic, 0)
    plain = kp.producer(bootstrap)
    assert send(plain, kgw_topic, 0, u.CTP_INPUT1) == [0, 1, 2]
    producer = txn_producer(kp, bootstrap, txn_id)
    admin = kp.admin(bootstrap)

    def process(member, count, commit):
        """One consume-transform-produce round; returns (input rows, output offsets)."""
        got = poll_rows(member, count)
        producer.begin_transaction()
        out = send(producer, output_topic, 0, [u.transformed(r[3]) for r in got])
        producer.send_offsets_to_transaction({tp: OffsetAndMetadata(got[-1][1] + 1, "", -1)},
                                             member.group_metadata())
        if commit:
            producer.commit_transaction()
        else:
            producer.abort_transaction()
        return got, out

    member = kp.consumer(bootstrap, group_id=group_id, isolation_level="read_committed")
    member.subscribe([kgw_topic])
    assert process(member, 3, commit=True) == (u.CTP_INPUT_ROWS1, [0, 1, 2])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
    assert admin.list_group_offsets(group_id) == {group_id: {tp: OffsetAndMetadata(3, "", -1)}}
    assert member.committed(tp) == 3

    assert send(plain, kgw_topic, 0, u.CTP_INPUT2) == [3, 4]
    assert process(member, 2, commit=False) == (u.CTP_INPUT_ROWS2, [4, 5])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
    assert admin.list_group_offsets(group_id) == {group_id: {tp: OffsetAndMetadata(3, "", -1)}}
    member.close()

    # A new member of the group resumes at the offset the aborted round left.
    member = kp.consumer(bootstrap, group_id=group_id, isolation_level="read_committed")
    member.subscribe([kgw_topic])
    assert process(member, 2, commit=True) == (u.CTP_INPUT_ROWS2, [7, 8])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 5}
    assert admin.list_group_offsets(group_id) == {group_id: {tp: OffsetAndMetadata(5, "", -1)}}
    member.close()

    ends = {0: u.CTP_OUTPUT_END}
    assert read(kp, bootstrap, output_topic, ends, "read_committed") == (u.CTP_OUTPUT_COMMITTED_ROWS, ends)
    assert read(kp, bootstrap, output_topic, ends, "read_uncommitted") == (u.CTP_OUTPUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, output_topic) == u.CTP_OUTPUT_LAYOUT


def test_fencing(kgw_broker, kgw_topic, kp, txn_id):
    from kafka.errors import KafkaError, ProducerFencedError

    bootstrap = kgw_broker.bootstrap
    a = txn_producer(kp, bootstrap, txn_id)
    a.begin_transaction()
    assert send(a, kgw_topic, 0, ["f0"]) == [0]
    a.commit_transaction()
    a.begin_transaction()
    assert send(a, kgw_topic, 0, ["f1"]) == [2]

    # B's init_transactions aborts A's open transaction and fences A.
    b = txn_producer(kp, bootstrap, txn_id)
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (4, 4)}
    with pytest.raises(ProducerFencedError):
        a.commit_transaction()
    b.begin_transaction()
    assert send(b, kgw_topic, 0, ["f2"]) == [4]
    b.commit_transaction()

    # C fences B while B has no transaction open: B's next one fails.
    c = txn_producer(kp, bootstrap, txn_id)
    b.begin_transaction()
    refused = b.send(kgw_topic, key=b"k-f3", value=b"f3", partition=0)
    with pytest.raises(ProducerFencedError):
        refused.get(timeout=10)  # AddPartitionsToTxn was refused
    # kafka-python quirk: with the fatal error already recorded, the next
    # transactional call raises a plain KafkaError naming it (FINDINGS.md).
    with pytest.raises(KafkaError) as info:
        b.commit_transaction()
    assert type(info.value) is KafkaError
    assert str(info.value) == ("KafkaError: Cannot execute transactional method because we are in an error "
                               "state: [Error 90] ProducerFencedError")
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (6, 6)}  # f3 was not written
    c.begin_transaction()
    assert send(c, kgw_topic, 0, ["f4"]) == [6]
    c.commit_transaction()

    ends = {0: u.FENCE_END}
    assert read(kp, bootstrap, kgw_topic, ends, "read_committed") == (u.FENCE_COMMITTED_ROWS, ends)
    assert read(kp, bootstrap, kgw_topic, ends, "read_uncommitted") == (u.FENCE_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.FENCE_LAYOUT
    # Batches: f0, COMMIT, f1 (A) | ABORT (written for B's init) | f2, COMMIT (B) | f4, COMMIT (C).
    owners = u.batch_owners(kgw_broker.data_dir, kgw_topic)
    assert [kind for _, kind, _, _ in owners] == ["data", "COMMIT", "data", "ABORT", "data", "COMMIT", "data",
                                                  "COMMIT"]
    u.assert_fenced_by_epoch(owners, [0, 1, 2], [3], [4, 5], [6, 7])


def test_transaction_timeout(kgw_broker, kgw_topic, kp, txn_id):
    from kafka.errors import ProducerFencedError

    bootstrap = kgw_broker.bootstrap
    producer = txn_producer(kp, bootstrap, txn_id, transaction_timeout_ms=u.SHORT_TXN_TIMEOUT_MS)
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, u.TIMEOUT_OPEN) == [0, 1]
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (0, 2)}
    # kgw aborts the transaction once it has timed out: an ABORT marker at 2.
    after = (u.TIMEOUT_AFTER_ABORT["stable"], u.TIMEOUT_AFTER_ABORT["high"])
    wait_until(lambda: u.stable_and_high(bootstrap, kgw_topic) == {0: after}, "the timed-out transaction's abort",
                 timeout=u.ABORT_DEADLINE_S)
    assert end_offsets(kp, bootstrap, kgw_topic, 1, "read_committed") == {0: 3}
    assert read(kp, bootstrap, kgw_topic, {0: 3}, "read_committed") == ([], {0: 3})
    assert read(kp, bootstrap, kgw_topic, {0: 3}, "read_uncommitted") == (u.rows(0, 0, u.TIMEOUT_OPEN), {0: 3})

    # Aborting it bumped the producer's epoch: its commit is fenced.
    with pytest.raises(ProducerFencedError):
        producer.commit_transaction()

    again = txn_producer(kp, bootstrap, txn_id)
    again.begin_transaction()
    assert send(again, kgw_topic, 0, ["t2"]) == [3]
    again.commit_transaction()
    ends = {0: u.TIMEOUT_END}
    assert read(kp, bootstrap, kgw_topic, ends, "read_committed") == (u.TIMEOUT_COMMITTED_ROWS, ends)
    assert read(kp, bootstrap, kgw_topic, ends, "read_uncommitted") == (u.TIMEOUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.TIMEOUT_LAYOUT
    # t0, t1 | the ABORT kgw wrote, with the bumped epoch | t2, COMMIT (the new producer).
    owners = u.batch_owners(kgw_broker.data_dir, kgw_topic)
    assert [kind for _, kind, _, _ in owners] == ["data", "ABORT", "data", "COMMIT"]
    u.assert_fenced_by_epoch(owners, [0], [1], [2, 3])


def test_admin_lists_and_describes_transactions_and_producers(kgw_broker, kgw_topic, kp, txn_id):
    """KafkaAdminClient's KIP-664 calls: ListTransactions v2, DescribeTransactions
    and DescribeProducers, before and after the commit."""
    from kafka import TopicPartition
    from kafka.admin import TransactionState

    bootstrap = kgw_broker.bootstrap
    admin = kp.admin(bootstrap)
    done = txn_producer(kp, bootstrap, txn_id + "-done")
    done.begin_transaction()
    send(done, kgw_topic, 0, ["d0"])
    done.commit_transaction()
    producer = txn_producer(kp, bootstrap, txn_id, transaction_timeout_ms=45_000)
    producer.begin_transaction()
    assert send(producer, kgw_topic, 0, ["a", "b"]) == [2, 3]
    # Each producer's id, as kgw stored it in its batches.
    done_pid, pid = dict.fromkeys(b.producer_id for b in stored_batches(kgw_broker.data_dir, kgw_topic)
                                  if not b.is_control)
    assert done_pid != pid

    # The session broker holds other tests' transactions: the id pattern
    # (ListTransactions v2) keeps this test's own.
    ours = re.escape(txn_id) + ".*"
    listed = admin.list_transactions(transactional_id_pattern=ours)
    assert sorted((t.transactional_id, t.producer_id, t.state) for t in listed[0]) == [
        (txn_id, pid, TransactionState.ONGOING), (txn_id + "-done", done_pid, TransactionState.COMPLETE_COMMIT)]
    ongoing = admin.list_transactions(transactional_id_pattern=ours, state_filters=["Ongoing"])
    assert [t.transactional_id for t in ongoing[0]] == [txn_id]

    described = admin.describe_transactions([txn_id])[txn_id]
    assert (described.coordinator_id, described.state, described.producer_id, described.producer_epoch,
            described.transaction_timeout_ms, described.topic_partitions) == (
        0, TransactionState.ONGOING, pid, 0, 45_000, {TopicPartition(kgw_topic, 0)})
    assert described.transaction_start_time_ms > 0
    started = described.transaction_start_time_ms

    def producers():
        state = admin.describe_producers([TopicPartition(kgw_topic, 0)])[TopicPartition(kgw_topic, 0)]
        return sorted((p.producer_id, p.producer_epoch, p.last_sequence, p.coordinator_epoch,
                       p.current_transaction_start_offset) for p in state.active_producers)

    # done's marker took offset 1; this producer's transaction opened at 2.
    assert producers() == sorted([(done_pid, 0, 0, 0, -1), (pid, 0, 1, -1, 2)])
    producer.commit_transaction()
    assert producers() == sorted([(done_pid, 0, 0, 0, -1), (pid, 0, 1, 0, -1)])
    described = admin.describe_transactions([txn_id])[txn_id]
    # A completed transaction keeps its start time, as in Kafka.
    assert (described.state, described.topic_partitions, described.transaction_start_time_ms) == (
        TransactionState.COMPLETE_COMMIT, set(), started)


@pytest.mark.kgw_only("wipes kgw's transaction state while its own kgw is down (own_kgw)")
def test_admin_aborts_a_transaction_its_coordinator_lost(own_kgw, topic_name, kp, txn_id):
    """A hanging transaction: its coordinator's state is gone (the
    __transaction_state directory wiped while kgw was down), so nothing will
    end it and the LSO stays on it. KafkaAdminClient finds it with
    describe_producers and ends it with abort_transaction (WriteTxnMarkers)."""
    import shutil

    from kafka import TopicPartition
    from kafka.admin import AbortTransactionSpec

    harness.create_topic(own_kgw.bootstrap, topic_name, 1)
    producer = txn_producer(kp, own_kgw.bootstrap, txn_id)
    producer.begin_transaction()
    assert send(producer, topic_name, 0, ["lost"]) == [0]
    own_kgw.stop()
    shutil.rmtree(own_kgw.data_dir / "__transaction_state")
    own_kgw.start()
    bootstrap = own_kgw.bootstrap
    assert u.stable_and_high(bootstrap, topic_name) == {0: (0, 1)}

    admin = kp.admin(bootstrap)
    assert admin.list_transactions(transactional_id_pattern=re.escape(txn_id)) == {0: []}
    tp = TopicPartition(topic_name, 0)
    (state,) = admin.describe_producers([tp])[tp].active_producers
    assert (state.producer_epoch, state.coordinator_epoch, state.current_transaction_start_offset) == (
        0, -1, 0)
    admin.abort_transaction(AbortTransactionSpec(tp, state.producer_id, state.producer_epoch,
                                                 state.coordinator_epoch))
    assert u.stable_and_high(bootstrap, topic_name) == {0: (2, 2)}
    assert u.log_layout(own_kgw.data_dir, topic_name) == u.layout(("txn", 1), ("ABORT", 1))
    (state,) = admin.describe_producers([tp])[tp].active_producers
    assert state.current_transaction_start_offset == -1
    assert read(kp, bootstrap, topic_name, {0: 2}, "read_committed") == ([], {0: 2})
