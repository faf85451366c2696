"""What was acknowledged survives a kgw restart or crash, and an idempotent
producer whose connections are cut writes each message exactly once."""

import pytest

from ..harness import stored_batches
from ..harness import wait_until
from .util import Deliveries, admin, ck, consumer, create_topic, producer, read_all

pytestmark = pytest.mark.kgw_only("restarts, kills or cuts off its own kgw (own_kgw, kgw_behind_proxy)")


@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill9"])
def test_restart_between_produce_and_consume_loses_nothing(own_kgw, topic_name, crash):
    with admin(own_kgw.bootstrap) as adm:
        create_topic(adm, topic_name, partitions=2)
    delivered = Deliveries()
    with producer(own_kgw.bootstrap, acks="all", compression_type="gzip") as p:
        for i in range(200):
            p.produce(topic_name, value=b"before-%d" % i, key=b"k%d" % i, partition=i % 2,
                      headers=[("i", b"%d" % i)], on_delivery=delivered)
            if i % 50 == 49:
                p.flush(10)
        assert p.flush(10) == 0
    assert delivered.errors == [] and len(delivered.reports) == 200

    own_kgw.restart(crash=crash)

    expected = sorted((i % 2, i // 2, b"k%d" % i, b"before-%d" % i, [("i", b"%d" % i)]) for i in range(200))
    rows = read_all(own_kgw.bootstrap, topic_name, partitions=2)
    assert sorted(r[:5] for r in rows) == expected
    with consumer(own_kgw.bootstrap) as c:
        for partition in (0, 1):
            tp = ck().TopicPartition(topic_name, partition)
            assert c.get_watermark_offsets(tp, timeout=10, cached=False) == (0, 100)

    # The log goes on where it stopped.
    delivered = Deliveries()
    with producer(own_kgw.bootstrap, acks="all") as p:
        p.produce(topic_name, value=b"after", partition=0, on_delivery=delivered)
        assert p.flush(10) == 0
    assert [(r[0], r[2]) for r in delivered.reports] == [(None, 100)]
    with admin(own_kgw.bootstrap) as adm:
        assert sorted(adm.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == [0, 1]


def test_idempotent_producer_with_cut_connections_writes_each_message_once(kgw_behind_proxy, topic_name):
    server, proxy = kgw_behind_proxy
    bootstrap = f"127.0.0.1:{proxy.port}"
    with admin(bootstrap) as adm:
        create_topic(adm, topic_name)
    chunks, per_chunk, cuts = 6, 500, 0
    n = chunks * per_chunk
    delivered = Deliveries()
    with producer(bootstrap, enable_idempotence=True, acks="all", linger_ms=2,
                  batch_num_messages=50, max_in_flight_requests_per_connection=5,
                  retry_backoff_ms=20, reconnect_backoff_ms=10, reconnect_backoff_max_ms=100,
                  # Should a cut not reach the client as a reset, it costs
                  # one request timeout (FINDINGS.md): keep that short.
                  socket_timeout_ms=1000) as p:
        for chunk in range(chunks):
            for i in range(chunk * per_chunk, (chunk + 1) * per_chunk):
                p.produce(topic_name, value=b"seq-%05d" % i, partition=0, on_delivery=delivered)
            # Once part of this chunk is acknowledged, the rest is queued or
            # in flight: reset every connection under it.
            wait_until(lambda chunk=chunk: (p.poll(0.001) is not None
                                            and len(delivered.reports) >= chunk * per_chunk + 100),
                       "progress")
            cuts += proxy.cut() > 0
        assert p.flush(30) == 0
    assert cuts == chunks
    assert proxy.connections > 2  # the producer reconnected
    assert delivered.errors == []
    assert sorted(r[2] for r in delivered.reports) == list(range(n))
    assert {r[4]: r[2] for r in delivered.reports} == {b"seq-%05d" % i: i for i in range(n)}

    # In the log: one producer, sequences without gap or repeat.
    batches = stored_batches(server.data_dir, topic_name)
    assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
    expected_offset = 0
    for b in batches:
        assert b.base_offset == expected_offset
        assert b.base_sequence == expected_offset  # sequence == offset: nothing lost or doubled
        expected_offset += b.record_count
    assert expected_offset == n

    rows = read_all(bootstrap, topic_name)
    assert [(r[1], r[3]) for r in rows] == [(i, b"seq-%05d" % i) for i in range(n)]
