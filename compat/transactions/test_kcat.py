"""kcat 1.7.1 (librdkafka 2.0.2) reading transactional topics: librdkafka
consumers default to isolation.level=read_committed, so `kcat -C -e` prints
committed records only and stops at the last stable offset. The
transactions are written by confluent-kafka."""

import pytest

from .. import harness
from ..kcat.util import consume_json, kcat
from . import _util as u

TIMEOUT_S = 20

ABORTED = ["x0", "x1"]              # 0, 1; ABORT at 2
COMMITTED = ["y0", "y1", "y2"]      # 3, 4, 5; COMMIT at 6
OPEN = ["z0"]                       # 7, left open


@pytest.fixture(autouse=True)
def _clients():
    harness.require_program("kcat")
    harness.require("confluent_kafka")


def send(producer, topic, values):
    reports = []
    for v in values:
        producer.produce(topic, key=f"k-{v}".encode(), value=v.encode(), partition=0,
                         on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert producer.flush(TIMEOUT_S) == 0
    assert [err for err, _ in reports] == [None] * len(values), reports
    return [offset for _, offset in reports]


def printed(bootstrap, topic, *args):
    """(partition, offset, key, payload) of what `kcat -C -e -o beginning -J` prints."""
    return [(m["partition"], m["offset"], m["key"], m["payload"])
            for m in consume_json(bootstrap, topic, "-o", "beginning", *args)]


@pytest.mark.filterwarnings("ignore:Producer abort_transaction failed during close:RuntimeWarning")
def test_kcat_prints_committed_records_only(kgw_broker, kgw_topic, txn_id):
    from confluent_kafka import Producer

    bootstrap = kgw_broker.bootstrap
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
    try:
        producer.init_transactions(TIMEOUT_S)
        producer.begin_transaction()
        assert send(producer, kgw_topic, ABORTED) == [0, 1]
        producer.abort_transaction(TIMEOUT_S)
        producer.begin_transaction()
        assert send(producer, kgw_topic, COMMITTED) == [3, 4, 5]
        producer.commit_transaction(TIMEOUT_S)

        committed = u.rows(0, 3, COMMITTED)
        everything = u.rows(0, 0, ABORTED) + committed
        assert printed(bootstrap, kgw_topic) == committed
        assert printed(bootstrap, kgw_topic, "-X", "isolation.level=read_uncommitted") == everything

        # With a transaction open, -e stops at the last stable offset (7).
        producer.begin_transaction()
        assert send(producer, kgw_topic, OPEN) == [7]
        assert u.stable_and_high(bootstrap, kgw_topic) == {0: (7, 8)}
        assert printed(bootstrap, kgw_topic) == committed
        assert printed(bootstrap, kgw_topic, "-X", "isolation.level=read_uncommitted") == (
            everything + u.rows(0, 7, OPEN))
        producer.abort_transaction(TIMEOUT_S)
    finally:
        producer.close()
    assert printed(bootstrap, kgw_topic) == committed
    # From an offset: the format string shows offsets and values only.
    proc = kcat(bootstrap, "-C", "-t", kgw_topic, "-e", "-q", "-o", "1", "-f", "%o:%s\n")
    assert proc.stdout == b"3:y0\n4:y1\n5:y2\n"
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.layout(
        ("txn", 2), ("ABORT", 1), ("txn", 3), ("COMMIT", 1), ("txn", 1), ("ABORT", 1))
