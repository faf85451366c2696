"""Every declared (api, version): declarations agree with Apache Kafka's
message definitions, and generated values survive an encode/decode round trip."""

import json
import re
import subprocess
import sys
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from protocol.messages import APIS, REQUEST_CODECS, RESPONSE_CODECS
from protocol.schema import Array, Struct, Versions

from .message_strategies import message

# The census's "advertise (recommended)" ranges, plus SASL, CreatePartitions,
# the two AlterConfigs and OffsetDelete (every version Kafka 4 has).
EXPECTED_RANGES = {
    "ApiVersions": (0, 4), "Metadata": (0, 12), "Produce": (0, 10), "Fetch": (4, 16),
    "ListOffsets": (1, 9), "FindCoordinator": (0, 6), "JoinGroup": (0, 7), "SyncGroup": (0, 5),
    "Heartbeat": (0, 4), "LeaveGroup": (0, 5), "OffsetCommit": (2, 9), "OffsetFetch": (1, 9),
    "InitProducerId": (0, 4), "AddPartitionsToTxn": (0, 3), "AddOffsetsToTxn": (0, 3),
    "EndTxn": (0, 3), "TxnOffsetCommit": (0, 3), "CreateTopics": (2, 7), "DeleteTopics": (1, 6),
    "DescribeConfigs": (1, 4), "ListGroups": (0, 5), "DescribeGroups": (0, 6),
    "DeleteRecords": (0, 2), "DeleteGroups": (0, 2), "DescribeCluster": (0, 2),
    "SaslHandshake": (0, 1), "SaslAuthenticate": (0, 2), "CreatePartitions": (0, 3),
    "AlterConfigs": (0, 2), "IncrementalAlterConfigs": (0, 1), "OffsetDelete": (0, 0),
    "DescribeProducers": (0, 0), "DescribeTransactions": (0, 0), "ListTransactions": (0, 2),
    "WriteTxnMarkers": (1, 2),
}

ALL_VERSIONS = [(key, v) for key, api in sorted(APIS.items())
                for v in range(api.min_version, api.max_version + 1)]


def test_declared_ranges_are_the_recommended_ones():
    assert {api.name: (api.min_version, api.max_version) for api in APIS.values()} == EXPECTED_RANGES


def test_codecs_are_built_on_first_use():
    """Importing the declarations builds no codec: `kgw serve` would pay for
    all of them at every start while a process uses a handful."""
    script = ("import protocol.messages as m; print(len(dict.keys(m.REQUEST_CODECS)), "
              "len(dict.keys(m.RESPONSE_CODECS)))")
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert fresh.stdout.split() == ["0", "0"]
    metadata = APIS[3]
    codec = REQUEST_CODECS[3, 12]
    assert REQUEST_CODECS[3, 12] is codec
    assert codec.from_bytes(codec.to_bytes(metadata.Request(topics=None))) == metadata.Request(topics=None)
    for missing in ((3, 13), (3, -1), (9999, 0)):
        with pytest.raises(KeyError):
            REQUEST_CODECS[missing]
        with pytest.raises(KeyError):
            RESPONSE_CODECS[missing]


# --- the declarations against Apache Kafka's own JSON ----------------------
# kafka-python (a test dependency) ships a copy of Apache Kafka's message
# definitions; reading them here checks kgw's hand-kept declarations field by
# field, as franz-go checks its definitions against Kafka's.

def _kafka_json(name):
    text = resources.files("kafka.protocol.schemas").joinpath("resources", f"{name}.json").read_text()
    return json.loads("\n".join(line for line in text.splitlines() if not line.strip().startswith("//")))


def _snake(name):
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", name).lower()


def _in(spec, version):
    return spec not in (None, "none") and version in Versions.parse(spec)


def _kafka_shape(fields, version, flexible, common):
    shape = []
    for f in fields:
        if not _in(f["versions"], version):
            continue
        typ = f["type"]
        is_array = typ.startswith("[]")
        inner = typ[2:] if is_array else typ
        nested = f.get("fields") or common.get(inner)
        inner_shape = _kafka_shape(nested, version, flexible, common) if nested else inner
        shape.append((
            _snake(f["name"]), is_array, inner_shape,
            _in(f.get("nullableVersions"), version),
            f.get("tag") if flexible and _in(f.get("taggedVersions"), version) else None,
        ))
    return shape


def _our_shape(struct, version, flexible):
    shape = []
    for f in struct.fields:
        if version not in f.versions:
            continue
        is_array = isinstance(f.type, Array)
        inner = f.type.element if is_array else f.type
        inner_shape = _our_shape(inner, version, flexible) if isinstance(inner, Struct) else inner.name
        shape.append((f.name, is_array, inner_shape, f.is_nullable(version),
                      f.tag if flexible and f.is_tagged(version) else None))
    return shape


@pytest.mark.parametrize("key,version", ALL_VERSIONS)
def test_declaration_matches_kafka(key, version):
    api = APIS[key]
    for struct, suffix in ((api.request, "Request"), (api.response, "Response")):
        spec = _kafka_json(api.name + suffix)
        assert spec["apiKey"] == key
        flexible = _in(spec["flexibleVersions"], version)
        assert api.is_flexible(version) == flexible
        common = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}
        assert _our_shape(struct, version, flexible) == _kafka_shape(spec["fields"], version, flexible, common)


# --- round trips -------------------------------------------------------------

@pytest.mark.parametrize("key,version", ALL_VERSIONS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(key, version, data):
    api = APIS[key]
    flexible = api.is_flexible(version)
    for struct, codecs in ((api.request, REQUEST_CODECS), (api.response, RESPONSE_CODECS)):
        value = data.draw(message(struct, version, flexible))
        codec = codecs[key, version]
        encoded = codec.to_bytes(value)
        decoded, end = codec.decode(memoryview(encoded), 0)
        assert end == len(encoded)
        assert decoded == value
        assert codec.to_bytes(decoded) == encoded
