"""Hypothesis strategies that generate any declared message at any version.

Only fields that exist in the asked version are generated; the others keep
their defaults, which is what a decoder yields for them.
"""

from hypothesis import strategies as st

from protocol.schema import (
    Array, BOOL, BYTES, FLOAT64, INT8, INT16, INT32, INT64, RECORDS, STRING, Struct,
    UINT16, UINT32, UUID,
)

_INTS = {
    INT8: (-(1 << 7), (1 << 7) - 1), INT16: (-(1 << 15), (1 << 15) - 1),
    INT32: (-(1 << 31), (1 << 31) - 1), INT64: (-(1 << 63), (1 << 63) - 1),
    UINT16: (0, (1 << 16) - 1), UINT32: (0, (1 << 32) - 1),
}


def _type(typ, nullable: bool, version: int, flexible: bool):
    if isinstance(typ, Struct):
        base = message(typ, version, flexible)
    elif isinstance(typ, Array):
        base = st.lists(_type(typ.element, False, version, flexible), max_size=3)
    elif typ in _INTS:
        base = st.integers(*_INTS[typ])
    elif typ is BOOL:
        base = st.booleans()
    elif typ is FLOAT64:
        base = st.floats(allow_nan=False)
    elif typ is STRING:
        base = st.text(max_size=12)
    elif typ is BYTES:
        base = st.binary(max_size=12)
    elif typ is UUID:
        base = st.uuids()
    elif typ is RECORDS:
        # Records are always nullable on the wire.
        return st.none() | st.binary(max_size=40)
    else:
        raise AssertionError(f"no strategy for {typ}")
    return st.none() | base if nullable else base


def message(struct: Struct, version: int, flexible: bool, **overrides):
    """Values of `struct` at `version`; `overrides` replace top-level fields' strategies."""
    fields = {
        f.name: _type(f.type, f.is_nullable(version), version, flexible)
        for f in struct.fields if version in f.versions
    }
    fields.update(overrides)
    return st.builds(struct.cls, **fields)
