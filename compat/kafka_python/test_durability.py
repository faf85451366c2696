"""kafka-python against a kgw that restarts, crashes, or loses every
connection mid-stream."""

import pytest

pytestmark = pytest.mark.kgw_only("restarts, kills or cuts off its own kgw (own_kgw, kgw_behind_proxy)")


@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill-9"])
def test_restart_between_produce_and_consume_loses_nothing(own_kgw, clients, topic_name, crash):
    from kafka import TopicPartition

    from ._kp import read_all, record_tuple

    admin = clients.admin(own_kgw.bootstrap)
    admin.create_topics({topic_name: {"num_partitions": 2, "replication_factor": 1}})
    producer = clients.producer(own_kgw.bootstrap)  # default: acks=all, idempotent
    expected = {0: [], 1: []}

    def send(i):
        p = i % 2
        key, value, headers = f"k{i}".encode(), f"v{i}".encode(), [("i", str(i).encode())]
        expected[p].append((p, len(expected[p]), key, value, headers))
        return producer.send(topic_name, key=key, value=value, headers=headers, partition=p)

    futures = [send(i) for i in range(100)]
    producer.flush()
    assert [(f.get(timeout=10).partition, f.get(timeout=10).offset) for f in futures] == [
        (i % 2, i // 2) for i in range(100)]

    own_kgw.restart(crash=crash)

    # The same idempotent producer carries on after the restart: its
    # sequence numbers continue and nothing is refused or duplicated.
    futures = [send(i) for i in range(100, 120)]
    producer.flush()
    assert [(f.get(timeout=10).partition, f.get(timeout=10).offset) for f in futures] == [
        (i % 2, i // 2) for i in range(100, 120)]

    consumer = clients.consumer(own_kgw.bootstrap)
    tps = [TopicPartition(topic_name, p) for p in range(2)]
    assert consumer.beginning_offsets(tps) == {tps[0]: 0, tps[1]: 0}
    assert consumer.end_offsets(tps) == {tps[0]: 60, tps[1]: 60}
    got = read_all(consumer, topic_name, [0, 1], 60)
    assert {tp.partition: [record_tuple(r) for r in rs] for tp, rs in got.items()} == expected


def test_idempotent_producer_with_cut_connections_writes_each_message_once(kgw_behind_proxy, clients,
                                                                           topic_name):
    from kafka import TopicPartition

    from ._kp import read_all, stored_batches

    server, proxy = kgw_behind_proxy
    bootstrap = f"127.0.0.1:{proxy.port}"
    admin = clients.admin(bootstrap)
    admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1}})
    admin.close()

    # Small batches and 5 in flight: every cut catches produce requests whose
    # responses are lost, and the retries must not be written twice.
    # request_timeout_ms bounds the stall when a cut goes unnoticed: the
    # harness's CuttingProxy.cut() close()s sockets that its pump threads
    # are blocked in recv() on, and Linux sends the RST only once that
    # recv returns (see FINDINGS.md).
    producer = clients.producer(bootstrap, batch_size=1024, linger_ms=2,
                                request_timeout_ms=2000, delivery_timeout_ms=30000)
    assert producer.config["enable_idempotence"] is True
    total, cuts = 3000, 0
    futures = []
    for i in range(total):
        futures.append(producer.send(topic_name, f"msg-{i:05d}".ljust(100, ".").encode(), partition=0))
        if i % 500 == 250:
            # Let the stream get going (an earlier message acknowledged),
            # then cut while later batches are in flight.
            futures[i - 150].get(timeout=30)
            cuts += 1 if proxy.cut() else 0
    producer.flush()
    assert cuts >= 4, "the proxy had no connection to cut"
    assert proxy.connections > cuts  # the producer reconnected after each cut
    assert [f.get(timeout=10).offset for f in futures] == list(range(total))

    consumer = clients.consumer(bootstrap)
    [records] = read_all(consumer, topic_name, [0], total).values()
    assert [(r.offset, r.value) for r in records] == [
        (i, f"msg-{i:05d}".ljust(100, ".").encode()) for i in range(total)]
    tp = TopicPartition(topic_name, 0)
    assert consumer.end_offsets([tp]) == {tp: total}

    # One producer id, and the stored sequences are exactly the offsets.
    batches = stored_batches(server.data_dir, topic_name, 0)
    assert len({(b["producer_id"], b["producer_epoch"]) for b in batches}) == 1
    assert [b["base_sequence"] for b in batches] == [b["base_offset"] for b in batches]
    assert sum(b["record_count"] for b in batches) == total
