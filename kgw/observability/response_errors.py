"""The error codes a response carries, wherever its API declares them.

Kafka puts error codes at every level of a response (the request, each
topic, each partition, each group...), always in fields named `error_code`
or `..._error_code`. A reader for each API is compiled once from its
declaration, so finding the codes of a response costs a walk over just the
fields that can hold one.
"""

from typing import Callable

from protocol.error_codes import ErrorCode
from protocol.messages import APIS
from protocol.schema import Array, Struct

Walk = Callable[[object, list], None]

_walkers: dict[int, Walk | None] = {}


def error_codes(api_key: int, body) -> list[int]:
    """Every non-zero error code in `body`, a response of API `api_key`."""
    try:
        walk = _walkers[api_key]
    except KeyError:
        walk = _walkers[api_key] = _compile(APIS[api_key].response)
    found: list[int] = []
    if walk is not None:
        walk(body, found)
    return found


def error_name(code: int) -> str:
    """Kafka's name for an error code ("NOT_COORDINATOR"), or the number if unknown."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


def _compile(struct: Struct) -> Walk | None:
    steps: list[Walk] = []
    for field in struct.fields:
        if field.name == "error_code" or field.name.endswith("_error_code"):
            steps.append(_code(field.name))
        elif isinstance(field.type, Array) and isinstance(field.type.element, Struct):
            inner = _compile(field.type.element)
            if inner is not None:
                steps.append(_each(field.name, inner))
        elif isinstance(field.type, Struct):
            inner = _compile(field.type)
            if inner is not None:
                steps.append(_one(field.name, inner))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def walk(obj, found):
        for step in steps:
            step(obj, found)
    return walk


def _code(name: str) -> Walk:
    def step(obj, found):
        code = getattr(obj, name)
        if code:
            found.append(code)
    return step


def _each(name: str, inner: Walk) -> Walk:
    def step(obj, found):
        # Nullable arrays (-1 on the wire) decode as None.
        for item in getattr(obj, name) or ():
            inner(item, found)
    return step


def _one(name: str, inner: Walk) -> Walk:
    def step(obj, found):
        value = getattr(obj, name)
        if value is not None:
            inner(value, found)
    return step
