"""How `kgw consume` prints a record: Kafka's console consumer's text lines,
one JSON object per record, or a kcat `-f` template.

Each output is a callable (topic, partition, record, timestamp type) ->
the bytes to print.
"""

import json
import re
from dataclasses import dataclass

from protocol.records import LOG_APPEND_TIME, Record

from . import byte_formats

# As Kafka's TimestampType prints itself.
TIMESTAMP_TYPES = {0: "CreateTime", LOG_APPEND_TIME: "LogAppendTime"}
# kcat's -f tokens, and %v for the value as well as its %s.
TEMPLATE_TOKENS = "tpoTkKsSvh%"
_TOKEN = re.compile(r"%(.)|\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\"}


@dataclass(frozen=True)
class Rendering:
    """How keys, values and nulls are written."""

    key_format: str = "text"
    value_format: str = "text"
    null: bytes = b"(null)"

    def key(self, data: bytes | None) -> bytes:
        return self.null if data is None else byte_formats.render(data, self.key_format)

    def value(self, data: bytes | None) -> bytes:
        return self.null if data is None else byte_formats.render(data, self.value_format)

    def header(self, data: bytes | None) -> bytes:
        return self.null if data is None else data


@dataclass(frozen=True)
class TextOutput:
    """Kafka's kafka-console-consumer.sh: the value, preceded on request by
    the timestamp (CreateTime:MS), partition (Partition:N), offset
    (Offset:N), headers (k:v,k:v or NO_HEADERS) and key, in that order,
    separated by `separator`."""

    rendering: Rendering
    separator: bytes = b"\t"
    timestamp: bool = False
    partition: bool = False
    offset: bool = False
    headers: bool = False
    key: bool = False

    def __call__(self, topic: str, partition: int, record: Record, timestamp_type: int) -> bytes:
        fields = []
        if self.timestamp:
            fields.append(f"{TIMESTAMP_TYPES[timestamp_type]}:{record.timestamp}".encode())
        if self.partition:
            fields.append(b"Partition:%d" % partition)
        if self.offset:
            fields.append(b"Offset:%d" % record.offset)
        if self.headers:
            fields.append(b",".join(name.encode() + b":" + self.rendering.header(value)
                                    for name, value in record.headers) or b"NO_HEADERS")
        if self.key:
            fields.append(self.rendering.key(record.key))
        fields.append(self.rendering.value(record.value))
        return self.separator.join(fields) + b"\n"


@dataclass(frozen=True)
class JsonOutput:
    """One JSON object a line; a key, value or header value in one field
    whatever its encoding, with the encoding beside it."""

    rendering: Rendering

    def __call__(self, topic: str, partition: int, record: Record, timestamp_type: int) -> bytes:
        key, key_encoding = byte_formats.as_json(record.key, self.rendering.key_format)
        value, value_encoding = byte_formats.as_json(record.value, self.rendering.value_format)
        headers = []
        for name, data in record.headers:
            header_value, encoding = byte_formats.as_json(data, "text")
            headers.append({"key": name, "value": header_value, "value_encoding": encoding})
        return json.dumps({
            "topic": topic, "partition": partition, "offset": record.offset,
            "timestamp": record.timestamp, "key": key, "key_encoding": key_encoding,
            "value": value, "value_encoding": value_encoding, "headers": headers,
        }, ensure_ascii=False).encode() + b"\n"


class TemplateOutput:
    """kcat's -f: %t topic, %p partition, %o offset, %T timestamp (ms), %k
    key, %K key length, %s or %v value, %S value length (-1 for null), %h
    headers (k=v,k=v), %% a %; \\n \\r \\t \\\\ and \\xHH.  Nothing is added:
    a line ends where the template says."""

    def __init__(self, template: str, rendering: Rendering):
        self.rendering = rendering
        self._parts: list[bytes | str] = []
        pos = 0
        for match in _TOKEN.finditer(template):
            self._literal(template[pos:match.start()].encode())
            token, escape = match.groups()
            if token is not None:
                if token not in TEMPLATE_TOKENS:
                    raise ValueError(f"unknown token %{token} (use one of "
                                     f"{', '.join('%' + t for t in TEMPLATE_TOKENS)})")
                if token == "%":
                    self._literal(b"%")
                else:
                    self._parts.append(token)
            elif escape.startswith("x") and len(escape) == 3:
                self._literal(bytes([int(escape[1:], 16)]))
            else:
                self._literal(_ESCAPES.get(escape, b"\\" + escape.encode()))
            pos = match.end()
        self._literal(template[pos:].encode())

    def _literal(self, text: bytes) -> None:
        if not text:
            return
        if self._parts and isinstance(self._parts[-1], bytes):
            self._parts[-1] += text
        else:
            self._parts.append(text)

    def __call__(self, topic: str, partition: int, record: Record, timestamp_type: int) -> bytes:
        out = []
        for part in self._parts:
            if isinstance(part, bytes):
                out.append(part)
            elif part == "t":
                out.append(topic.encode())
            elif part == "p":
                out.append(b"%d" % partition)
            elif part == "o":
                out.append(b"%d" % record.offset)
            elif part == "T":
                out.append(b"%d" % record.timestamp)
            elif part == "k":
                out.append(self.rendering.key(record.key))
            elif part in "sv":
                out.append(self.rendering.value(record.value))
            elif part == "K":
                out.append(b"%d" % (-1 if record.key is None else len(record.key)))
            elif part == "S":
                out.append(b"%d" % (-1 if record.value is None else len(record.value)))
            else:
                out.append(b",".join(name.encode() + b"=" + self.rendering.header(value)
                                     for name, value in record.headers))
        return b"".join(out)
