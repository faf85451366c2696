"""Request handlers, one module per API family.

A handler is `async def handler(broker, request, context) -> response body`
(None when the request gets no response, as Produce with acks=0): the
broker's state, the decoded request, and what the connection knows of its
client.  Registering it with `@handles(API, lo, hi)` is also what puts (API,
lo, hi) into the ApiVersions response, so kgw never advertises what it does
not serve.  `load_all()` is the table the server dispatches with; a test
may give the server a table of its own.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from protocol.connection import Request
from protocol.schema import Api

if TYPE_CHECKING:
    from ..broker import Broker


@dataclass(frozen=True)
class Handler:
    api: Api
    min_version: int
    max_version: int
    fn: "HandlerFn"


HANDLERS: dict[int, Handler] = {}


@dataclass(frozen=True)
class RequestContext:
    """What the connection knows of the client that sent a request."""

    # As Kafka reports it: "/1.2.3.4".
    client_host: str
    # Kafka's principal: "User:alice" once SASL authenticated alice,
    # "User:ANONYMOUS" without SASL.
    principal: str = "User:ANONYMOUS"
    # The handlers of the listener it came to, which ApiVersions advertises.
    served: Mapping[int, Handler] = field(default_factory=lambda: HANDLERS)
    # Called by a handler that has done everything whose order matters and
    # only waits now (for an fsync, a long poll): the connection starts on
    # its next request meanwhile.  Answers still go out in order.
    release: Callable[[], None] = lambda: None


HandlerFn = Callable[["Broker", Request, RequestContext], Awaitable[Any]]


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
        admin,
        api_versions,
        configs,
        fetch,
        groups,
        list_offsets,
        metadata,
        offsets,
        produce,
        sasl,
        transactions,
    )
    return HANDLERS
