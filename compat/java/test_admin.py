"""The Java AdminClient (kafka-clients 4.4.0) against kgw: topics, configs,
records and offsets, consumer groups, the cluster and transactions. Each
call's failure is reported as the exception class the client raised, which
is how an application tells Kafka's error codes apart."""

import time

import pytest


TOPIC_OPERATIONS = ["ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE"]
CLUSTER_OPERATIONS = ["ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS",
                      "IDEMPOTENT_WRITE"]


def test_create_describe_grow_and_delete_topics(java, kgw_bootstrap, topic_name):
    r = java.call("admin_topics", bootstrap=kgw_bootstrap, topic=topic_name)
    assert (r["createdPartitions"], r["createdReplicationFactor"], r["createdRetention"]) == (3, 1, "3600000")
    assert r["createAgain"] == "TopicExistsException"
    assert r["createNoPartitions"] == "InvalidPartitionsException"
    assert r["createReplicated"] == "InvalidReplicationFactorException"
    assert r["createBadConfig"] == "InvalidConfigurationException"
    assert r["createValidateOnly"] == "ok" and r["dryRunListed"] is False
    assert r["listed"] is True
    # [partition, leader, replicas, isr]
    assert r["partitions"] == [[p, 0, [0], [0]] for p in range(3)]
    assert r["internal"] is False and r["sameId"] is True
    assert r["operations"] == TOPIC_OPERATIONS
    assert r["describedById"] == topic_name
    assert r["partitionsAfterGrow"] == 5
    assert (r["shrink"], r["sameCount"]) == ("InvalidPartitionsException", "InvalidPartitionsException")
    assert r["growMissing"] == "UnknownTopicOrPartitionException"
    assert r["listedAfterDelete"] is False
    assert r["describeAfterDelete"] == r["deleteAgain"] == "UnknownTopicOrPartitionException"
    assert r["deleteById"] == "ok" and r["listedAfterDeleteById"] is False


def test_describe_and_incrementally_alter_configs(java, kgw_bootstrap, topic_name):
    r = java.call("admin_configs", bootstrap=kgw_bootstrap, topic=topic_name)
    # [value, source, isDefault, isReadOnly, type]
    defaults = {"cleanup.policy": ["delete", "DEFAULT_CONFIG", True, False, "LIST"],
                "max.message.bytes": ["1048588", "DEFAULT_CONFIG", True, False, "INT"],
                "retention.ms": ["604800000", "DEFAULT_CONFIG", True, False, "LONG"],
                "segment.bytes": ["1073741824", "DEFAULT_CONFIG", True, False, "INT"]}
    assert r["created"] == {**defaults, "retention.ms": ["3600000", "DYNAMIC_TOPIC_CONFIG", False, False, "LONG"]}
    assert r["entryCount"] > 20
    # The topic's override comes first. (Kafka 4.4 lists no default synonym
    # after it, kgw lists log.retention.ms: see FINDINGS, still open.)
    assert r["retentionSynonyms"][0] == ["retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG"]
    # SET max.message.bytes, DELETE retention.ms, APPEND to cleanup.policy.
    assert r["alter"] == "ok"
    assert r["altered"] == {**defaults,
                            "cleanup.policy": ["delete,compact", "DYNAMIC_TOPIC_CONFIG", False, False, "LIST"],
                            "max.message.bytes": ["2000", "DYNAMIC_TOPIC_CONFIG", False, False, "INT"]}
    # The new limit holds at once.
    assert (r["tooLarge"], r["small"]) == ("RecordTooLargeException", "ok")
    assert r["subtract"] == "ok"
    assert r["afterSubtract"] == {"cleanup.policy": ["compact", "DYNAMIC_TOPIC_CONFIG", False, False, "LIST"]}
    assert r["validateOnly"] == "ok" and r["afterValidateOnly"] == {"segment.bytes": defaults["segment.bytes"]}
    assert (r["unknownName"], r["badValue"]) == ("InvalidConfigurationException", "InvalidConfigurationException")
    assert r["unknownTopic"] == "UnknownTopicOrPartitionException"
    assert r["brokerEntryCount"] > 10
    # log.retention.ms is a dynamic broker config on both brokers.
    assert r["brokerAlter"] == "ok"


@pytest.mark.kgw_topic(partitions=2)
def test_list_offsets_and_delete_records(java, kgw_bootstrap, kgw_topic):
    base = (int(time.time()) - 3600) * 1000
    r = java.call("admin_records", bootstrap=kgw_bootstrap, topic=kgw_topic, base=base)
    # [offset, timestamp]; p0 holds 10 records a second apart from base, p1 5 from base + 100 s.
    assert r["earliest"] == {"0": [0, -1], "1": [0, -1]}
    assert r["latest"] == {"0": [10, -1], "1": [5, -1]}
    assert r["maxTimestamp"] == {"0": [9, base + 9000], "1": [4, base + 104_000]}
    assert r["forTimestamp"] == {"0": [4, base + 4000], "1": [0, base + 100_000]}
    assert r["afterLast"] == {"0": [-1, -1], "1": [-1, -1]}
    assert r["earliestLocal"] == {"0": [0, -1], "1": [0, -1]}
    # beforeOffset(-1) deletes up to the high watermark.
    assert r["lowWatermarks"] == {"0": 4, "1": 5}
    assert r["beyondEnd"] == "OffsetOutOfRangeException"
    assert r["earliestAfterDelete"] == {"0": [4, -1], "1": [5, -1]}
    assert r["forTimestampAfterDelete"] == {"0": [4, base + 4000], "1": [-1, -1]}


@pytest.mark.kgw_topic(partitions=2)
def test_consumer_group_administration(java, kgw_bootstrap, kgw_topic):
    group = f"{kgw_topic}-g"
    r = java.call("admin_groups", bootstrap=kgw_bootstrap, topic=kgw_topic, group=group)
    assert r["listedStable"] == {"state": "STABLE", "type": "CLASSIC", "protocol": "consumer", "simple": False}
    assert r["describedStable"] == {"state": "STABLE", "type": "CLASSIC", "simple": False, "assignor": "range",
                                    "coordinator": 0, "members": [["member-1", "/127.0.0.1", [0, 1], True]]}
    assert r["offsets"] == {"0": 5, "1": 5}
    # What Kafka answers while the group has members.
    assert r["alterWhileActive"] == "UnknownMemberIdException"
    assert r["deleteWhileActive"] == "GroupNotEmptyException"
    assert r["describedEmpty"] == {"state": "EMPTY", "type": "CLASSIC", "simple": False, "assignor": "",
                                   "coordinator": 0, "members": []}
    assert r["listedEmpty"]["state"] == "EMPTY"
    assert r["alter"] == "ok" and r["offsetsAfterAlter"] == {"0": 2, "1": 1}
    assert r["deleteOffsets"] == "ok" and r["offsetsAfterDeleteOffsets"] == {"0": 2}
    assert r["alterNewGroup"] == "ok" and r["offsetsSimple"] == {"0": 7}
    assert r["listedSimple"] == {"state": "EMPTY", "type": "CLASSIC", "protocol": "", "simple": True}
    assert r["delete"] == "ok" and r["listedAfterDelete"] is None
    assert r["deleteAgain"] == "GroupIdNotFoundException"
    # The deleted group's offsets went with it.
    assert r["restartedFrom"] == {"first": {"0": 0, "1": 0}, "counts": {"0": 10, "1": 5}}


def test_describe_cluster(java, kgw_bootstrap):
    r = java.call("admin_cluster", bootstrap=kgw_bootstrap)
    host, port = kgw_bootstrap.split(":")
    assert r["nodes"] == [[0, host, int(port)]] and r["controller"] == 0
    assert r["clusterId"] and r["clusterIdAgain"] == r["clusterId"]
    assert r["operations"] == CLUSTER_OPERATIONS


def test_list_describe_abort_transactions_and_fence_producers(java, kgw_bootstrap, topic_name):
    r = java.call("admin_transactions", bootstrap=kgw_bootstrap, topic=topic_name, txnId=topic_name)
    first, second = f"{topic_name}-1", f"{topic_name}-2"
    assert (r["firstOffsets"], r["secondOffsets"]) == ([0, 1], [2])
    assert r["listedBeforeSecondBegins"] == [[first, "ONGOING"], [second, "EMPTY"]]
    assert r["listed"] == r["listedOngoing"] == [[first, "ONGOING"], [second, "ONGOING"]]
    assert r["listedEmpty"] == [] and r["listedOlderThanAnHour"] == []
    one, two = r["describedFirst"], r["describedSecond"]
    assert one == {"state": "ONGOING", "producerId": one["producerId"], "producerEpoch": 0, "timeoutMs": 60000,
                   "started": True, "coordinator": 0, "partitions": [f"{topic_name}-0"]}
    assert two["state"] == "ONGOING" and two["producerId"] != one["producerId"]
    assert r["describeUnknown"] == "TransactionalIdNotFoundException"
    # DescribeProducers: both open, starting at 0 and 2; no marker written yet.
    assert [(p["producerId"], p["epoch"], p["lastSequence"], p["txnStartOffset"], p["coordinatorEpoch"])
            for p in r["producers"]] == [(one["producerId"], 0, 1, 0, None), (two["producerId"], 0, 0, 2, None)]
    assert r["endsWhileOpen"] == {"read_committed": {"0": 0}, "read_uncommitted": {"0": 3}}
    # abortTransaction writes an ABORT marker (offset 3) for the first producer only.
    assert r["abort"] == "ok"
    assert [(p["producerId"], p["txnStartOffset"]) for p in r["producersAfterAbort"]] == [
        (one["producerId"], None), (two["producerId"], 2)]
    assert r["endsAfterAbort"] == {"read_committed": {"0": 2}, "read_uncommitted": {"0": 4}}
    # fenceProducers bumps the epoch, which aborts the second transaction (ABORT at 4).
    assert r["fence"] == "ok" and r["secondCommitAfterFence"] == "ProducerFencedException"
    # (Kafka 4.4 leaves the fenced id Empty, kgw CompleteAbort: see FINDINGS, still open.)
    fenced = r["describedSecondAfterFence"]
    assert fenced["producerEpoch"] > two["producerEpoch"]
    assert fenced["partitions"] == []
    assert r["endsAfterFence"] == {"read_committed": {"0": 5}, "read_uncommitted": {"0": 5}}
    assert r["read_committed"] == []
