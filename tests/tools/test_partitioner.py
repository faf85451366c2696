"""The keyed partitioner matches Kafka's Java client."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from kgw.tools.partitioner import Partitioner, murmur2, partition_for_key


def test_murmur2_known_values():
    # Values pinned in Apache Kafka's UtilsTest.testMurmur2.
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829,
             b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
             bytes([ord("a"), ord("b"), ord("c")]): 479470107}
    for data, expected in cases.items():
        assert murmur2(data) == expected, data


# No deadline: the first example imports kafka-python, slowly on a busy machine.
@settings(deadline=None)
@given(st.binary(max_size=64))
def test_murmur2_agrees_with_kafka_python(data):
    default = pytest.importorskip("kafka.partitioner.default")
    # kafka-python returns the same 32 bits, unsigned.
    assert murmur2(data) & 0xFFFFFFFF == default.murmur2(data) & 0xFFFFFFFF


def test_partition_for_key_masks_the_sign_bit():
    key = b"21"  # murmur2 is negative
    assert partition_for_key(key, 7) == (-973932308 & 0x7FFFFFFF) % 7


def test_unkeyed_records_rotate_and_a_fixed_partition_wins():
    choose = Partitioner(3)
    assert [choose(None) for _ in range(5)] == [0, 1, 2, 0, 1]
    fixed = Partitioner(3, fixed=2)
    assert {fixed(os.urandom(4)) for _ in range(10)} | {fixed(None)} == {2}
