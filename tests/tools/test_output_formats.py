"""What `kgw consume` prints: Kafka's console consumer's --print-* fields,
kcat's -f templates, null told apart from "null", binary keys and values,
and JSON with one field per key or value whatever its encoding."""

import json

import pytest

from kgw.tools.record_output import Rendering, TemplateOutput
from protocol.records import Record

from .conftest import produce_records

T = 1_714_564_800_000  # 2024-05-01T12:00:00Z


@pytest.fixture
def records(kgw, broker, topic):
    """Four records: a header pair, a null key, a null value, the string "null"."""
    kgw("topics", "create", topic)
    produce_records(broker.bootstrap, topic, [
        (T, b"k1", b"v1", [("h1", b"a"), ("h2", None)]),
        (T + 1, None, b"no key"),
        (T + 2, b"k3", None),
        (T + 3, b"null", b"null"),
    ])
    return topic


def test_print_fields_as_kafka_console_consumer_prints_them(kgw, records):
    result = kgw("consume", records, "--from-beginning", "--print-timestamp", "--print-partition",
                 "--print-offset", "--print-headers", "--print-key")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"CreateTime:{T}\tPartition:0\tOffset:0\th1:a,h2:(null)\tk1\tv1",
        f"CreateTime:{T + 1}\tPartition:0\tOffset:1\tNO_HEADERS\t(null)\tno key",
        f"CreateTime:{T + 2}\tPartition:0\tOffset:2\tNO_HEADERS\tk3\t(null)",
        f"CreateTime:{T + 3}\tPartition:0\tOffset:3\tNO_HEADERS\tnull\tnull",
    ]
    offsets = kgw("consume", records, "--from-beginning", "--print-offset", "--key-separator", " | ")
    assert offsets.stdout.splitlines()[:2] == ["Offset:0 | v1", "Offset:1 | no key"]


def test_null_is_not_the_string_null(kgw, records):
    text = kgw("consume", records, "--offset", 2, "--print-key")
    assert text.stdout == "k3\t(null)\nnull\tnull\n"
    chosen = kgw("consume", records, "--offset", 2, "--print-key", "--null-literal", "NULL")
    assert chosen.stdout == "k3\tNULL\nnull\tnull\n"
    objects = [json.loads(line) for line in kgw("consume", records, "--offset", 2, "-f", "json").stdout.splitlines()]
    assert [(o["key"], o["value"], o["value_encoding"]) for o in objects] == [
        ("k3", None, None), ("null", "null", "text")]
    lengths = kgw("consume", records, "--offset", 2, "-f", "%K:%k %S:%s\\n")
    assert lengths.stdout == "2:k3 -1:(null)\n4:null 4:null\n"


def test_templates_as_kcat_f(kgw, records):
    result = kgw("consume", records, "--from-beginning", "--count", 1, "-f",
                 "%t|%p|%o|%T|%k|%K|%s|%S|%v|%h|100%%\\t\\x41\\n")
    assert (result.exit_code, result.stdout) == (0, f"{records}|0|0|{T}|k1|2|v1|2|v1|h1=a,h2=(null)|100%\tA\n")
    # Nothing is added: no newline unless the template has one.
    assert kgw("consume", records, "--from-beginning", "-f", "%o,").stdout == "0,1,2,3,"


def test_a_bad_template_or_format_is_a_usage_line(kgw, records):
    unknown = kgw("consume", records, "-f", "%q")
    assert (unknown.exit_code, unknown.stderr) == (
        2, "Error: Invalid value for '-f' / '--format': unknown token %q (use one of %t, %p, %o, %T, "
           "%k, %K, %s, %S, %v, %h, %%) (see 'kgw consume --help')\n")
    neither = kgw("consume", records, "-f", "yaml")
    assert neither.exit_code == 2 and "'yaml' is not text, json or a template" in neither.stderr


def test_binary_values_as_hex_base64_or_json(kgw, broker, topic):
    kgw("topics", "create", topic)
    produce_records(broker.bootstrap, topic, [(T, b"\x00\x01", b"\xff\xfe"),
                                              (T, b"k", b'{"a": [1, 2],\n "b": "\xc3\xa9"}'),
                                              (T, b"k", b"not json")])
    hexed = kgw("consume", topic, "--from-beginning", "--print-key", "--key-format", "hex",
                "--value-format", "hex")
    assert hexed.stdout == "0001\tfffe\n6b\t" + b'{"a": [1, 2],\n "b": "\xc3\xa9"}'.hex() + "\n6b\t6e6f74206a736f6e\n"
    based = kgw("consume", topic, "--from-beginning", "--count", 1, "--value-format", "base64")
    assert based.stdout == "//4=\n"
    # json: one line each; what is not JSON prints as it is.
    assert kgw("consume", topic, "--offset", 1, "--value-format", "json").stdout == (
        '{"a":[1,2],"b":"é"}\nnot json\n')
    objects = [json.loads(line) for line in kgw(
        "consume", topic, "--from-beginning", "-f", "json", "--key-format", "hex",
        "--value-format", "json").stdout.splitlines()]
    assert [(o["key"], o["key_encoding"], o["value"], o["value_encoding"]) for o in objects] == [
        ("0001", "hex", "//4=", "base64"),
        ("6b", "hex", {"a": [1, 2], "b": "é"}, "json"),
        ("6b", "hex", "not json", "text")]
    with_base64 = json.loads(kgw("consume", topic, "--from-beginning", "--count", 1, "-f", "json",
                                 "--value-format", "base64").stdout)
    assert (with_base64["value"], with_base64["value_encoding"]) == ("//4=", "base64")


def test_log_append_time_is_named_as_kafka_names_it():
    from kgw.tools.record_output import TextOutput

    output = TextOutput(Rendering(), timestamp=True)
    assert output("t", 0, Record(5, 42, None, b"v"), 1) == b"LogAppendTime:42\tv\n"
    assert output("t", 0, Record(5, 42, None, b"v"), 0) == b"CreateTime:42\tv\n"


def test_template_escapes():
    render = TemplateOutput("a\\\\b\\r\\x7a\\q%%", Rendering())
    assert render("t", 0, Record(0, 0, None, None), 0) == b"a\\b\rz\\q%"
