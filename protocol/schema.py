"""The little language kgw declares its Kafka messages in.

A message is a list of `Field`s; each field says in which versions it exists,
in which it may be null, and whether it is a tagged field.  Types are logical
(`STRING`, `Array(...)`): whether a string is written with an int16 length or
as a compact string is decided per version by the API's flexible-from
version, as in Apache Kafka's own message definitions.  `protocol.codec`
turns a declaration into encoders and decoders; nothing here does I/O.
"""

import operator
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Callable

from .primitives import NULL_UUID

UNBOUNDED = 0x7FFF


@dataclass(frozen=True)
class Versions:
    """An inclusive version range; `hi` of UNBOUNDED means "and later"."""

    lo: int
    hi: int = UNBOUNDED

    @classmethod
    def of(cls, spec: "str | Versions") -> "Versions":
        """`parse` for a range that must be there."""
        versions = cls.parse(spec)
        if versions is None:
            raise ValueError("a version range is required")
        return versions

    @classmethod
    def parse(cls, spec: "str | Versions | None") -> "Versions | None":
        """'3+' or '0-4' or '2' (Kafka's notation); None stays None."""
        if spec is None or isinstance(spec, Versions):
            return spec
        m = re.fullmatch(r"(\d+)(\+|-(\d+))?", spec)
        if not m:
            raise ValueError(f"bad version range {spec!r}")
        lo = int(m.group(1))
        if m.group(2) == "+":
            return cls(lo)
        return cls(lo, int(m.group(3)) if m.group(3) else lo)

    def __contains__(self, version: int) -> bool:
        return self.lo <= version <= self.hi

    def __str__(self):
        if self.hi == UNBOUNDED:
            return f"{self.lo}+"
        return f"{self.lo}-{self.hi}" if self.lo != self.hi else str(self.lo)


@dataclass(frozen=True)
class Primitive:
    name: str
    default: Any

    def make_default(self):
        return self.default

    def __repr__(self):
        return self.name


INT8 = Primitive("int8", 0)
INT16 = Primitive("int16", 0)
INT32 = Primitive("int32", 0)
INT64 = Primitive("int64", 0)
UINT16 = Primitive("uint16", 0)
UINT32 = Primitive("uint32", 0)
FLOAT64 = Primitive("float64", 0.0)
BOOL = Primitive("bool", False)
STRING = Primitive("string", "")
BYTES = Primitive("bytes", b"")
UUID = Primitive("uuid", NULL_UUID)
# A RecordBatch blob: always nullable on the wire, decoded as a memoryview.
RECORDS = Primitive("records", None)


@dataclass(frozen=True)
class Array:
    element: "Primitive | Struct"

    def make_default(self):
        return []


@dataclass
class Field:
    """One field of a message or nested structure.

    `versions`: where the field exists (default: every version).
    `nullable`: versions where null is allowed.
    `tag`: tagged-field number, for fields carried in the tagged section of
    flexible versions (`tagged` narrows the versions where it is tagged).
    `default`: the value when absent; tagged fields holding it are not written.
    """

    name: str
    type: "Primitive | Array | Struct"
    versions: "Versions | str" = "0+"
    nullable: "Versions | str | None" = None
    tag: int | None = None
    tagged: "Versions | str | None" = None
    default: Any = dc_field(default=...)

    def __post_init__(self):
        self.versions = Versions.of(self.versions)
        self.nullable = Versions.parse(self.nullable)
        self.tagged = Versions.parse(self.tagged) if self.tagged is not None else (
            self.versions if self.tag is not None else None)

    def make_default(self):
        if self.default is ...:
            return self.type.make_default()
        if isinstance(self.default, (list, dict)):
            return type(self.default)(self.default)
        return self.default

    @property
    def shares_default(self) -> bool:
        """True when the default is immutable, so one value can serve every
        message; arrays and structs need a fresh default each time."""
        return isinstance(self.type, Primitive) and not isinstance(self.default, (list, dict))

    def is_nullable(self, version: int) -> bool:
        return self.nullable is not None and version in self.nullable

    def is_tagged(self, version: int) -> bool:
        return self.tagged is not None and version in self.tagged


class Struct:
    """A named structure; `.cls` is the Python class its values are made of."""

    def __init__(self, name: str, fields: "list[Field]"):
        self.name = name
        self.fields = list(fields)
        seen = set()
        for f in self.fields:
            if f.name in seen:
                raise ValueError(f"{name} declares {f.name} twice")
            seen.add(f.name)
        # Built at run time: its fields are not known to a type checker.
        self.cls: Any = _message_class(self)

    def make_default(self):
        return self.cls._default()

    def nested(self):
        """Structs declared inside this one (directly or in arrays)."""
        for f in self.fields:
            inner = f.type.element if isinstance(f.type, Array) else f.type
            if isinstance(inner, Struct):
                yield inner

    def __repr__(self):
        return f"Struct({self.name})"


def structs(name: str, *fields: Field) -> Array:
    """An array of a nested structure: the commonest shape in Kafka's APIs."""
    return Array(Struct(name, list(fields)))


def default_setters(fields) -> tuple[list[tuple[str, Any]], list[tuple[str, Callable[[], Any]]]]:
    """Split fields into (name, shared default) and (name, default factory)."""
    shared = [(f.name, f.make_default()) for f in fields if f.shares_default]
    fresh = [(f.name, _factory(f)) for f in fields if not f.shares_default]
    return shared, fresh


def _factory(f: Field) -> Callable[[], Any]:
    # The direct callables save two calls per value on the decode path.
    if f.default is ...:
        if isinstance(f.type, Array):
            return list
        if isinstance(f.type, Struct):
            return f.type.cls._default
    return f.make_default


def _message_class(struct: Struct) -> type:
    """A slotted class for one struct: kwargs constructor with defaults."""
    names = tuple(f.name for f in struct.fields)
    shared, fresh = default_setters(struct.fields)
    values_of = operator.attrgetter(*names) if names else (lambda obj: ())

    def __init__(self, **values):
        for name, value in shared:
            setattr(self, name, values.pop(name) if name in values else value)
        for name, make in fresh:
            setattr(self, name, values.pop(name) if name in values else make())
        if values:
            raise TypeError(f"{struct.name} has no field(s) {', '.join(sorted(values))}")

    def _default(cls):
        obj = cls.__new__(cls)
        for name, value in shared:
            setattr(obj, name, value)
        for name, make in fresh:
            setattr(obj, name, make())
        return obj

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return values_of(self) == values_of(other)

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{struct.name}({inner})"

    return type(struct.name, (), {
        "__slots__": names,
        "__init__": __init__,
        "__eq__": __eq__,
        "__hash__": None,
        "__repr__": __repr__,
        "_default": classmethod(_default),
        "_fields": names,
    })


class Api:
    """One Kafka API: its key, the versions kgw declares, and both messages."""

    def __init__(self, key: int, name: str, versions: str, *, flexible: str | None,
                 request: "list[Field]", response: "list[Field]"):
        self.key = key
        self.name = name
        self.versions = Versions.of(versions)
        self.flexible = Versions.parse(flexible)
        self.request = Struct(f"{name}Request", request)
        self.response = Struct(f"{name}Response", response)
        for top in (self.request, self.response):
            attach_nested(top)
        self.Request: Any = self.request.cls
        self.Response: Any = self.response.cls

    def is_flexible(self, version: int) -> bool:
        return self.flexible is not None and version in self.flexible

    @property
    def min_version(self) -> int:
        return self.versions.lo

    @property
    def max_version(self) -> int:
        return self.versions.hi

    def __repr__(self):
        return f"Api({self.key}, {self.name}, {self.versions})"


def attach_nested(struct: Struct) -> None:
    """Make nested classes reachable as attributes: `MetadataResponse.MetadataResponseTopic`."""
    for inner in struct.nested():
        setattr(struct.cls, inner.name, inner.cls)
        attach_nested(inner)


__all__ = [
    "Api", "Array", "Field", "Struct", "Versions", "structs",
    "INT8", "INT16", "INT32", "INT64", "UINT16", "UINT32", "FLOAT64", "BOOL",
    "STRING", "BYTES", "UUID", "RECORDS",
]
