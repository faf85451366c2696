"""Sarama against a live kgw: produce and consume with every codec and
acks setting, the idempotent and the transactional producer, read_committed,
consume-transform-produce, and ClusterAdmin."""

import pytest

from protocol.compression import Codec

from protocol.error_codes import ErrorCode

from ..harness import committed_offsets, create_topic, stored_batches
from ..transactions import _util as u
from ._go import run
from .test_franz import CODECS, standard, without_timestamps
from .test_franz_txn import settled

OFFSET_OUT_OF_RANGE = ErrorCode.OFFSET_OUT_OF_RANGE
UNKNOWN_TOPIC_OR_PARTITION = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
TOPIC_ALREADY_EXISTS = ErrorCode.TOPIC_ALREADY_EXISTS
INVALID_PARTITIONS = ErrorCode.INVALID_PARTITIONS
GROUP_ID_NOT_FOUND = ErrorCode.GROUP_ID_NOT_FOUND


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(kgw_broker, kgw_topic, codec):
    p = run("sarama_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec)
    assert p["offsets"] == list(range(12))
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    c = run("sarama_consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["records"]) == standard("m", 12)


def test_idempotent_producer(kgw_broker, kgw_topic):
    p = run("sarama_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=4, idempotent=True, codec="zstd")
    assert p["offsets"] == list(range(12))
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert len({b.producer_id for b in batches}) == 1 and batches[0].producer_id >= 0
    # One request in flight: how Sarama batches depends on timing, but each
    # batch's sequence continues the previous one's.
    assert [b.base_sequence for b in batches] == [b.base_offset for b in batches]
    assert sum(b.record_count for b in batches) == 12


@pytest.mark.parametrize("acks", [0, 1])
def test_acks(kgw_broker, kgw_topic, acks):
    p = run("sarama_produce", kgw_broker.bootstrap, kgw_topic, count=6, batch=3, acks=acks)
    # With acks=0 there is no answer, so no offsets: Sarama reports 0.
    assert p["offsets"] == (list(range(6)) if acks else [0] * 6)
    c = run("sarama_consume", kgw_broker.bootstrap, kgw_topic, count=6)
    assert without_timestamps(c["records"]) == standard("m", 6)


def test_transactions_abort_then_commit(kgw_broker, kgw_topic):
    bootstrap = kgw_broker.bootstrap
    r = run("sarama_txn", bootstrap, kgw_topic, transactionalId=u.unique("sarama"),
            txns=[{"records": {"0": u.ABORTED}, "end": "abort"}, {"records": {"0": u.COMMITTED}, "end": "commit"}])
    assert r["offsets"] == [[[0, 0], [0, 1], [0, 2]], [[0, 4], [0, 5]]]
    settled(bootstrap, kgw_topic, {0: (u.ABORT_END, u.ABORT_END)})
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT
    rows = {isolation: [(m["partition"], m["offset"], m["key"], m["value"]) for m in run(
        "sarama_consume", bootstrap, kgw_topic, count=5, isolation=isolation, idleMs=1500)["records"]]
        for isolation in ("committed", "uncommitted")}
    assert rows == {"committed": u.ABORT_COMMITTED_ROWS, "uncommitted": u.ABORT_ALL_ROWS}


def test_cluster_admin(kgw_bootstrap, topic_name):
    r = run("sarama_admin", kgw_bootstrap, topic_name, group=u.unique("sarama-admin"))
    host_port = kgw_bootstrap
    assert (r["created"], r["createdAgain"]) == (0, TOPIC_ALREADY_EXISTS)
    # Sarama lists the configs not at their default: min.insync.replicas is
    # a cluster-wide dynamic config on both brokers, as eligible leader
    # replicas keep it (README).
    assert r["listed"] == {"partitions": 2, "replicationFactor": 1,
                           "configs": {"retention.ms": "3600000", "min.insync.replicas": "1"}}
    assert (r["createPartitions"], r["shrinkPartitions"]) == (0, INVALID_PARTITIONS)
    assert r["described"] == {"error": 0, "partitions": [
        {"partition": p, "leader": 0, "replicas": [0], "isr": [0]} for p in range(3)]}
    default = {"cleanup.policy": ["delete", "Default"], "max.message.bytes": ["1048588", "Default"],
               "retention.ms": ["604800000", "Default"]}
    assert r["configs"] == {**default, "retention.ms": ["3600000", "Topic"]}
    assert r["incrementalAlter"] == 0
    assert r["configsAfterIncremental"] == {**default, "retention.ms": ["3600000", "Topic"],
                                           "max.message.bytes": ["2000", "Topic"]}
    assert r["alter"] == 0  # AlterConfigs replaces every override
    assert r["configsAfterAlter"] == {**default, "cleanup.policy": ["compact", "Topic"]}
    assert r["keylessToCompacted"] == ErrorCode.INVALID_RECORD
    # DeleteRecords needs cleanup.policy to include delete.
    assert r["deleteRecordsCompacted"] == ErrorCode.POLICY_VIOLATION
    assert (r["deleteRecords"], r["startAfterDelete"], r["deleteRecordsBeyondEnd"]) == (0, [2, 0], OFFSET_OUT_OF_RANGE)
    assert r["groupOffsets"] == {"0": [4, "meta-0", 0], "1": [0, "meta-1", 0], "2": [-1, "", 0]}
    assert r["listedGroup"] == ""  # a group with offsets and no members has no protocol type
    assert r["describedGroup"] == {"state": "Empty", "protocolType": "", "members": 0, "error": 0}
    assert r["deleteGroupOffset"] == 0
    assert r["groupOffsetsAfterDelete"] == {"0": [4, "meta-0", 0], "1": [-1, "", 0], "2": [-1, "", 0]}
    assert (r["deleteGroup"], r["deleteGroupAgain"]) == (0, GROUP_ID_NOT_FOUND)
    assert r["cluster"] == {"brokers": [f"0@{host_port}"], "controller": 0}
    assert (r["deleted"], r["deletedAgain"], r["listedAfterDelete"]) == (0, UNKNOWN_TOPIC_OR_PARTITION, False)


def test_consume_transform_produce(kgw_broker, kgw_topic):
    """compat/transactions' consume-transform-produce with Sarama: round 1
    commits i0..i2 and the group offset 3, round 2 aborts i3, i4, and a new
    process resumes at 3 and commits them."""
    bootstrap = kgw_broker.bootstrap
    output, group, tid = f"{kgw_topic}-out", u.unique("sarama-ctp"), u.unique("sarama-ctp")
    create_topic(bootstrap, output, 1)

    def ctp(*rounds):
        r = run("sarama_ctp", bootstrap, kgw_topic, group=group, output=output, transactionalId=tid,
                rounds=[{"count": count, "end": end} for count, end in rounds])
        return [([tuple(row) for row in x["in"]], x["out"]) for x in r["rounds"]]

    def plain(values):
        return run("franz_plain", bootstrap, kgw_topic, txns=[{"records": {"0": values}, "end": ""}])["offsets"]

    assert plain(u.CTP_INPUT1 + u.CTP_INPUT2) == [0, 1, 2, 3, 4]
    assert ctp((3, "commit"), (2, "abort")) == [(u.CTP_INPUT_ROWS1, [0, 1, 2]), (u.CTP_INPUT_ROWS2, [4, 5])]
    assert committed_offsets(bootstrap, group, kgw_topic) == {0: 3}
    assert ctp((2, "commit")) == [(u.CTP_INPUT_ROWS2, [7, 8])]
    assert committed_offsets(bootstrap, group, kgw_topic) == {0: 5}

    settled(bootstrap, output, {0: (u.CTP_OUTPUT_END, u.CTP_OUTPUT_END)})
    assert u.log_layout(kgw_broker.data_dir, output) == u.CTP_OUTPUT_LAYOUT
    rows = {isolation: [(m["partition"], m["offset"], m["key"], m["value"]) for m in run(
        "sarama_consume", bootstrap, output, count=8, isolation=isolation, idleMs=1500)["records"]]
        for isolation in ("committed", "uncommitted")}
    assert rows == {"committed": u.CTP_OUTPUT_COMMITTED_ROWS, "uncommitted": u.CTP_OUTPUT_ALL_ROWS}
