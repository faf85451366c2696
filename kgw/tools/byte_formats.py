"""How the tools write a key or value's bytes, and read them back:
`--key-format` and `--value-format` of `kgw produce` and `kgw consume`.

- text: the bytes as they are (in JSON output, a string; bytes that are
  not UTF-8 fall back to base64, and say so);
- hex, base64: the bytes encoded, for binary keys and values;
- json: the bytes are a JSON document; written on one line (in JSON
  output, embedded as JSON), checked when produced.  Bytes that are not
  JSON are written as text would write them.
"""

import base64
import binascii
import json

FORMATS = ("text", "hex", "base64", "json")


class BadInput(ValueError):
    """A produced key or value that is not in its declared format."""


def parse(data: bytes, fmt: str) -> bytes:
    """The bytes a line (or key) in `fmt` stands for."""
    if fmt == "text":
        return data
    if fmt == "hex":
        try:
            return bytes.fromhex(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise BadInput("not hex") from None
    if fmt == "base64":
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("not base64") from None
    try:
        json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("not JSON") from None
    return data


def render(data: bytes, fmt: str) -> bytes:
    """`data` for text output (never None: the caller writes its null literal)."""
    if fmt == "hex":
        return data.hex().encode()
    if fmt == "base64":
        return base64.b64encode(data)
    if fmt == "json":
        document = _json(data)
        if document is not _NOT_JSON:
            return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return data


def as_json(data: bytes | None, fmt: str) -> tuple[object, str | None]:
    """(the JSON value, its encoding) for JSON output: one field name for
    the bytes whatever their encoding, the encoding beside it."""
    if data is None:
        return None, None
    if fmt == "hex":
        return data.hex(), "hex"
    if fmt == "json":
        document = _json(data)
        if document is not _NOT_JSON:
            return document, "json"
    if fmt != "base64":
        try:
            return data.decode("utf-8"), "text"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode(), "base64"


_NOT_JSON = object()


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return _NOT_JSON
