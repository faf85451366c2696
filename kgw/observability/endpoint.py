"""The metrics endpoint: GET /metrics over a minimal HTTP/1.1, served by trio.

It runs on the broker's own event loop, not in prometheus_client's HTTP
server thread, so that a scrape reads broker state on the thread that owns
it, between two requests, and never sees it half-changed. One request per
connection (the answer says `Connection: close`), which Prometheus accepts.
"""

from functools import partial

import trio
from prometheus_client.exposition import choose_encoder

from ..startup_errors import listen_error
from .collector import metrics_registry

PATHS = ("/metrics", "/")
MAX_HEAD_BYTES = 16 * 1024
READ_TIMEOUT_S = 10


async def serve_metrics(broker, host: str, port: int, *, task_status=trio.TASK_STATUS_IGNORED):
    """Serve until cancelled; `task_status.started` gets the bound (host, port)."""
    registry = metrics_registry(broker)
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise listen_error(exc, "serve metrics", host, port, "metrics_port") from exc
    task_status.started(listeners[0].socket.getsockname()[:2])
    await trio.serve_listeners(partial(_answer, registry), listeners)


async def _answer(registry, stream) -> None:
    try:
        async with stream:
            with trio.move_on_after(READ_TIMEOUT_S):
                head = await _read_head(stream)
                if head is not None:
                    await stream.send_all(_response(registry, head))
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # The scraper went away; there is nobody left to tell.


async def _read_head(stream) -> bytes | None:
    """The request line and headers, or None if the peer sent no complete head."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            return None
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _response(registry, head: bytes) -> bytes:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split()
    if len(parts) != 3:
        return _reply(400, "Bad Request")
    method, target, _version = parts
    if target.split("?", 1)[0] not in PATHS:
        return _reply(404, "Not Found")
    if method not in ("GET", "HEAD"):
        return _reply(405, "Method Not Allowed", extra="Allow: GET, HEAD\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    encode, content_type = choose_encoder(headers.get("accept", ""))
    body = encode(registry)
    return _reply(200, "OK", body, content_type, send_body=method == "GET")


def _reply(status: int, reason: str, body: bytes | None = None,
           content_type: str = "text/plain; charset=utf-8", *, extra: str = "",
           send_body: bool = True) -> bytes:
    if body is None:
        body = f"{reason}\n".encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n")
    return head.encode("latin-1") + (body if send_body else b"")
