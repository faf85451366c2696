"""franz-go (kgo) against a live kgw."""

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from ._go import run

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def standard(prefix: str, count: int, partition: int = 0, first_offset: int = 0) -> list[dict]:
    """What records.go's standardMessages sends, as the scenarios print it."""
    out = []
    for i in range(count):
        headers = ([["h", f"v{i}"], ["multi", "a"], ["multi", "b"], ["bin", "hex:00ff01"], ["empty", ""]]
                   if i % 2 == 0 else [])
        out.append({"partition": partition, "offset": first_offset + i,
                    "key": None if i % 3 == 0 else f"k{i}",
                    "value": None if i % 5 == 3 else f"{prefix}-{i}-" + "abcd" * (50 if i % 4 == 0 else 1),
                    "headers": headers})
    return out


def without_timestamps(records):
    return [{k: v for k, v in r.items() if k != "timestamp"} for r in records]


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(kgw_broker, kgw_topic, codec):
    p = run("franz_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec)
    assert p["offsets"] == list(range(12))
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    c = run("franz_consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["records"]) == standard("m", 12)
