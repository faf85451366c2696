"""kgw's pytest plugin as a user would use it: the session broker, a fresh
topic per test, and two different clients on either side of it."""

import pytest

from ..confluent.util import ck, consume_to_eof, consumer, producer
from ..harness import require
from ..kafka_python._kp import Clients, read_all

pytestmark = pytest.mark.kgw_only("kgw's pytest plugin and its embedded broker")

MESSAGES = 50
BASE_TS = 1_700_000_000_000


@pytest.fixture
def kp_clients():
    require("kafka")
    require("confluent_kafka")
    made = Clients()
    yield made
    assert made.close_all() == []


def test_kafka_python_produces_and_confluent_consumes(kgw_bootstrap, kgw_topic, kp_clients):
    kp = kp_clients.producer(kgw_bootstrap)
    for i in range(MESSAGES):
        kp.send(kgw_topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                headers=[("n", str(i).encode())], timestamp_ms=BASE_TS + i)
    kp.flush(10)

    with consumer(kgw_bootstrap) as c:
        c.assign([ck().TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING)])
        rows = consume_to_eof(c)

    create_time = ck().TIMESTAMP_CREATE_TIME
    assert rows == [(0, i, f"k{i}".encode(), f"v{i}".encode(), [("n", str(i).encode())],
                     (create_time, BASE_TS + i)) for i in range(MESSAGES)]


@pytest.mark.kgw_topic(partitions=3)
def test_the_marker_sets_partitions_and_confluent_produces_for_kafka_python(
        kgw_bootstrap, kgw_topic, kp_clients):
    with consumer(kgw_bootstrap) as c:
        assert sorted(c.list_topics(kgw_topic, timeout=10).topics[kgw_topic].partitions) == [0, 1, 2]

    with producer(kgw_bootstrap) as p:
        for i in range(MESSAGES):
            p.produce(kgw_topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 3)

    kc = kp_clients.consumer(kgw_bootstrap)
    assert kc.partitions_for_topic(kgw_topic) == {0, 1, 2}
    got = read_all(kc, kgw_topic, [0, 1, 2], end={0: 17, 1: 17, 2: 16})
    by_partition = {tp.partition: [(r.offset, r.key, r.value) for r in records] for tp, records in got.items()}
    assert by_partition == {
        p: [(n, f"k{i}".encode(), f"v{i}".encode()) for n, i in enumerate(range(p, MESSAGES, 3))]
        for p in range(3)}


def test_each_test_gets_a_topic_of_its_own(kgw_bootstrap, kgw_topic):
    require("confluent_kafka")
    with consumer(kgw_bootstrap) as c:
        topic = c.list_topics(kgw_topic, timeout=10).topics[kgw_topic]
        assert topic.error is None
        assert sorted(topic.partitions) == [0]
    with consumer(kgw_bootstrap) as c:
        c.assign([ck().TopicPartition(kgw_topic, 0, ck().OFFSET_BEGINNING)])
        assert consume_to_eof(c) == []
