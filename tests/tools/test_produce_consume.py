"""`kgw produce` and `kgw consume` against a live kgw, outputs checked exactly."""

import re
import time

import pytest

from kgw.tools.partitioner import partition_for_key


def _timestamps_out(text: str) -> str:
    return re.sub(r'"timestamp": \d+', '"timestamp": T', text)


def test_lines_become_records_in_order(kgw, topic):
    kgw("topics", "create", topic)
    produced = kgw("produce", topic, input="one\ntwo\n\nlast-without-newline")
    assert (produced.exit_code, produced.stdout, produced.stderr) == (0, "", "")
    consumed = kgw("consume", topic, "--from-beginning")
    assert (consumed.exit_code, consumed.stdout, consumed.stderr) == (
        0, "one\ntwo\n\nlast-without-newline\n", "")


def test_crlf_line_ends_are_stripped(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\r\nb\r\n")
    assert kgw("consume", topic, "--from-beginning").stdout == "a\nb\n"


def test_keys_headers_and_json(kgw, topic):
    kgw("topics", "create", topic)
    before = int(time.time() * 1000)
    produced = kgw("produce", topic, "--key-separator", ":", "-H", "source=test", "-H", "eq=a=b",
                   input="k1:v1\nk2:v:2\n:empty-key\n")
    assert produced.exit_code == 0, produced.stderr
    consumed = kgw("consume", topic, "--from-beginning", "--format", "json")
    assert consumed.exit_code == 0
    headers = ('[{"key": "source", "value": "test", "value_encoding": "text"}, '
               '{"key": "eq", "value": "a=b", "value_encoding": "text"}]')
    assert _timestamps_out(consumed.stdout) == "".join(
        f'{{"topic": "{topic}", "partition": 0, "offset": {i}, "timestamp": T, '
        f'"key": "{k}", "key_encoding": "text", "value": "{v}", "value_encoding": "text", '
        f'"headers": {headers}}}\n'
        for i, (k, v) in enumerate([("k1", "v1"), ("k2", "v:2"), ("", "empty-key")]))
    stamps = [int(t) for t in re.findall(r'"timestamp": (\d+)', consumed.stdout)]
    assert all(before <= t <= int(time.time() * 1000) for t in stamps)
    text = kgw("consume", topic, "--from-beginning", "--print-key", "--key-separator", " => ")
    assert text.stdout == "k1 => v1\nk2 => v:2\n => empty-key\n"
    nulls = kgw("produce", topic, input="no key\n")
    assert nulls.exit_code == 0
    # A null key is told apart from the string "null".
    assert kgw("consume", topic, "--offset", 3, "--print-key").stdout == "(null)\tno key\n"


def test_bytes_that_are_not_utf8_are_base64_in_json(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, "-k", "|", input=b"\xff|\xfe\x00\n")
    out = kgw("consume", topic, "--from-beginning", "-f", "json").stdout
    assert _timestamps_out(out) == (
        f'{{"topic": "{topic}", "partition": 0, "offset": 0, "timestamp": T, '
        f'"key": "/w==", "key_encoding": "base64", "value": "/gA=", "value_encoding": "base64", '
        f'"headers": []}}\n')
    raw = kgw("consume", topic, "--from-beginning").stdout_bytes
    assert raw == b"\xfe\x00\n"


def test_a_line_without_the_key_separator_stops_after_the_lines_before_it(kgw, topic):
    kgw("topics", "create", topic)
    result = kgw("produce", topic, "-k", ":", input="a:1\nb:2\nno separator\nc:3\n")
    assert (result.exit_code, result.stderr) == (
        1, "Error: line 3 has no key separator ':' (2 records were written before it)\n")
    assert kgw("consume", topic, "--from-beginning", "--print-key").stdout == "a\t1\nb\t2\n"
    first = kgw("produce", topic, "-k", ":", input="bad\n")
    assert first.stderr == "Error: line 1 has no key separator ':' (no records were written before it)\n"


def test_keys_choose_partitions_as_the_java_client_does(kgw, topic):
    kgw("topics", "create", topic, "-p", 3)
    keys = [f"key-{i}" for i in range(12)]
    kgw("produce", topic, "-k", "=", input="".join(f"{k}={k}\n" for k in keys))
    for partition in range(3):
        out = kgw("consume", topic, "--from-beginning", "-p", partition).stdout
        assert out == "".join(f"{k}\n" for k in keys if partition_for_key(k.encode(), 3) == partition)


def test_unkeyed_records_take_partitions_in_turn(kgw, topic):
    kgw("topics", "create", topic, "-p", 3)
    kgw("produce", topic, input="a\nb\nc\nd\n")
    assert [kgw("consume", topic, "--from-beginning", "-p", p).stdout for p in range(3)] == [
        "a\nd\n", "b\n", "c\n"]


def test_a_chosen_partition(kgw, topic):
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "--partition", 1, "-k", ":", input="a:1\nb:2\n")
    assert kgw("consume", topic, "--from-beginning", "-p", 0).stdout == ""
    assert kgw("consume", topic, "--from-beginning", "-p", 1).stdout == "1\n2\n"


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_codec(kgw, topic, codec):
    kgw("topics", "create", topic)
    produced = kgw("produce", topic, "--compression", codec, input="x" * 1000 + "\nsecond\n")
    assert produced.exit_code == 0, produced.stderr
    assert kgw("consume", topic, "--from-beginning").stdout == "x" * 1000 + "\nsecond\n"


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(kgw, topic, acks):
    kgw("topics", "create", topic)
    assert kgw("produce", topic, "--acks", acks, input="a\nb\n").exit_code == 0
    # acks=0 gets no answer, so wait for the records rather than for the end.
    result = kgw("consume", topic, "--from-beginning", "--count", 2, "--timeout", 10)
    assert (result.exit_code, result.stdout) == (0, "a\nb\n")


def test_start_positions(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="r0\nr1\nr2\nr3\n")
    assert kgw("consume", topic).stdout == ""  # from the end, as Kafka's console consumer
    assert kgw("consume", topic, "--offset", 2).stdout == "r2\nr3\n"
    assert kgw("consume", topic, "--offset", 4).stdout == ""
    assert kgw("consume", topic, "--from-beginning", "--count", 3).stdout == "r0\nr1\nr2\n"
    stamps = re.findall(r'"timestamp": (\d+)', kgw("consume", topic, "--from-beginning",
                                                   "-f", "json").stdout)
    first = int(stamps[0])
    assert kgw("consume", topic, "--from-timestamp", first).stdout == "r0\nr1\nr2\nr3\n"
    assert kgw("consume", topic, "--from-timestamp", first + 3_600_000).stdout == ""


def test_offset_outside_the_partition(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\nb\n")
    result = kgw("consume", topic, "--offset", 5)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", f"Error: offset 5 is outside partition 0 of '{topic}', which holds offsets "
               "0 to 1 (its next offset is 2)\n")


def test_count_waits_and_times_out(kgw, topic):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\nb\n")
    result = kgw("consume", topic, "--from-beginning", "--count", 5, "--timeout", 0.3)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "a\nb\n", "Error: timed out with 2 of 5 records\n")


def test_group_offsets_are_committed_and_resumed(kgw, topic):
    group = f"{topic}-group"
    kgw("topics", "create", topic, "-p", 2)
    kgw("produce", topic, "--partition", 0, input="a\nb\nc\n")
    kgw("produce", topic, "--partition", 1, input="x\n")
    first = kgw("consume", topic, "--group", group, "--from-beginning", "-p", 0, "--count", 2)
    assert (first.exit_code, first.stdout) == (0, "a\nb\n")
    # Committed: 2 for partition 0; the rest starts from the beginning.
    rest = kgw("consume", topic, "--group", group, "--from-beginning")
    assert (rest.exit_code, rest.stdout) == (0, "c\nx\n")
    # Everything read is committed, so a third run finds nothing new.
    assert kgw("consume", topic, "--group", group, "--from-beginning").stdout == ""
    kgw("produce", topic, "--partition", 1, input="y\n")
    assert kgw("consume", topic, "--group", group).stdout == "y\n"


def test_a_group_that_printed_nothing_commits_nothing(kgw, topic):
    """A new group starts at the end, as Kafka's consumer does by default,
    but a run that printed nothing leaves it without committed offsets."""
    group = f"{topic}-group"
    kgw("topics", "create", topic)
    kgw("produce", topic, input="old\n")
    assert kgw("consume", topic, "--group", group).stdout == ""
    kgw("produce", topic, input="new\n")
    assert kgw("consume", topic, "--group", group, "--from-beginning").stdout == "old\nnew\n"
    assert kgw("consume", topic, "--group", group, "--from-beginning").stdout == ""


def test_unknown_topic_and_partition(kgw, topic):
    for args in (("consume", topic), ("produce", topic, "--no-create")):
        result = kgw(*args, input="a\n")
        assert (result.exit_code, result.stdout, result.stderr) == (
            1, "", f"Error: unknown topic '{topic}'\n")
    kgw("topics", "create", topic)
    for args in (("consume", topic, "-p", 1), ("produce", topic, "-p", 1)):
        result = kgw(*args, input="a\n")
        assert (result.exit_code, result.stderr) == (
            1, f"Error: topic '{topic}' has no partition 1 (it has 1)\n")


def test_conflicting_start_options_are_one_usage_line(kgw, topic):
    result = kgw("consume", topic, "--from-beginning", "--offset", 1)
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", "Error: use only one of --from-beginning, --offset, --from-timestamp and "
               "--auto-offset-reset (see 'kgw consume --help')\n")
    result = kgw("consume", topic, "--follow", "--timeout", 1)
    assert (result.exit_code, result.stderr) == (
        2, "Error: --timeout needs an end: --count, or no --follow (see 'kgw consume --help')\n")


def test_a_run_to_the_end_stops_at_the_end_it_saw_first():
    from kgw.tools.consume import _take
    from protocol.records import Record

    def line(topic, partition, record, timestamp_type):
        return record.value + b"\n"

    batches = [([Record(o, 0, None, b"%d" % o) for o in (4, 5, 6)], 7, 0),
               ([Record(o, 0, None, b"%d" % o) for o in (7, 8)], 9, 0)]
    assert _take(batches, 4, None, None, "t", 0, line) == (b"4\n5\n6\n7\n8\n", 9, 5)
    assert _take(batches, 4, None, 6, "t", 0, line) == (b"4\n5\n", 6, 2)
    assert _take(batches, 4, 4, None, "t", 0, line) == (b"4\n5\n6\n7\n", 8, 4)
    # A control batch (no records) still moves the position past itself.
    assert _take([([], 5, 0)] + batches[1:], 4, None, None, "t", 0, line) == (b"7\n8\n", 9, 2)
