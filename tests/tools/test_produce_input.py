"""What `kgw produce` reads and sends: lines as they arrive, bad lines,
topics created on demand, a fixed key, a file, binary input."""

import base64
import os
import subprocess
import sys

from .conftest import ThreadedBroker, tool_runner


def test_lines_are_sent_as_they_arrive(kgw, broker, topic):
    kgw("topics", "create", topic)
    proc = subprocess.Popen([sys.executable, "-m", "kgw", "produce", topic],
                            env={**os.environ, "KGW_BOOTSTRAP": broker.bootstrap},
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"first\n")
        proc.stdin.flush()
        # Readable while the producer still waits for more input.
        seen = kgw("consume", topic, "--from-beginning", "--count", 1, "--timeout", 30)
        assert (seen.exit_code, seen.stdout) == (0, "first\n")
        assert proc.poll() is None
        proc.stdin.write(b"second\n")
        proc.stdin.close()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.stderr.close()
    assert kgw("consume", topic, "--from-beginning").stdout == "first\nsecond\n"


def test_bad_lines_are_skipped_with_a_warning(kgw, topic):
    kgw("topics", "create", topic)
    result = kgw("produce", topic, "-k", ":", "--skip-bad-lines", input="a:1\nnothing\nb:2\n:\n")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, "", "Warning: line 2 has no key separator ':'; skipped\n")
    assert kgw("consume", topic, "--from-beginning", "--print-key").stdout == "a\t1\nb\t2\n\t\n"


def test_a_missing_topic_is_created_as_clients_create_it(kgw, topic):
    created = kgw("produce", topic, input="hello\n")
    assert (created.exit_code, created.stderr) == (0, "")
    assert kgw("consume", topic, "--from-beginning").stdout == "hello\n"
    # As the broker creates topics: num.partitions (1 for the test broker).
    assert kgw("topics", "describe", topic).stdout.splitlines()[0].split("\t")[2] == "PartitionCount: 1"
    refused = kgw("produce", f"{topic}-not", "--no-create", input="x\n")
    assert (refused.exit_code, refused.stderr) == (1, f"Error: unknown topic '{topic}-not'\n")
    assert kgw("topics", "list").stdout.split().count(f"{topic}-not") == 0


def test_a_broker_that_does_not_create_topics(tmp_path, topic):
    with ThreadedBroker(tmp_path, flush="never", auto_create_topics=False) as strict:
        result = tool_runner(strict.bootstrap)("produce", topic, input="x\n")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: unknown topic '{topic}': the broker did not create it (its auto.create.topics.enable "
           f"may be off): create it with kgw topics create {topic}\n")


def test_a_fixed_key(kgw, topic):
    kgw("topics", "create", topic, "-p", 3)
    result = kgw("produce", topic, "--key", "user-7", input="a\nb\nc\n")
    assert result.exit_code == 0
    out = kgw("consume", topic, "--from-beginning", "-f", "%p %k %s\\n").stdout.splitlines()
    # One key, one partition, in order.
    assert len({line.split()[0] for line in out}) == 1
    assert [line.split(" ", 1)[1] for line in out] == ["user-7 a", "user-7 b", "user-7 c"]
    both = kgw("produce", topic, "--key", "k", "-k", ":", input="a\n")
    assert (both.exit_code, both.stderr) == (
        2, "Error: use --key-separator or --key, not both (see 'kgw produce --help')\n")


def test_lines_from_a_file(kgw, topic, tmp_path):
    path = tmp_path / "lines"
    path.write_bytes(b"one\r\ntwo\n")
    assert kgw("produce", topic, "--file", path).exit_code == 0
    assert kgw("consume", topic, "--from-beginning").stdout == "one\ntwo\n"
    missing = kgw("produce", topic, "--file", tmp_path / "none")
    assert missing.exit_code == 2 and "No such file or directory" in missing.stderr


def test_binary_input_as_hex_or_base64_and_json_checked(kgw, topic):
    kgw("topics", "create", topic)
    binary = bytes(range(256))
    lines = f"00ff:{binary.hex()}\n6b:{b'text'.hex()}\n".encode()
    result = kgw("produce", topic, "-k", ":", "--key-format", "hex", "--value-format", "hex", input=lines)
    assert result.exit_code == 0, result.stderr
    based = kgw("produce", topic, "--value-format", "base64", input=base64.b64encode(b"\x01\x02") + b"\n")
    assert based.exit_code == 0
    out = kgw("consume", topic, "--from-beginning", "--print-key", "--key-format", "hex",
              "--value-format", "hex").stdout.splitlines()
    assert out == [f"00ff\t{binary.hex()}", f"6b\t{b'text'.hex()}", "(null)\t0102"]
    not_hex = kgw("produce", topic, "--value-format", "hex", input="zz\n")
    assert (not_hex.exit_code, not_hex.stderr) == (
        1, "Error: line 1's value is not hex (--value-format hex) (no records were written before it)\n")
    not_json = kgw("produce", topic, "--value-format", "json", input='{"a": 1}\n{oops\n')
    assert (not_json.exit_code, not_json.stderr) == (
        1, "Error: line 2's value is not JSON (--value-format json) (1 record was written before it)\n")
    key = kgw("produce", topic, "--key", "zz", "--key-format", "base64", input="x\n")
    assert key.exit_code == 2 and "'zz' is not base64 (--key-format base64)" in key.stderr
