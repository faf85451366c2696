"""The corpus's little language: a scenario is a name and a list of steps,
each step one request (API, version, fields) on a named connection.

Request fields are written as plain dicts and lists, turned into protocol/
messages at send time, for each broker separately:

- a string starting with "$" is a name of the scenario's own: "$t" in
  scenario "produce.acks" is the topic "produce.acks-t", so no two
  scenarios share a topic, group or transactional id;
- `Ref("pid")` is what an earlier step saved from *that broker's* answer
  (`save={"pid": lambda r: r.producer_id}`): producer ids, member ids and
  topic ids are the broker's own, so the only bytes that differ between
  the two requests are the ones that echo an earlier answer;
- `Batch(...)` is a RecordBatch built with protocol.records, its producer
  id and epoch possibly `Ref`s, its timestamps possibly `Clock`s (for the
  bounds a broker checks against its clock); `Tamper` corrupts one.
"""

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from protocol.compression import Codec
from protocol.records import Record, build_batch
from protocol.schema import Api, Array, Struct

# Record timestamps the scenarios write: fixed, and far from the wall
# clock, so that they are compared as they are (see normalise.py).
BASE_TIMESTAMP = 1_600_000_000_000
NAME = re.compile(r"[a-z0-9.-]+")


class Context:
    """One broker's run of one scenario: its names and what it saved."""

    def __init__(self, scenario: str):
        self.scenario = scenario
        self.saved: dict[str, Any] = {}

    def name(self, local: str) -> str:
        return f"{self.scenario}-{local}"


@dataclass(frozen=True)
class Ref:
    """A value an earlier step saved from this broker's answer."""

    key: str

    def resolve(self, ctx: Context):
        try:
            return ctx.saved[self.key]
        except KeyError:
            raise KeyError(f"{self.key} was not saved by an earlier step "
                           f"(saved: {', '.join(ctx.saved) or 'nothing'})") from None


@dataclass(frozen=True)
class Clock:
    """The wall clock when the request is built, plus `delta_ms`: for what
    a broker checks against its own clock (timestamp bounds)."""

    delta_ms: int = 0

    def resolve(self, ctx: Context) -> int:
        return int(time.time() * 1000) + self.delta_ms


@dataclass(frozen=True)
class Batch:
    """A RecordBatch v2 of `values` (bytes or str), one record each, with
    timestamps BASE_TIMESTAMP + index unless `timestamps` are given."""

    values: tuple = (b"v",)
    keys: tuple | None = None
    producer_id: Any = -1
    producer_epoch: Any = -1
    base_sequence: int = -1
    transactional: bool = False
    codec: Codec = Codec.NONE
    timestamps: tuple | None = None
    headers: tuple = ()

    def resolve(self, ctx: Context) -> bytes:
        records = []
        for i, value in enumerate(self.values):
            key = self.keys[i] if self.keys is not None else None
            records.append(Record(offset=i, timestamp=(resolve(self.timestamps[i], ctx) if self.timestamps
                                                       else BASE_TIMESTAMP + i),
                                  key=_bytes(key), value=_bytes(value), headers=list(self.headers)))
        return build_batch(records, codec=self.codec, producer_id=resolve(self.producer_id, ctx),
                           producer_epoch=resolve(self.producer_epoch, ctx),
                           base_sequence=self.base_sequence, is_transactional=self.transactional)


@dataclass(frozen=True)
class Tamper:
    """`value`'s bytes with `replace` written at `at` (negative: from the
    end): a corrupt or malformed batch."""

    value: Any
    at: int
    replace: bytes

    def resolve(self, ctx: Context) -> bytes:
        data = bytearray(resolve(self.value, ctx))
        at = self.at % len(data)
        data[at:at + len(self.replace)] = self.replace
        return bytes(data)


@dataclass(frozen=True)
class Join:
    """Several RecordBatches (or raw bytes) back to back in one records field."""

    parts: tuple

    def resolve(self, ctx: Context) -> bytes:
        return b"".join(resolve(part, ctx) for part in self.parts)


def _bytes(value) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def resolve(value, ctx: Context):
    """A request value as sent to one broker."""
    if isinstance(value, str) and value.startswith("$"):
        return ctx.name(value[1:])
    if hasattr(value, "resolve"):
        return value.resolve(ctx)
    if isinstance(value, list):
        return [resolve(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, ctx) for k, v in value.items()}
    return value


def uses_refs(value) -> bool:
    """Whether a request depends on an earlier answer or the clock (so its
    bytes may differ between the brokers)."""
    if isinstance(value, (Ref, Clock)):
        return True
    if isinstance(value, (Batch, Join, Tamper)):
        return any(uses_refs(v) for v in vars(value).values())
    if isinstance(value, (list, tuple)):
        return any(uses_refs(v) for v in value)
    if isinstance(value, dict):
        return any(uses_refs(v) for v in value.values())
    return False


def message(struct: Struct, data: dict) -> Any:
    """The protocol/ message of `struct` from resolved plain data."""
    declared = {f.name: f for f in struct.fields}
    unknown = set(data) - set(declared)
    if unknown:
        raise TypeError(f"{struct.name} has no field(s) {', '.join(sorted(unknown))}")
    values = {}
    for name, value in data.items():
        values[name] = _value(declared[name].type, value)
    return struct.cls(**values)


def _value(kind, value):
    if value is None:
        return None
    if isinstance(kind, Struct):
        return message(kind, value)
    if isinstance(kind, Array) and isinstance(kind.element, Struct):
        return [message(kind.element, v) for v in value]
    return value


@dataclass
class Step:
    """One request. `conn` names the connection (also its client id).
    `save` keeps values of the answer for later steps; `defer` sends
    without waiting, and a later `collect(conn)` reads the answer; a step
    with `check=False` is set-up, sent to both brokers but not compared;
    `until` repeats the request until the answer satisfies it (for what a
    broker makes true asynchronously), and the last answer counts.
    `raw` sends `raw` bytes after the header instead of encoding `fields`,
    for API keys and versions the codec does not declare; its answer is
    decoded as `answer_as`. `timeout` shortens the wait for an answer that
    may never come."""

    api: Api | None
    version: int
    fields: dict = field(default_factory=dict)
    conn: str = "main"
    save: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    defer: bool = False
    check: bool = True
    until: Callable[[Any], bool] | None = None
    raw: tuple[int, bytes, tuple[int, int] | None] | None = None
    collect: bool = False
    # Seconds to wait for the answer: shorter where a broker may not answer.
    timeout: float | None = None

    @property
    def label(self) -> str:
        if self.collect:
            return f"answer on {self.conn}"
        if self.raw is not None:
            return f"raw api {self.raw[0]} v{self.version}"
        assert self.api is not None
        return f"{self.api.name} v{self.version}"


@dataclass
class Scenario:
    """`alone`: the scenario changes what every other scenario sees (a
    broker's dynamic configs), so it runs by itself, after the others,
    and puts back what it changed."""

    name: str
    steps: list[Step]
    alone: bool = False

    def __post_init__(self):
        if not NAME.fullmatch(self.name):
            raise ValueError(f"scenario name {self.name!r}: lowercase letters, digits, '.' and '-' only")


def step(api: Api, version: int, fields: dict | None = None, **options) -> Step:
    return Step(api, version, fields or {}, **options)


def collect(conn: str, **options) -> Step:
    """The answer to the deferred request on `conn`."""
    return Step(None, 0, conn=conn, collect=True, **options)


def raw(api_key: int, version: int, payload: bytes, answer_as: tuple[int, int] | None,
        **options) -> Step:
    return Step(None, version, raw=(api_key, payload, answer_as), **options)


def flatten(steps) -> list[Step]:
    out: list[Step] = []
    for s in steps:
        if isinstance(s, Step):
            out.append(s)
        else:
            out.extend(flatten(s))
    return out


def scenario(name: str, *steps, alone: bool = False) -> Scenario:
    return Scenario(name, flatten(steps), alone)
