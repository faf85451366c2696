"""Kafka Streams 4.4.0 against kgw: a word count with a state store
(repartition and changelog topics) under exactly_once_v2, read back with
read_committed. A new instance with an empty state directory restores the
store from the changelog; kgw restarted gracefully or killed mid-stream
changes nothing in the counts."""

import time

import pytest

from ._apps import app_args, assert_counts_only_grew, create_topics, read_table
from ._words import counts, lines


def word_count(bootstrap, kgw_topic, state_dir, **config):
    output = f"{kgw_topic}-counts"
    create_topics(bootstrap, 2, output)
    return output, app_args(bootstrap, "word_count", f"{kgw_topic}-app", state_dir, input=kgw_topic,
                            output=output, config=config)


@pytest.mark.kgw_topic(partitions=2)
def test_word_count_is_exact_and_makes_its_internal_topics(streams_jvm, kgw_bootstrap, kgw_topic, tmp_path):
    output, app = word_count(kgw_bootstrap, kgw_topic, tmp_path / "state", **{"repartition.purge.interval.ms": 200})
    assert streams_jvm.call("streams_start", name="a", **app)["state"] == "RUNNING"
    text = lines(0, 300)
    for part in (text[:150], text[150:]):
        streams_jvm.call("streams_feed", bootstrap=kgw_bootstrap, topic=kgw_topic, records=[[None, t] for t in part])
    r = read_table(streams_jvm, kgw_bootstrap, output, counts(text), "long")
    assert r["matched"] and r["table"] == counts(text)
    assert_counts_only_grew(r["history"], counts(text))

    # Streams created its topics with the configs it asks for, and purges
    # the repartition topic (DeleteRecords) once its records are processed.
    topics = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topics = streams_jvm.call("streams_internal_topics", bootstrap=kgw_bootstrap, appId=f"{kgw_topic}-app")
        if topics["words-repartition"]["startOffsets"] > 0:
            break
        time.sleep(0.3)
    assert set(topics) == {"counts-changelog", "words-repartition"}
    changelog, repartition = topics["counts-changelog"], topics["words-repartition"]
    assert changelog["partitions"] == repartition["partitions"] == 2
    assert changelog["overrides"] == {"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"}
    assert repartition["overrides"] == {"cleanup.policy": "delete", "message.timestamp.type": "CreateTime",
                                        "retention.ms": "-1", "segment.bytes": "52428800"}
    assert repartition["startOffsets"] > 0
    status = streams_jvm.call("streams_stop", name="a")
    assert status["uncaught"] == [] and status["state"] == "NOT_RUNNING"


@pytest.mark.kgw_topic(partitions=2)
def test_a_new_instance_with_empty_state_restores_from_the_changelog(streams_jvm, kgw_bootstrap, kgw_topic,
                                                                     tmp_path):
    # Both instances are the same static member (group.instance.id): the
    # second one takes the first one's place in the group.
    output, app = word_count(kgw_bootstrap, kgw_topic, tmp_path / "first", **{"group.instance.id": "instance-1"})
    first, second = lines(0, 200), lines(200, 150)
    streams_jvm.call("streams_start", name="first", **app)
    streams_jvm.call("streams_feed", bootstrap=kgw_bootstrap, topic=kgw_topic, records=[[None, t] for t in first])
    assert read_table(streams_jvm, kgw_bootstrap, output, counts(first), "long")["matched"]
    assert streams_jvm.call("streams_stop", name="first")["uncaught"] == []

    app["stateDir"] = str(tmp_path / "second")
    started = streams_jvm.call("streams_start", name="second", **app)
    # Every word's latest count came back from the changelog (at least one
    # record per word; more where the cache flushed a word more than once).
    assert started["restored"] >= len(counts(first))
    streams_jvm.call("streams_feed", bootstrap=kgw_bootstrap, topic=kgw_topic, records=[[None, t] for t in second])
    r = read_table(streams_jvm, kgw_bootstrap, output, counts(first + second), "long")
    assert r["matched"] and r["table"] == counts(first + second)
    assert_counts_only_grew(r["history"], counts(first + second))
    assert streams_jvm.call("streams_stop", name="second")["uncaught"] == []


@pytest.mark.kgw_only("restarts and kills a kgw of its own")
@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill-9"])
def test_word_count_stays_exact_across_a_kgw_restart(streams_jvm, own_kgw, topic_name, tmp_path, crash):
    bootstrap = own_kgw.bootstrap
    create_topics(bootstrap, 2, topic_name)
    output, app = word_count(bootstrap, topic_name, tmp_path / "state")
    streams_jvm.call("streams_start", name="a", **app)
    text = lines(0, 600)
    streams_jvm.call("streams_feed_start", bootstrap=bootstrap, topic=topic_name, lines=text, chunk=10, pauseMs=30)
    while (at_restart := streams_jvm.call("streams_feed_progress")["acknowledged"]) < 200:
        time.sleep(0.05)
    own_kgw.restart(crash=crash)
    assert at_restart < len(text)  # the input was still flowing
    assert streams_jvm.call("streams_feed_finish")["acknowledged"] == len(text)
    r = read_table(streams_jvm, bootstrap, output, counts(text), "long")
    assert r["matched"] and r["table"] == counts(text)
    assert_counts_only_grew(r["history"], counts(text))
    status = streams_jvm.call("streams_status", name="a")
    assert status["uncaught"] == [] and status["state"] == "RUNNING"


@pytest.mark.kgw_topic(partitions=4)
def test_a_second_instance_joins_mid_stream_and_takes_half_the_tasks(streams_jvm, kgw_bootstrap, kgw_topic,
                                                                      tmp_path):
    output, app = word_count(kgw_bootstrap, kgw_topic, tmp_path / "first")
    streams_jvm.call("streams_start", name="first", **app)
    text = lines(0, 800)
    streams_jvm.call("streams_feed_start", bootstrap=kgw_bootstrap, topic=kgw_topic, lines=text, chunk=10,
                     pauseMs=40)
    while streams_jvm.call("streams_feed_progress")["acknowledged"] < 200:
        time.sleep(0.05)
    app["stateDir"] = str(tmp_path / "second")
    streams_jvm.call("streams_start", name="second", **app)
    assert streams_jvm.call("streams_feed_finish")["acknowledged"] == len(text)
    r = read_table(streams_jvm, kgw_bootstrap, output, counts(text), "long")
    assert r["matched"] and r["table"] == counts(text)
    assert_counts_only_grew(r["history"], counts(text))
    first, second = (streams_jvm.call("streams_status", name=n) for n in ("first", "second"))
    # Four sub-topologies' worth of tasks (two stages, four partitions each), split in two.
    assert len(first["activeTasks"]) == len(second["activeTasks"]) == 4
    assert sorted(first["activeTasks"] + second["activeTasks"]) == [f"{s}_{p}" for s in (0, 1) for p in range(4)]
    # The tasks that moved brought their stores back from the changelog.
    assert second["restored"] > 0
    assert first["uncaught"] == second["uncaught"] == []
