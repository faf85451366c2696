"""Where `kgw consume` starts, what it commits with --group, and how it ends
when its reader goes away."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from kgw.tools.positions import parse_time, start_offset

from .conftest import produce_records

HOUR = 3_600_000


def _committed(kgw, group: str) -> dict[int, int]:
    """Partition -> committed offset, from `kgw groups describe --format json`."""
    result = kgw("groups", "describe", group, "--format", "json")
    if result.exit_code:
        return {}
    return {o["partition"]: o["current_offset"] for o in json.loads(result.stdout)[0]["offsets"]}


def test_a_new_group_follows_auto_offset_reset(kgw, topic):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="a\nb\n")
    kgw("produce", topic, "-p", 1, input="c\n")
    earliest = kgw("consume", topic, "--group", f"{topic}-1", "--auto-offset-reset", "earliest")
    assert (earliest.exit_code, sorted(earliest.stdout.split())) == (0, ["a", "b", "c"])
    assert _committed(kgw, f"{topic}-1") == {0: 2, 1: 1}
    beginning = kgw("consume", topic, "--group", f"{topic}-2", "--from-beginning", "--count", 3)
    assert sorted(beginning.stdout.split()) == ["a", "b", "c"]
    latest = kgw("consume", topic, "--group", f"{topic}-3", "--auto-offset-reset", "latest")
    assert (latest.exit_code, latest.stdout) == (0, "")


def test_a_new_group_that_times_out_says_it_started_at_the_end_and_commits_nothing(kgw, topic):
    group = f"{topic}-group"
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, input="a\nb\n")
    result = kgw("consume", topic, "--group", group, "--count", 3, "--timeout", 0.5)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", f"Error: timed out with 0 of 3 records; group '{group}' had no committed offset for "
               "partitions 0, 1 and started at the end, as Kafka's consumer does by default "
               "(--auto-offset-reset earliest starts at the beginning)\n")
    assert _committed(kgw, group) == {}
    alone = kgw("consume", topic, "--count", 1, "--timeout", 0.3)
    assert alone.stderr == ("Error: timed out with 0 of 1 records; it started at the end of the topic "
                            "(--from-beginning reads what it holds)\n")
    told = kgw("consume", topic, "--group", group, "--count", 3, "--timeout", 0.3, "--auto-offset-reset", "latest")
    assert told.stderr == "Error: timed out with 0 of 3 records\n"


def test_only_what_was_printed_is_committed(kgw, topic):
    group = f"{topic}-group"
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="a\nb\nc\n")
    first = kgw("consume", topic, "--group", group, "--from-beginning", "-p", 0, "--count", 2)
    assert first.stdout == "a\nb\n"
    # Partition 1 was not read: nothing is committed for it.
    assert _committed(kgw, group) == {0: 2}
    timed_out = kgw("consume", topic, "--group", group, "--count", 5, "--timeout", 0.5)
    assert (timed_out.exit_code, timed_out.stdout) == (1, "c\n")
    assert _committed(kgw, group) == {0: 3}


def test_a_closed_stdout_ends_quietly_and_commits_what_was_printed(kgw, broker, topic):
    group = f"{topic}-group"
    kgw("topics", "create", topic)
    kgw("produce", topic, input="first\n")
    proc = subprocess.Popen([sys.executable, "-m", "kgw", "consume", topic, "--group", group,
                             "--from-beginning", "--follow"],
                            env={**os.environ, "KGW_BOOTSTRAP": broker.bootstrap},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"first\n"
        proc.stdout.close()  # as `| head -1` does once it has its line
        kgw("produce", topic, input="second\n")
        assert proc.wait(30) == 0
        assert proc.stderr.read() == b""
    finally:
        proc.kill()
        proc.stderr.close()
    # "second" went into a closed pipe: not printed, not committed.
    assert _committed(kgw, group) == {0: 1}


def test_a_closed_stdout_through_a_shell_pipe(broker, topic, kgw):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="".join(f"line {i}\n" for i in range(2000)))
    shell = subprocess.run(
        f"{sys.executable} -m kgw consume {topic} --from-beginning | head -1; "
        "echo \"status ${PIPESTATUS[0]}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True,
        env={**os.environ, "KGW_BOOTSTRAP": broker.bootstrap})
    assert (shell.stdout, shell.stderr) == ("line 0\nstatus 0\n", "")


def test_negative_offsets_count_back_from_the_end_of_each_partition(kgw, topic):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "-p", 0, input="".join(f"a{i}\n" for i in range(7)))
    kgw("produce", topic, "-p", 1, input="b0\nb1\n")
    result = kgw("consume", topic, "--offset", -5, "-f", "%p:%s\\n")
    assert (result.exit_code, sorted(result.stdout.split())) == (
        0, ["0:a2", "0:a3", "0:a4", "0:a5", "0:a6", "1:b0", "1:b1"])
    assert kgw("consume", topic, "-o", "-1", "-p", 0).stdout == "a6\n"
    bad = kgw("consume", topic, "--offset", "last")
    assert bad.exit_code == 2 and "'last' is not an offset (N, or -N for the last N records)" in bad.stderr


def test_from_timestamp_takes_iso_8601_and_times_ago(kgw, broker, topic):
    kgw("topics", "create", topic)
    base = 1_714_564_800_000  # 2024-05-01T12:00:00Z
    produce_records(broker.bootstrap, topic, [(base, None, b"noon"), (base + HOUR, None, b"one"),
                                              (base + 2 * HOUR, None, b"two")])
    for time_text in ("2024-05-01T13:00:00Z", "2024-05-01T15:00:00+02:00", str(base + HOUR),
                      "2024-05-01T12:30:00.5+00:00"):
        assert kgw("consume", topic, "--from-timestamp", time_text).stdout == "one\ntwo\n", time_text
    now = int(time.time() * 1000)
    produce_records(broker.bootstrap, topic, [(now - 3 * HOUR, None, b"3h ago"),
                                              (now - 1 * HOUR, None, b"1h ago")])
    # The first record at or after the time: "noon" is in 2024, before now.
    assert kgw("consume", topic, "--from-timestamp", "-2h").stdout == "1h ago\n"
    assert kgw("consume", topic, "--from-timestamp", "-4h").stdout == "3h ago\n1h ago\n"
    bad = kgw("consume", topic, "--from-timestamp", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not a time" in bad.stderr


def test_parse_time():
    now = 1_714_564_800_000
    assert parse_time("1714564800000") == now
    assert parse_time("2024-05-01T12:00:00Z") == now
    assert parse_time("2024-05-01T14:00:00+02:00") == now
    assert parse_time("-90m", now_ms=now) == now - 90 * 60_000
    assert parse_time("-1.5h", now_ms=now) == now - 90 * 60_000
    assert parse_time("-2d", now_ms=now) == now - 2 * 86_400_000
    assert parse_time("-250ms", now_ms=now) == now - 250
    # Without an offset, local time, as Kafka's tools read it.
    assert parse_time("2024-05-01T12:00:00") == int(datetime(2024, 5, 1, 12).timestamp() * 1000)
    for bad in ("", "soon", "-1y", "12:00"):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_start_offset():
    assert start_offset(3, 0, 10) == 3
    assert start_offset(-3, 0, 10) == 7
    assert start_offset(-30, 4, 10) == 4
