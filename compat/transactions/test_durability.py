"""Transactions across a kgw restart, graceful or kill -9, with
confluent-kafka: markers, the last stable offset and the transactional id's
state all survive, and a transaction open at the crash is still held back,
until the next producer with its id aborts it."""

import pytest

from .. import harness
from . import _util as u
from .test_confluent import TIMEOUT_S, ends_every_way, both, read, send, txn_producer

pytestmark = pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")


@pytest.fixture(autouse=True)
def _confluent_kafka():
    harness.require("confluent_kafka")


def create(bootstrap, topic):
    harness.create_topic(bootstrap, topic, 1)


@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_committed_and_aborted_survive_a_restart(own_kgw, topic_name, txn_id, crash):
    create(own_kgw.bootstrap, topic_name)
    with txn_producer(own_kgw.bootstrap, txn_id) as producer:
        producer.begin_transaction()
        assert send(producer, topic_name, 0, ["d0", "d1", "d2"]) == [0, 1, 2]
        producer.commit_transaction(TIMEOUT_S)
        producer.begin_transaction()
        assert send(producer, topic_name, 0, ["e0", "e1"]) == [4, 5]
        producer.abort_transaction(TIMEOUT_S)

    own_kgw.restart(crash=crash)
    bootstrap = own_kgw.bootstrap
    committed = u.rows(0, 0, ["d0", "d1", "d2"])
    everything = committed + u.rows(0, 4, ["e0", "e1"])
    assert ends_every_way(bootstrap, topic_name, 1) == both({0: 7}, {0: 7})
    assert read(bootstrap, topic_name, 1, "read_committed") == (committed, {0: 7})
    assert read(bootstrap, topic_name, 1, "read_uncommitted") == (everything, {0: 7})

    # The transactional id carries on after the restart.
    with txn_producer(bootstrap, txn_id) as producer:
        producer.begin_transaction()
        assert send(producer, topic_name, 0, ["g0"]) == [7]
        producer.commit_transaction(TIMEOUT_S)
    assert read(bootstrap, topic_name, 1, "read_committed") == (committed + u.rows(0, 7, ["g0"]), {0: 9})
    assert u.log_layout(own_kgw.data_dir, topic_name) == u.layout(
        ("txn", 3), ("COMMIT", 1), ("txn", 2), ("ABORT", 1), ("txn", 1), ("COMMIT", 1))


# Producer.close() aborts an open transaction, which fails for a fenced producer.
@pytest.mark.filterwarnings("ignore:Producer abort_transaction failed during close:RuntimeWarning")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_transaction_open_across_a_restart_stays_unstable(own_kgw, topic_name, txn_id, crash):
    from confluent_kafka import KafkaError, KafkaException

    create(own_kgw.bootstrap, topic_name)
    # The producer's transaction timeout (librdkafka's default, 60 s) is far
    # longer than the test: only the next producer's init ends it.
    with txn_producer(own_kgw.bootstrap, txn_id) as stale:
        stale.begin_transaction()
        assert send(stale, topic_name, 0, ["d0"]) == [0]
        stale.commit_transaction(TIMEOUT_S)
        stale.begin_transaction()
        assert send(stale, topic_name, 0, ["h0", "h1"]) == [2, 3]
        assert u.stable_and_high(own_kgw.bootstrap, topic_name) == {0: (2, 4)}

        own_kgw.restart(crash=crash)
        bootstrap = own_kgw.bootstrap
        # Still open: read_committed stops at its first record.
        assert u.stable_and_high(bootstrap, topic_name) == {0: (2, 4)}
        assert ends_every_way(bootstrap, topic_name, 1) == both({0: 2}, {0: 4})
        assert read(bootstrap, topic_name, 1, "read_committed") == (u.rows(0, 0, ["d0"]), {0: 2})

        # A new producer with the same id aborts it (ABORT at 4) and fences the old one.
        with txn_producer(bootstrap, txn_id) as producer:
            assert u.stable_and_high(bootstrap, topic_name) == {0: (5, 5)}
            producer.begin_transaction()
            assert send(producer, topic_name, 0, ["g0"]) == [5]
            producer.commit_transaction(TIMEOUT_S)
        with pytest.raises(KafkaException) as info:
            stale.commit_transaction(TIMEOUT_S)
        assert (info.value.args[0].code(), info.value.args[0].fatal()) == (KafkaError._FENCED, True)

    assert read(bootstrap, topic_name, 1, "read_committed") == (u.rows(0, 0, ["d0"]) + u.rows(0, 5, ["g0"]),
                                                                 {0: 7})
    assert read(bootstrap, topic_name, 1, "read_uncommitted") == (
        u.rows(0, 0, ["d0"]) + u.rows(0, 2, ["h0", "h1"]) + u.rows(0, 5, ["g0"]), {0: 7})
    assert u.log_layout(own_kgw.data_dir, topic_name) == u.layout(
        ("txn", 1), ("COMMIT", 1), ("txn", 2), ("ABORT", 1), ("txn", 1), ("COMMIT", 1))
