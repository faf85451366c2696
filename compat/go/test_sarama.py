"""Sarama against a live kgw."""

import pytest

from protocol.compression import Codec

from ..harness import stored_batches
from ._go import run
from .test_franz import CODECS, standard, without_timestamps


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(kgw_broker, kgw_topic, codec):
    p = run("sarama_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec)
    assert p["offsets"] == list(range(12))
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    c = run("sarama_consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["records"]) == standard("m", 12)
