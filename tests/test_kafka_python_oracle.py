"""Cross-implementation checks with kafka-python 3.0.12 as the oracle.

For every declared (api, version) that kafka-python can encode: requests
encoded by kafka-python decode in protocol/ to the same values and
re-encode to the same bytes; responses encoded by protocol/ decode in
kafka-python to the same field values.  kafka-python is only an oracle here.
"""

import importlib
import pkgutil
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from protocol.messages import APIS, REQUEST_CODECS, RESPONSE_CODECS
from protocol.schema import Array, Struct

from .message_strategies import message

kafka_protocol = pytest.importorskip("kafka.protocol")
from kafka.protocol.api_message import ApiMessage  # noqa: E402


def _kafka_python_messages():
    for info in pkgutil.walk_packages(kafka_protocol.__path__, "kafka.protocol."):
        if ".old" not in info.name and "generate" not in info.name:
            importlib.import_module(info.name)
    found = {}
    pending = list(ApiMessage.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if getattr(cls, "_class_version", None) is None and getattr(cls, "_json", None):
            found[cls.API_KEY, cls.type] = cls
    return found


ORACLE = _kafka_python_messages()

CASES = [(key, v) for key, api in sorted(APIS.items())
         for v in range(api.min_version, api.max_version + 1)
         if (key, "request") in ORACLE and v <= ORACLE[key, "request"].max_version]


def test_oracle_covers_every_declared_api():
    assert {key for key, _ in CASES} == set(APIS)


# kafka-python renames a few fields of Kafka's definitions.
RENAMED = {
    ("MetadataResponse", "cluster_authorized_operations"): "authorized_operations",
    ("MetadataResponseTopic", "topic_authorized_operations"): "authorized_operations",
    ("DescribeClusterResponse", "cluster_authorized_operations"): "authorized_operations",
}
INT32_MIN = -(1 << 31)


def _same(ours, theirs, struct: Struct, version: int, where: str):
    """Compare a protocol/ value with a kafka-python one, field by field."""
    for f in struct.fields:
        if version not in f.versions:
            continue
        mine = getattr(ours, f.name)
        other = getattr(theirs, RENAMED.get((struct.name, f.name), f.name))
        path = f"{where}.{f.name}"
        if f.name.endswith("authorized_operations") and not isinstance(other, int):
            # kafka-python turns this int32 bitfield into the set of its bits,
            # or None for INT32_MIN ("not requested").
            bits = None if mine == INT32_MIN else {i for i in range(32) if mine >> i & 1}
            assert bits == (None if other is None else set(other)), path
            continue
        if isinstance(f.type, (Array, Struct)):
            if mine is None or other is None:
                assert mine is None and other is None, path
                continue
            inner = f.type.element if isinstance(f.type, Array) else f.type
            pairs = zip(mine, other, strict=True) if isinstance(f.type, Array) else [(mine, other)]
            for i, (a, b) in enumerate(pairs):
                if isinstance(inner, Struct):
                    _same(a, b, inner, version, f"{path}[{i}]")
                else:
                    assert a == b, path
        elif isinstance(mine, uuid.UUID) or isinstance(other, uuid.UUID):
            # kafka-python reads the all-zero UUID as None.
            assert (mine or uuid.UUID(int=0)) == (other or uuid.UUID(int=0)), path
        elif isinstance(mine, memoryview):
            assert bytes(mine) == bytes(other), path
        else:
            assert mine == other, path


@pytest.mark.parametrize("key,version", CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_requests_encoded_by_kafka_python(key, version, data):
    api = APIS[key]
    value = data.draw(message(api.request, version, api.is_flexible(version)))
    ours = REQUEST_CODECS[key, version]
    theirs = ORACLE[key, "request"]
    # Let kafka-python parse our bytes and encode the result itself: the
    # bytes it produces are what it sends to a broker.
    kp_value = theirs.decode(ours.to_bytes(value), version=version)
    kp_value.with_header()  # kafka-python keeps the version on its header
    kp_bytes = kp_value.encode(version=version)
    decoded, end = ours.decode(memoryview(kp_bytes), 0)
    assert end == len(kp_bytes)
    assert decoded == value
    _same(decoded, kp_value, api.request, version, api.request.name)
    assert ours.to_bytes(decoded) == kp_bytes


@pytest.mark.parametrize("key,version", CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_responses_decoded_by_kafka_python(key, version, data):
    api = APIS[key]
    # kafka-python, like every client, reads an ApiVersions error response
    # as v0 (KIP-511), so only successful ones are comparable field by field.
    overrides = {"error_code": st.just(0)} if api.name == "ApiVersions" else {}
    value = data.draw(message(api.response, version, api.is_flexible(version), **overrides))
    encoded = RESPONSE_CODECS[key, version].to_bytes(value)
    kp_value = ORACLE[key, "response"].decode(encoded, version=version)
    _same(value, kp_value, api.response, version, api.response.name)
    assert kp_value.encode() == encoded
