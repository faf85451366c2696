"""Topics: names, partitions, configs, DescribeConfigs entries, metadata on disk."""

import json
import os
import uuid

import pytest

from kgw.log import (
    BrokerDefaults, ConfigOp, ConfigSource, ConfigType, LogError, LogManager, apply_changes,
)
from kgw.log.manager import LOST_AND_FOUND
from kgw.log.partition import PartitionLog
from kgw.startup_errors import StartupError
from protocol.error_codes import ErrorCode
from protocol.records import iter_batches

from .helpers import crash, make_batch, read_all


def read_batches(directory) -> list:
    return [b for path in sorted(directory.glob("*.log")) for b in iter_batches(path.read_bytes())]


@pytest.mark.parametrize("name", ["a", "A-b_c.d", "x" * 249, "__consumer_offsets2", "..."])
def test_legal_names(managers, name):
    assert managers().create_topic(name, 1).name == name


@pytest.mark.parametrize("name", ["", ".", "..", "x" * 250, "a b", "a/b", "ä", "a:b", "a\0"])
def test_illegal_names(managers, name):
    with pytest.raises(LogError) as err:
        managers().create_topic(name, 1)
    assert err.value.code == ErrorCode.INVALID_TOPIC_EXCEPTION


def test_duplicates_and_collisions(managers):
    manager = managers()
    manager.create_topic("a.b", 1)
    with pytest.raises(LogError) as err:
        manager.create_topic("a.b", 3)
    assert err.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
    with pytest.raises(LogError) as err:
        manager.create_topic("a_b", 1)
    assert err.value.code == ErrorCode.INVALID_TOPIC_EXCEPTION


@pytest.mark.parametrize("name", ["__consumer_offsets", "__transaction_state"])
def test_kafkas_internal_topics_already_exist(managers, name):
    # As on any Kafka that has served a group or a transaction; a user
    # topic of that name would pass for Kafka's own.
    manager = managers()
    with pytest.raises(LogError) as err:
        manager.create_topic(name, 1)
    assert err.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
    assert manager.topic(name) is None
    manager.create_topic("__other", 1)


@pytest.mark.parametrize("count", [0, -2])
def test_invalid_partition_counts(managers, count):
    with pytest.raises(LogError) as err:
        managers().create_topic("t", count)
    assert err.value.code == ErrorCode.INVALID_PARTITIONS


def test_minus_one_partitions_means_the_broker_default(managers):
    assert len(managers(defaults=BrokerDefaults(num_partitions=4)).create_topic("t", -1).partitions) == 4


@pytest.mark.parametrize("configs", [
    {"no.such.config": "1"},
    {"retention.ms": "abc"},
    {"retention.ms": "-2"},
    {"segment.bytes": "1000"},
    {"segment.bytes": str(2**31)},
    {"cleanup.policy": "delete,shred"},
    {"message.timestamp.type": "createtime"},
    {"min.cleanable.dirty.ratio": "1.5"},
    {"preallocate": "yes"},
    {"compression.type": "brotli"},
    {"remote.storage.enable": "true"},
    {"retention.bytes": None},
])
def test_invalid_configs(managers, configs):
    manager = managers()
    with pytest.raises(LogError) as err:
        manager.create_topic("t", 1, configs)
    assert err.value.code == ErrorCode.INVALID_CONFIG
    assert manager.topic("t") is None and not (manager.data_dir / "t-0").exists()


def test_valid_configs_and_effective_values(managers):
    manager = managers(defaults=BrokerDefaults(topic_configs={"retention.ms": "3600000"}))
    topic = manager.create_topic("t", 1, {"cleanup.policy": "compact,delete", "retention.bytes": " 1000 ",
                                          "preallocate": "TRUE", "segment.bytes": "1048576"})
    assert topic.configs["retention.ms"] == "3600000"
    assert topic.configs["segment.bytes"] == "1048576"
    assert topic.configs["max.message.bytes"] == "1048588"
    assert topic.log_config.retention_bytes == 1000 and topic.log_config.delete_policy
    entries = {e.name: e for e in topic.describe_configs()}
    assert "internal.segment.bytes" not in entries
    assert entries["retention.ms"].source == ConfigSource.STATIC_BROKER_CONFIG
    # Kafka's synonyms: the broker's static value, then the hours' default.
    assert [(s.name, s.value, s.source) for s in entries["retention.ms"].synonyms] == [
        ("log.retention.ms", "3600000", ConfigSource.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG)]
    assert entries["segment.bytes"].source == ConfigSource.TOPIC_CONFIG
    assert entries["segment.bytes"].synonyms[0].source == ConfigSource.TOPIC_CONFIG
    assert entries["segment.ms"].is_default and entries["segment.ms"].value == "604800000"
    assert entries["cleanup.policy"].config_type == ConfigType.LIST
    assert entries["message.timestamp.after.max.ms"].value == "3600000"
    assert not any(e.read_only or e.sensitive for e in entries.values())


def test_an_empty_cleanup_policy_keeps_everything(managers):
    """Kafka 4 accepts an empty list: no deletion (and no compaction)."""
    topic = managers().create_topic("t", 1, {"cleanup.policy": ""})
    assert topic.log_config.delete_policy is False


@pytest.mark.parametrize("kwargs", [{"num_partitions": 0}, {"flush": "sometimes"},
                                    {"flush": "interval:0"}, {"topic_configs": {"x": "1"}}])
def test_bad_broker_defaults(kwargs):
    with pytest.raises(ValueError):
        BrokerDefaults(**kwargs)


def test_validate_only_creates_nothing(managers):
    manager = managers()
    topic = manager.create_topic("t", 3, {"retention.ms": "1"}, validate_only=True)
    assert topic.name == "t" and manager.topic("t") is None
    assert sorted(os.listdir(manager.data_dir)) == [".lock", "topics"]


def test_metadata_survives_restart(managers):
    manager = managers()
    topic = manager.create_topic("orders", 3, {"retention.ms": "1234"})
    topic.partitions[2].append(make_batch())
    manager.close()
    meta = json.loads((manager.data_dir / "topics" / f"{topic.topic_id}.json").read_text())
    assert meta == {"format_version": 1, "name": "orders", "topic_id": str(topic.topic_id),
                    "partitions": 3, "configs": {"retention.ms": "1234"}}
    again = managers()
    reloaded = again.topic("orders")
    assert reloaded.topic_id == topic.topic_id and isinstance(reloaded.topic_id, uuid.UUID)
    assert again.topic_by_id(topic.topic_id) is reloaded
    assert reloaded.overrides == {"retention.ms": "1234"} and len(reloaded.partitions) == 3
    assert again.partition("orders", 2).log_end_offset == 3
    assert again.partition("orders", 3) is None and again.partition("nope", 0) is None


def test_altered_configs_apply_at_once_and_survive_restart(managers):
    manager = managers(defaults=BrokerDefaults(topic_configs={"retention.ms": "3600000"}))
    topic = manager.create_topic("t", 1, {"max.message.bytes": "100000", "segment.ms": "5000"})
    partition = topic.partitions[0]
    big = make_batch(value_size=500)
    partition.append(big)

    assert manager.alter_topic_configs("t", {"max.message.bytes": "200"}) is topic
    with pytest.raises(LogError) as err:
        partition.append(big)
    assert err.value.code == ErrorCode.MESSAGE_TOO_LARGE
    # What is not named goes back to the broker's value, or Kafka's default.
    assert topic.overrides == {"max.message.bytes": "200"}
    assert topic.configs["segment.ms"] == "604800000" and topic.configs["retention.ms"] == "3600000"
    entries = {e.name: e for e in topic.describe_configs()}
    assert (entries["max.message.bytes"].value, entries["max.message.bytes"].source) == \
        ("200", ConfigSource.TOPIC_CONFIG)
    assert entries["segment.ms"].is_default

    manager.close()
    reloaded = managers().topic("t")
    assert reloaded.overrides == {"max.message.bytes": "200"}
    assert reloaded.log_config.max_message_bytes == 200
    assert [len(b.records()) for b in read_all(reloaded.partitions[0])] == [3]


@pytest.mark.parametrize("name, overrides, code", [
    ("t", {"retention.ms": "soon"}, ErrorCode.INVALID_CONFIG),
    ("t", {"no.such.config": "1"}, ErrorCode.INVALID_CONFIG),
    ("t", {"retention.bytes": None}, ErrorCode.INVALID_CONFIG),
    ("missing", {}, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    ("missing", {"retention.ms": "soon"}, ErrorCode.INVALID_CONFIG),
])
def test_refused_alterations_change_nothing(managers, name, overrides, code):
    manager = managers()
    topic = manager.create_topic("t", 1, {"retention.ms": "1234"})
    meta = topic.meta_path(manager.data_dir).read_bytes()
    with pytest.raises(LogError) as err:
        manager.alter_topic_configs(name, overrides)
    assert err.value.code == code
    assert topic.overrides == {"retention.ms": "1234"} and topic.log_config.retention_ms == 1234
    assert topic.meta_path(manager.data_dir).read_bytes() == meta


def test_validate_only_alters_nothing(managers):
    manager = managers()
    topic = manager.create_topic("t", 1, {"retention.ms": "1234"})
    manager.alter_topic_configs("t", {"retention.ms": "99"}, validate_only=True)
    assert topic.overrides == {"retention.ms": "1234"} and topic.log_config.retention_ms == 1234


@pytest.mark.parametrize("overrides, changes, expected", [
    ({"retention.ms": "1"}, [("retention.ms", ConfigOp.SET, "2"), ("segment.ms", ConfigOp.SET, "9")],
     {"retention.ms": "2", "segment.ms": "9"}),
    ({"retention.ms": "1"}, [("retention.ms", ConfigOp.DELETE, None), ("segment.ms", ConfigOp.DELETE, None)],
     {}),
    # APPEND and SUBTRACT start from Kafka's default (delete) without an override.
    ({}, [("cleanup.policy", ConfigOp.APPEND, "compact")], {"cleanup.policy": "delete,compact"}),
    ({"cleanup.policy": "compact"}, [("cleanup.policy", ConfigOp.APPEND, "compact,delete")],
     {"cleanup.policy": "compact,delete"}),
    ({"cleanup.policy": "compact,delete"}, [("cleanup.policy", ConfigOp.SUBTRACT, "compact")],
     {"cleanup.policy": "delete"}),
    ({}, [("cleanup.policy", ConfigOp.SUBTRACT, "delete")], {"cleanup.policy": ""}),
    ({"retention.ms": "1"}, [("no.such.config", ConfigOp.DELETE, None)], {"retention.ms": "1"}),
])
def test_incremental_changes(overrides, changes, expected):
    assert apply_changes(overrides, changes) == expected


@pytest.mark.parametrize("change, code, message", [
    (("retention.ms", ConfigOp.APPEND, "5"), ErrorCode.INVALID_CONFIG,
     "Can't APPEND to key retention.ms because its type is not LIST."),
    (("max.message.bytes", ConfigOp.SUBTRACT, "5"), ErrorCode.INVALID_CONFIG,
     "Can't SUBTRACT to key max.message.bytes because its type is not LIST."),
    (("no.such.config", ConfigOp.APPEND, "x"), ErrorCode.INVALID_CONFIG,
     "Can't APPEND to key no.such.config because its type is not LIST."),
    (("retention.ms", 7, "5"), ErrorCode.INVALID_REQUEST, "Unknown operations type 7"),
])
def test_incremental_changes_refused(change, code, message):
    with pytest.raises(LogError) as err:
        apply_changes({}, [change])
    assert (err.value.code, err.value.message) == (code, message)


def test_create_partitions(managers):
    manager = managers()
    manager.create_topic("t", 2)
    for total, code in ((2, ErrorCode.INVALID_PARTITIONS), (1, ErrorCode.INVALID_PARTITIONS)):
        with pytest.raises(LogError) as err:
            manager.create_partitions("t", total)
        assert err.value.code == code
    with pytest.raises(LogError) as err:
        manager.create_partitions("nope", 3)
    assert err.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    manager.create_partitions("t", 5)
    manager.partition("t", 4).append(make_batch())
    manager.close()
    assert len(managers().topic("t").partitions) == 5


def test_delete_topic_and_recreate(managers):
    manager = managers()
    partition = manager.create_topic("t", 2).partitions[0]
    partition.append(make_batch())
    manager.delete_topic("t")
    assert manager.topic("t") is None and manager.topics() == []
    assert sorted(os.listdir(manager.data_dir)) == [".lock", "topics"]
    assert os.listdir(manager.data_dir / "topics") == []
    with pytest.raises(LogError) as err:
        partition.append(make_batch())
    assert err.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    with pytest.raises(LogError) as err:
        manager.delete_topic("t")
    assert err.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    fresh = manager.create_topic("t", 1).partitions[0]
    assert fresh.log_end_offset == 0 and read_all(fresh) == []


def test_orphans_of_an_interrupted_delete_are_removed(managers):
    manager = managers()
    gone = manager.create_topic("gone", 2)
    gone.partitions[0].append(make_batch())
    manager.create_topic("kept", 1)
    gone.meta_path(manager.data_dir).unlink()
    # As a deletion leaves them: renamed, with data or not.
    for partition in gone.partitions:
        partition.directory.rename(partition.directory.with_name(partition.directory.name + ".x-delete"))
    other = manager.data_dir / "not-a-partition-7"
    other.mkdir()
    (other / "somebody-elses.file").write_text("x")
    crash(manager)
    again = managers()
    assert [t.name for t in again.topics()] == ["kept"]
    assert sorted(p.name for p in again.data_dir.iterdir() if p.name.startswith("gone")) == []
    assert other.exists()


def test_records_no_topic_claims_are_moved_aside_never_deleted(managers, caplog):
    manager = managers()
    lost = manager.create_topic("lost", 2)
    lost.partitions[0].append(make_batch())
    manager.create_topic("kept", 1)
    manager.close()
    # The metadata file is lost; partition 0 holds a batch, partition 1 none.
    lost.meta_path(manager.data_dir).unlink()
    again = managers()
    assert [t.name for t in again.topics()] == ["kept"]
    aside = again.data_dir / LOST_AND_FOUND / "lost-0"
    assert sorted(p.name for p in aside.iterdir() if p.suffix == ".log") == ["00000000000000000000.log"]
    assert len(read_batches(aside)) == 1
    assert not (again.data_dir / "lost-1").exists() and not (again.data_dir / "lost-0").exists()
    assert str(aside) in caplog.text


def test_deleting_a_topic_leaves_nothing_behind(managers):
    manager = managers()
    topic = manager.create_topic("t", 2)
    topic.partitions[1].append(make_batch())
    manager.delete_topic("t")
    assert [p.name for p in manager.data_dir.iterdir() if p.name.startswith("t-")] == []


def test_unreadable_metadata_leaves_the_topic_alone(managers, caplog):
    manager = managers()
    topic = manager.create_topic("t", 1)
    topic.partitions[0].append(make_batch())
    manager.close()
    topic.meta_path(manager.data_dir).write_text('{"format_version": 99}')
    again = managers()
    assert again.topic("t") is None
    assert (again.data_dir / "t-0").exists()
    assert "format_version 99, expected 1" in caplog.text


def test_a_second_manager_cannot_open_the_same_directory(managers, tmp_path):
    managers()
    with pytest.raises(StartupError) as err:
        LogManager(tmp_path / "data").open()
    # The lock file names who holds it.
    assert (err.value.setting, str(err.value)) == (
        "data_dir", f"data dir {tmp_path / 'data'} is in use by another kgw (PID {os.getpid()}, this process)")


@pytest.mark.parametrize("configs, message", [
    ({"max.message.bytes": "lots"}, "Invalid value lots for configuration max.message.bytes: Not a number of type INT"),
    ({"segment.ms": "0"}, "Invalid value 0 for configuration segment.ms: Value must be at least 1"),
    ({"cleanup.policy": "foo"}, "Invalid value foo for configuration cleanup.policy: String must be one of: "
                                "compact, delete"),
    ({"compression.zstd.level": "23"}, "Invalid value 23 for configuration compression.zstd.level: Value must "
                                       "be no more than 22"),
    ({"compression.gzip.level": "0"}, "Invalid value 0 for configuration compression.gzip.level: Value must be "
                                      "between 1 and 9 or equal to -1"),
    ({"min.cleanable.dirty.ratio": "2"}, "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value "
                                         "must be no more than 1"),
    ({"preallocate": "yes"}, "Invalid value yes for configuration preallocate: Expected value to be either true "
                             "or false"),
    ({"max.decompressed.message.bytes": "0"}, "Invalid value 0 for configuration max.decompressed.message.bytes: "
                                              "Value must be at least 1"),
    ({"remote.storage.enable": "true"}, "Tiered Storage functionality is disabled in the broker. Topic cannot be "
                                        "configured with remote log storage."),
])
def test_refusals_say_what_kafka_says(managers, configs, message):
    with pytest.raises(LogError) as err:
        managers().create_topic("t", 1, configs)
    assert (err.value.code, err.value.message) == (ErrorCode.INVALID_CONFIG, message)


def test_kafka_4_4s_newer_topic_configs_are_taken(managers):
    topic = managers().create_topic("t", 1, {
        "errors.deadletterqueue.group.enable": "true", "max.decompressed.message.bytes": "1000",
        "remote.copy.lag.bytes": "-1", "remote.copy.lag.ms": "5", "remote.log.copy.disable": "true",
        "remote.log.delete.on.disable": "true"})
    assert {e.name for e in topic.describe_configs()} >= set(topic.overrides)


def partition_dirs(manager) -> list[str]:
    return sorted(p.name for p in manager.data_dir.iterdir() if p.name[0] not in ".tl")


def test_partitions_beyond_the_broker_limit_are_refused_before_anything_is_made(managers):
    manager = managers(defaults=BrokerDefaults(max_partitions=6))
    manager.create_topic("a", 4)
    for create in (lambda: manager.create_topic("b", 3), lambda: manager.create_partitions("a", 7)):
        with pytest.raises(LogError) as err:
            create()
        assert err.value.code == ErrorCode.POLICY_VIOLATION
        assert "7 partitions, above its limit of 6" in err.value.message
    assert manager.topic("b") is None and len(manager.topic("a").partitions) == 4
    assert partition_dirs(manager) == ["a-0", "a-1", "a-2", "a-3"]
    manager.create_partitions("a", 5)
    manager.create_topic("b", 1)
    assert manager.partition_count == 6
    manager.delete_topic("a")
    manager.create_topic("c", 5)
    manager.close()
    assert managers(defaults=BrokerDefaults(max_partitions=6)).partition_count == 6


def test_plans_count_the_topics_planned_before_them(managers):
    manager = managers(defaults=BrokerDefaults(max_partitions=5))
    plans = manager.plan_topics([("a", 2, {}), ("b", 4, {}), ("c", 3, {}), ("a", 1, {}),
                                 ("x.y", 1, {}), ("x_y", 1, {})])
    codes = [p.code if isinstance(p, LogError) else p.total for p in plans]
    assert codes == [2, ErrorCode.POLICY_VIOLATION, 3, ErrorCode.TOPIC_ALREADY_EXISTS,
                     ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION]


def test_a_creation_that_fails_on_disk_leaves_the_others_and_nothing_of_itself(managers,
                                                                             monkeypatch):
    manager = managers()
    plans = manager.plan_topics([("a", 2, {}), ("b", 3, {}), ("c", 1, {})])
    real = PartitionLog.create

    def failing(topic, index, directory, hooks, **kwargs):
        if (topic.name, index) == ("b", 2):
            raise OSError(28, "No space left on device")
        return real(topic, index, directory, hooks, **kwargs)
    monkeypatch.setattr(PartitionLog, "create", failing)
    manager.build(plans)
    outcomes = manager.register(plans)
    assert [o.code if isinstance(o, LogError) else o.name for o in outcomes] == [
        "a", ErrorCode.KAFKA_STORAGE_ERROR, "c"]
    assert "No space left on device" in outcomes[1].message
    assert partition_dirs(manager) == ["a-0", "a-1", "c-0"]
    manager.close()
    assert sorted(t.name for t in managers().topics()) == ["a", "c"]


def test_a_leftover_directory_with_records_is_never_removed_by_a_creation(managers):
    manager = managers()
    manager.create_topic("t", 1).partitions[0].append(make_batch())
    manager.close()
    meta = next((manager.data_dir / "topics").iterdir())
    meta.write_text("{}")
    again = managers()
    meta.unlink()
    with pytest.raises(LogError) as err:
        again.create_topic("t", 1)
    assert err.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    assert "holds records that no topic claims" in err.value.message
    assert len(read_batches(again.data_dir / "t-0")) == 1
