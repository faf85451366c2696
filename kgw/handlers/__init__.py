"""Request handlers, one module per API family.

A handler is `async def handler(broker, request) -> response body` (None
when the request gets no response, as Produce with acks=0). Registering it
with `@handles(API, lo, hi)` is also what puts (API, lo, hi) into the
ApiVersions response, so kgw never advertises what it does not serve.
"""

from dataclasses import dataclass
from typing import Awaitable, Callable

from protocol.schema import Api


@dataclass(frozen=True)
class Handler:
    api: Api
    min_version: int
    max_version: int
    fn: Callable[..., Awaitable]


HANDLERS: dict[int, Handler] = {}


def handles(api: Api, min_version: int | None = None, max_version: int | None = None):
    lo = api.min_version if min_version is None else min_version
    hi = api.max_version if max_version is None else max_version
    if not (api.min_version <= lo <= hi <= api.max_version):
        raise ValueError(f"{api.name} {lo}-{hi} lies outside its declared {api.versions}")

    def register(fn):
        if api.key in HANDLERS:
            raise ValueError(f"{api.name} has two handlers")
        HANDLERS[api.key] = Handler(api, lo, hi, fn)
        return fn

    return register


def load_all() -> dict[int, Handler]:
    """Import every handler module (registration happens at import)."""
    from . import (  # noqa: F401
        admin, api_versions, configs, fetch, groups, list_offsets, metadata, offsets, produce, sasl,
        transactions,
    )
    return HANDLERS
