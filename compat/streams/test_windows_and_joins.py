"""Kafka Streams 4.4.0 against kgw: a windowed aggregation (event-time
tumbling windows with a grace period) and a KTable-KTable join, both
under exactly_once_v2 with exact results read with read_committed."""

import time

from ._apps import app_args, create_topics, read_table

MINUTE = 60_000


def test_windowed_sums_by_event_time(streams_jvm, kgw_bootstrap, kgw_topic, tmp_path):
    output = f"{kgw_topic}-sums"
    create_topics(kgw_bootstrap, 1, output)
    streams_jvm.call("streams_start", name="w", **app_args(
        kgw_bootstrap, "windowed_sums", f"{kgw_topic}-app", tmp_path / "state", input=kgw_topic, output=output))
    t = (int(time.time() * 1000) // MINUTE - 10) * MINUTE  # a window boundary, ten minutes ago
    second = 1000
    records = [
        ["a", "3", t + 5 * second], ["b", "1", t + 10 * second], ["a", "4", t + 30 * second],
        ["b", "2", t + 61 * second], ["a", "10", t + 65 * second], ["b", "5", t + 119 * second],
        # Stream time reaches t + 130 s: the first window (grace: a minute) is closed ...
        ["c", "8", t + 130 * second],
        # ... so this one is dropped, while the second window still takes b's 6.
        ["a", "100", t + 50 * second], ["b", "6", t + 100 * second],
    ]
    streams_jvm.call("streams_feed", bootstrap=kgw_bootstrap, topic=kgw_topic, records=records, partition=0)
    expected = {f"a@{t}": "7", f"b@{t}": "1", f"a@{t + MINUTE}": "10", f"b@{t + MINUTE}": "13",
                f"c@{t + 2 * MINUTE}": "8"}
    r = read_table(streams_jvm, kgw_bootstrap, output, expected, "long")
    assert r["matched"] and r["table"] == expected
    assert all(int(v) <= 7 for v in r["history"][f"a@{t}"])  # the late 100 never got in
    assert streams_jvm.call("streams_stop", name="w")["uncaught"] == []


def test_ktable_ktable_join(streams_jvm, kgw_bootstrap, topic_name, tmp_path):
    users, balances, output = f"{topic_name}-users", f"{topic_name}-balances", f"{topic_name}-joined"
    create_topics(kgw_bootstrap, 2, users, balances, output)
    streams_jvm.call("streams_start", name="j", **app_args(
        kgw_bootstrap, "table_join", f"{topic_name}-app", tmp_path / "state",
        users=users, balances=balances, output=output))

    def feed(topic, *records):
        streams_jvm.call("streams_feed", bootstrap=kgw_bootstrap, topic=topic, records=[list(r) for r in records])

    feed(users, ("u1", "alice"), ("u2", "bob"), ("u3", "carol"), ("u4", "dave"), ("u5", "erin"))
    feed(balances, ("u1", "10"), ("u2", "20"), ("u3", "30"), ("u4", "40"), ("u6", "60"))
    first = {"u1": "alice=10", "u2": "bob=20", "u3": "carol=30", "u4": "dave=40"}
    assert read_table(streams_jvm, kgw_bootstrap, output, first)["table"] == first
    # A rename, a new balance, and a deleted user (a tombstone deletes the joined row).
    feed(users, ("u2", "robert"), ("u4", None))
    feed(balances, ("u3", "35"))
    expected = {"u1": "alice=10", "u2": "robert=20", "u3": "carol=35"}
    r = read_table(streams_jvm, kgw_bootstrap, output, expected)
    assert r["matched"] and r["table"] == expected
    assert r["history"]["u4"] == ["dave=40", None]
    assert "u5" not in r["history"] and "u6" not in r["history"]
    assert streams_jvm.call("streams_stop", name="j")["uncaught"] == []
