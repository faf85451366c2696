"""Checking the records of a batch without decoding them: `RecordWalk`.

A batch's CRC proves only that its bytes arrived as the producer wrote
them, not that they hold the records its header announces.  A walk reads
the record framing Kafka's DefaultRecord defines (a length, attributes, a
timestamp delta, an offset delta, key, value, headers) and checks, record
by record, what Kafka's LogValidator checks as it iterates a batch
(DefaultRecord.readFrom, DefaultRecordBatch's iterators) and some more,
without building a record:

- as Kafka: no varint longer than its type allows; no field past the
  record's length and no byte left after its headers; no negative header
  count or header key length; exactly `count` records, the last one
  ending where the records end; with `max_record`, no record longer than
  that (Kafka's max.decompressed.message.bytes, for compressed batches);
- stricter than Kafka, which stores these and so breaks its consumers
  (librdkafka stops reading the partition there; the Java consumer skips
  or repeats records): no key, value or header value length below -1
  (Kafka reads them as null), and every record's offset delta equal to
  its index (Kafka keeps an uncompressed batch's deltas as sent).

The records can come in pieces (`feed`), as a compressed batch inflates,
so that a walk holds nothing of them: keys and values are skipped by
count.  A walk also gathers the smallest and largest timestamp delta.

The work is done by a C extension built with kgw when a C compiler is at
hand (`protocol._recordwalk`, the hot path of every Produce), otherwise
by the same state machine in Python (`_PythonWalk`), about a hundred
times slower; tests check that both give the same verdicts.
"""

import array
from types import ModuleType
from typing import NamedTuple, Protocol

from .errors import DecodeError

_recordwalk: ModuleType | None
try:
    from . import _recordwalk
except ImportError:  # built without a C compiler: the Python walk serves
    _recordwalk = None

ACCELERATED = _recordwalk is not None

# Where a walk stands: what it expects next.  The C walk uses the same numbers.
LENGTH, ATTRIBUTES, TIMESTAMP, OFFSET, KEY_LENGTH, KEY, VALUE_LENGTH, VALUE, HEADER_COUNT, \
    HEADER_KEY_LENGTH, HEADER_KEY, HEADER_VALUE_LENGTH, HEADER_VALUE, DONE, FAILED = range(15)

# Why a walk failed, with what it says (`value` and the record's `length`
# fill in).  The C walk uses the same numbers.
ERRORS = {
    1: "a varint is longer than its type allows",
    2: "negative record length {value}",
    3: "the record's {value} bytes exceed the largest record allowed, {max_record} bytes "
       "(max.decompressed.message.bytes)",
    4: "a field runs past the end of the record's {length} bytes",
    5: "offset delta {value} where {index} was due",
    6: "key length {value}",
    7: "value length {value}",
    8: "header count {value} does not fit in the record",
    9: "header key length {value}",
    10: "header value length {value}",
    11: "{value} bytes follow the headers within the record's {length} bytes",
    12: "bytes follow the last of the {count} records the batch declares",
    13: "the records end inside record {index} of the {count} the batch declares",
}
_EOF = 13

# The state array's slots (unsigned 64-bit; signed values as two's complement).
_COUNT, _INDEX, _PHASE, _ACC, _SHIFT, _LENGTH, _BODY_LEFT, _SKIP, _HEADERS, _MIN_DELTA, \
    _MAX_DELTA, _CONSUMED, _RECORD_START, _MAX_RECORD, _ERROR, _VALUE = range(16)
_SLOTS = 16


class WalkSummary(NamedTuple):
    records: int
    # Smallest and largest timestamp delta; None for a batch of no record.
    min_timestamp_delta: int | None
    max_timestamp_delta: int | None
    # Record bytes walked (inflated bytes for a compressed batch).
    size: int


class _Walk(Protocol):
    def feed(self, data) -> None: ...

    def state(self) -> tuple[int, ...]: ...


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class RecordWalk:
    """Walk `count` records, fed in pieces; `finish()` gives the summary or
    raises DecodeError, whose offset is the failing record's start in the
    (inflated) records.  `max_record`, if given, bounds each record's length.
    `force_python` picks the Python walk even where the C one is built
    (for tests)."""

    __slots__ = ("_walk",)

    def __init__(self, count: int, max_record: int | None = None, *, force_python: bool = False):
        if count < 0:
            raise ValueError(f"record count {count}")
        limit = 0 if max_record is None else max_record
        if _recordwalk is not None and not force_python:
            self._walk: _Walk = _CWalk(count, limit)
        else:
            self._walk = _PythonWalk(count, limit)

    def feed(self, data) -> None:
        """Walk the next piece of the records; DecodeError at the first problem."""
        self._walk.feed(data)
        state = self._walk.state()
        if state[_ERROR]:
            raise _error(state)

    def finish(self) -> WalkSummary:
        """DecodeError unless every record the batch declares has been walked whole."""
        state = self._walk.state()
        if state[_ERROR]:
            raise _error(state)
        if state[_PHASE] != DONE:
            raise _error(state, _EOF)
        if state[_COUNT] == 0:
            return WalkSummary(0, None, None, state[_CONSUMED])
        return WalkSummary(state[_COUNT], _signed(state[_MIN_DELTA]), _signed(state[_MAX_DELTA]),
                           state[_CONSUMED])


def _error(state: tuple[int, ...], code: int | None = None) -> DecodeError:
    code = state[_ERROR] if code is None else code
    text = ERRORS[code].format(value=_signed(state[_VALUE]), length=state[_LENGTH],
                               index=state[_INDEX], count=state[_COUNT],
                               max_record=state[_MAX_RECORD])
    if code in (12, _EOF):
        return DecodeError(text, state[_CONSUMED])
    return DecodeError(f"record {state[_INDEX]}: {text}", state[_RECORD_START])


class _CWalk:
    __slots__ = ("_state",)

    def __init__(self, count: int, max_record: int):
        state = array.array("Q", bytes(8 * _SLOTS))
        state[_COUNT] = count
        state[_MAX_RECORD] = max_record
        state[_PHASE] = DONE if count == 0 else LENGTH
        self._state = state

    def feed(self, data) -> None:
        assert _recordwalk is not None
        _recordwalk.feed(self._state, data)

    def state(self) -> tuple[int, ...]:
        return tuple(self._state)


# Varint phases: (longest encoding, bits kept), as Java's ByteUtils reads them.
_VARINT_LIMITS = {LENGTH: (5, 0xFFFFFFFF), TIMESTAMP: (10, 0xFFFFFFFFFFFFFFFF)}
_VARINT32 = (5, 0xFFFFFFFF)
_SKIPS = (KEY, VALUE, HEADER_KEY, HEADER_VALUE)


class _PythonWalk:
    """The walk's state machine in Python; `_recordwalk.c` is its C twin."""

    def __init__(self, count: int, max_record: int):
        self.s = [0] * _SLOTS
        self.s[_COUNT] = count
        self.s[_MAX_RECORD] = max_record
        self.s[_PHASE] = DONE if count == 0 else LENGTH
        self.min_delta: int | None = None
        self.max_delta: int | None = None

    def state(self) -> tuple[int, ...]:
        s = list(self.s)
        if self.min_delta is not None and self.max_delta is not None:
            s[_MIN_DELTA] = self.min_delta & 0xFFFFFFFFFFFFFFFF
            s[_MAX_DELTA] = self.max_delta & 0xFFFFFFFFFFFFFFFF
        return tuple(s)

    def _fail(self, code: int, value: int = 0) -> None:
        self.s[_ERROR] = code
        self.s[_VALUE] = value & 0xFFFFFFFFFFFFFFFF
        self.s[_PHASE] = FAILED

    def feed(self, data) -> None:
        s = self.s
        view = memoryview(data).cast("B")
        n = len(view)
        i = 0
        while i < n:
            phase = s[_PHASE]
            if phase == FAILED:
                break
            if phase in _SKIPS:
                take = min(s[_SKIP], n - i)
                i += take
                s[_SKIP] -= take
                if s[_SKIP] == 0:
                    self._skipped(phase)
                continue
            if phase == DONE:
                self._fail(12)
                break
            if phase == LENGTH and s[_SHIFT] == 0:
                s[_RECORD_START] = s[_CONSUMED] + i
            byte = view[i]
            i += 1
            if phase != LENGTH:
                s[_BODY_LEFT] -= 1
                if s[_BODY_LEFT] < 0:
                    self._fail(4)
                    break
            if phase == ATTRIBUTES:
                s[_PHASE] = TIMESTAMP
                continue
            longest, mask = _VARINT_LIMITS.get(phase, _VARINT32)
            s[_ACC] |= (byte & 0x7F) << s[_SHIFT]
            s[_SHIFT] += 7
            if byte & 0x80:
                if s[_SHIFT] >= 7 * longest:
                    self._fail(1)
                    break
                continue
            raw = s[_ACC] & mask
            s[_ACC] = s[_SHIFT] = 0
            self._token(phase, (raw >> 1) ^ -(raw & 1))
        s[_CONSUMED] += i

    def _token(self, phase: int, value: int) -> None:
        s = self.s
        if phase == LENGTH:
            if value < 0:
                return self._fail(2, value)
            if s[_MAX_RECORD] and value > s[_MAX_RECORD]:
                return self._fail(3, value)
            s[_LENGTH] = s[_BODY_LEFT] = value
            s[_PHASE] = ATTRIBUTES
        elif phase == TIMESTAMP:
            if self.min_delta is None or value < self.min_delta:
                self.min_delta = value
            if self.max_delta is None or value > self.max_delta:
                self.max_delta = value
            s[_PHASE] = OFFSET
        elif phase == OFFSET:
            if value != s[_INDEX]:
                return self._fail(5, value)
            s[_PHASE] = KEY_LENGTH
        elif phase == KEY_LENGTH:
            self._sized(value, 6, KEY)
        elif phase == VALUE_LENGTH:
            self._sized(value, 7, VALUE)
        elif phase == HEADER_COUNT:
            if not 0 <= value <= s[_BODY_LEFT]:
                return self._fail(8, value)
            s[_HEADERS] = value
            if value:
                s[_PHASE] = HEADER_KEY_LENGTH
            else:
                self._end_record()
        elif phase == HEADER_KEY_LENGTH:
            if value < 0:
                return self._fail(9, value)
            self._sized(value, 9, HEADER_KEY)
        elif phase == HEADER_VALUE_LENGTH:
            self._sized(value, 10, HEADER_VALUE)

    def _sized(self, length: int, error: int, skip_phase: int) -> None:
        """A length that -1 may null; what follows it is skipped."""
        s = self.s
        if length < -1:
            return self._fail(error, length)
        if length > s[_BODY_LEFT]:
            return self._fail(4)
        if length <= 0:
            return self._skipped(skip_phase)
        s[_BODY_LEFT] -= length
        s[_SKIP] = length
        s[_PHASE] = skip_phase

    def _skipped(self, skip_phase: int) -> None:
        s = self.s
        if skip_phase == KEY:
            s[_PHASE] = VALUE_LENGTH
        elif skip_phase == VALUE:
            s[_PHASE] = HEADER_COUNT
        elif skip_phase == HEADER_KEY:
            s[_PHASE] = HEADER_VALUE_LENGTH
        else:
            s[_HEADERS] -= 1
            if s[_HEADERS]:
                s[_PHASE] = HEADER_KEY_LENGTH
            else:
                self._end_record()

    def _end_record(self) -> None:
        s = self.s
        if s[_BODY_LEFT]:
            return self._fail(11, s[_BODY_LEFT])
        s[_INDEX] += 1
        s[_PHASE] = DONE if s[_INDEX] == s[_COUNT] else LENGTH
