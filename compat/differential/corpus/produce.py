"""Produce and the log it writes, read back with Fetch and ListOffsets."""

from ..scenario import Batch, scenario
from .common import create, fetch, list_offsets, produce

SCENARIOS = [
    *[scenario(f"produce.v{v}.acks-all", create("t"), produce("t", Batch((b"a", b"b")), version=v),
               produce("t", Batch((b"c",)), version=v), fetch("t"))
      for v in range(3, 11)],
    scenario("listoffsets.earliest-latest", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
             list_offsets("t", -2), list_offsets("t", -1), list_offsets("t", 1_600_000_000_001)),
]
