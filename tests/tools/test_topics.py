"""`kgw topics` against a live kgw."""

import json
import re

from kgw.tools.topics import kafka_uuid


def _topic_id(kgw, name) -> str:
    out = kgw("topics", "describe", name).stdout
    return re.search(r"TopicId: (\S+)", out).group(1)


def test_create_list_describe_delete(kgw, topic):
    created = kgw("topics", "create", topic, "--partitions", 2, "--config", "retention.ms=60000",
                  "-c", "cleanup.policy=delete")
    assert (created.exit_code, created.stdout, created.stderr) == (0, f"Created topic {topic}.\n", "")

    assert f"{topic}\n" in kgw("topics", "list").stdout
    listed = kgw("topics", "list").stdout.splitlines()
    assert listed == sorted(listed)

    described = kgw("topics", "describe", topic)
    assert described.exit_code == 0
    assert described.stdout == (
        f"Topic: {topic}\tTopicId: {_topic_id(kgw, topic)}\tPartitionCount: 2\tReplicationFactor: 1"
        f"\tConfigs: cleanup.policy=delete,retention.ms=60000\n"
        f"\tTopic: {topic}\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tStartOffset: 0\tEndOffset: 0\n"
        f"\tTopic: {topic}\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\tStartOffset: 0\tEndOffset: 0\n")

    deleted = kgw("topics", "delete", topic)
    assert (deleted.exit_code, deleted.stdout) == (0, f"Deleted topic {topic}.\n")
    assert f"{topic}\n" not in kgw("topics", "list").stdout


def test_describe_shows_end_offsets_after_produce(kgw, topic):
    kgw("topics", "create", topic)
    assert kgw("produce", topic, input="a\nb\nc\n").exit_code == 0
    line = kgw("topics", "describe", topic).stdout.splitlines()[1]
    assert line.endswith("\tStartOffset: 0\tEndOffset: 3")


def test_default_partitions_come_from_the_broker(kgw, topic):
    assert kgw("topics", "create", topic).exit_code == 0
    assert "\tPartitionCount: 1\t" in kgw("topics", "describe", topic).stdout


def test_describe_every_topic_in_name_order(kgw, topic):
    for suffix in ("b", "a"):
        kgw("topics", "create", f"{topic}-{suffix}")
    heads = [line.split("\t")[0] for line in kgw("topics", "describe").stdout.splitlines()
             if line.startswith("Topic: ")]
    assert heads == sorted(heads)
    assert f"Topic: {topic}-a" in heads and f"Topic: {topic}-b" in heads


def test_create_twice_fails_unless_if_not_exists(kgw, topic):
    kgw("topics", "create", topic)
    again = kgw("topics", "create", topic)
    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr == (f"Error: cannot create topic '{topic}': TOPIC_ALREADY_EXISTS "
                            f"(Topic '{topic}' already exists.)\n")
    tolerant = kgw("topics", "create", topic, "--if-not-exists")
    assert (tolerant.exit_code, tolerant.stdout, tolerant.stderr) == (0, "", "")


def test_create_with_a_bad_config_names_it(kgw, topic):
    result = kgw("topics", "create", topic, "-c", "retention.ms=soon")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot create topic '{topic}': INVALID_CONFIG (")
    assert result.stderr.count("\n") == 1


def test_create_refuses_a_replication_factor_kgw_cannot_have(kgw, topic):
    result = kgw("topics", "create", topic, "-r", 3)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: cannot create topic '{topic}': INVALID_REPLICATION_FACTOR")


def test_delete_unknown_topic(kgw, topic):
    missing = kgw("topics", "delete", topic)
    assert (missing.exit_code, missing.stderr) == (1, f"Error: unknown topic '{topic}'\n")
    tolerant = kgw("topics", "delete", topic, "--if-exists")
    assert (tolerant.exit_code, tolerant.stdout, tolerant.stderr) == (0, "", "")


def test_describe_unknown_topic(kgw, topic):
    result = kgw("topics", "describe", topic)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: unknown topic '{topic}'\n")


def test_alter_sets_and_deletes_configs(kgw, topic):
    kgw("topics", "create", topic, "-c", "retention.ms=60000", "-c", "segment.ms=100000")
    altered = kgw("topics", "alter", topic, "-c", "max.message.bytes=5000", "--config", "retention.ms=1000",
                  "--delete-config", "segment.ms")
    assert (altered.exit_code, altered.stdout, altered.stderr) == (
        0, f"Altered the configs of topic {topic}.\n", "")
    head = kgw("topics", "describe", topic).stdout.splitlines()[0]
    assert head.endswith("\tConfigs: max.message.bytes=5000,retention.ms=1000")


def test_alter_failures_are_one_line(kgw, topic):
    missing = kgw("topics", "alter", topic, "-c", "retention.ms=1")
    assert (missing.exit_code, missing.stderr) == (1, f"Error: unknown topic '{topic}'\n")
    kgw("topics", "create", topic)
    bad = kgw("topics", "alter", topic, "-c", "retention.ms=soon")
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert bad.stderr == (f"Error: cannot alter the configs of topic '{topic}': INVALID_CONFIG "
                          "(Invalid value soon for configuration retention.ms: Not a number of type LONG)\n")
    nothing = kgw("topics", "alter", topic)
    assert nothing.exit_code == 2
    assert nothing.stderr.startswith("Error: nothing to change: give --partitions, --config or --delete-config")
    assert nothing.stderr.count("\n") == 1


def test_kafka_uuid_is_unpadded_urlsafe_base64():
    import uuid
    assert kafka_uuid(uuid.UUID(int=0)) == "AAAAAAAAAAAAAAAAAAAAAA"
    assert kafka_uuid(uuid.UUID(bytes=b"\xfb" * 16)) == "-_v7-_v7-_v7-_v7-_v7-w"


def test_alter_partitions(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\n")
    grown = kgw("topics", "alter", topic, "--partitions", 3, "-c", "retention.ms=60000")
    assert (grown.exit_code, grown.stdout, grown.stderr) == (
        0, f"Topic {topic} has 3 partitions.\nAltered the configs of topic {topic}.\n", "")
    described = kgw("topics", "describe", topic).stdout.splitlines()
    assert "\tPartitionCount: 3\t" in described[0] and described[0].endswith("Configs: retention.ms=60000")
    assert [line.split("\t")[2] for line in described[1:]] == ["Partition: 0", "Partition: 1", "Partition: 2"]
    shrunk = kgw("topics", "alter", topic, "-p", 2)
    assert shrunk.exit_code == 1
    assert shrunk.stderr.startswith(f"Error: cannot give topic '{topic}' 2 partitions: INVALID_PARTITIONS")
    missing = kgw("topics", "alter", f"{topic}-none", "-p", 2)
    assert (missing.exit_code, missing.stderr) == (1, f"Error: unknown topic '{topic}-none'\n")


def test_list_and_describe_as_json(kgw, topic):
    kgw("topics", "create", topic, "-p", 2, "-c", "retention.ms=60000")
    kgw("produce", topic, "-p", 1, input="a\nb\n")
    listed = json.loads(kgw("topics", "list", "--format", "json").stdout)
    assert {"name": topic, "topic_id": _topic_id(kgw, topic), "partitions": 2, "replication_factor": 1,
            "internal": False} in listed
    assert [t["name"] for t in listed] == sorted(t["name"] for t in listed)
    described = json.loads(kgw("topics", "describe", topic, "--format", "json").stdout)
    assert described == [{
        "name": topic, "topic_id": _topic_id(kgw, topic), "partitions": 2, "replication_factor": 1,
        "internal": False, "configs": {"retention.ms": "60000"},
        "partition_details": [
            {"partition": 0, "leader": 0, "replicas": [0], "isr": [0], "start_offset": 0, "end_offset": 0},
            {"partition": 1, "leader": 0, "replicas": [0], "isr": [0], "start_offset": 0, "end_offset": 2}],
    }]
