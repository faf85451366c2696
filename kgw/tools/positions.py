"""Where a tool starts reading or resets a group to: offsets relative to the
end (`--offset -5`) and times (`--from-timestamp`, `--to-timestamp`) given
as milliseconds, ISO 8601 or relative to now."""

import re
import time
from datetime import datetime

import click

_RELATIVE = re.compile(r"-(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time(value: str, now_ms: int | None = None) -> int:
    """Milliseconds since the epoch for MS, ISO 8601 (local time when it
    names no offset, as Kafka's kafka-consumer-groups --to-datetime takes
    it) or a time relative to now (-30s, -15m, -1h, -2d, -1w, -500ms)."""
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    relative = _RELATIVE.fullmatch(text)
    if relative:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return now - int(float(relative[1]) * _UNIT_MS[relative[2]])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a time: give milliseconds since the epoch, ISO 8601 "
                         "(2024-05-01T12:00:00Z) or a time ago (-1h, -30m, -2d)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as `date` would read it
    return int(moment.timestamp() * 1000)


class TimeType(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_time(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class OffsetType(click.ParamType):
    """An offset, or a negative count from the end: -5 is the last five."""

    name = "OFFSET"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is not an offset (N, or -N for the last N records)", param, ctx)


def start_offset(offset: int, start: int, end: int) -> int:
    """Where `--offset` starts in a partition holding offsets start..end-1:
    the offset itself, or for -N the N-th record before the end (at most
    back to the start, as kcat's -o -N)."""
    if offset < 0:
        return max(start, end + offset)
    return offset
