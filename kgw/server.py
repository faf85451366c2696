"""The trio server: one task per connection, requests answered in order.

Kafka clients pipeline requests and match responses by correlation id, and
Kafka itself handles one request per connection at a time; kgw does the
same, which keeps responses in order without any queue. Produce with
acks=0 gets no response and the next request is read at once.

Record data of Fetch responses leaves through `os.sendfile` straight from
the segment files; everything else is small and goes through trio.
"""

import errno
import logging
import os
import signal
import time
from dataclasses import replace

import trio

from protocol.connection import CLOSED, NEED_DATA, ServerConnection, encode_response
from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError, UnsupportedRequest
from protocol.messages import API_VERSIONS

from .broker import Broker
from .config import BrokerConfig
from .handlers import Handler, RequestContext, load_all
from .log import run_retention
from .observability.response_errors import error_codes, error_name
from .sasl import FAILED_AUTHENTICATION_DELAY_S, Authenticator, Users

log = logging.getLogger("kgw.server")

RECEIVE_SIZE = 256 * 1024
# Below this, a records part is cheaper to copy than to sendfile.
SENDFILE_MIN = 16 * 1024


class _Connection:
    __slots__ = ("scope", "busy", "peer", "context", "client_id", "sasl")

    def __init__(self, peer: str, context: RequestContext, sasl: Authenticator | None):
        self.scope = trio.CancelScope()
        self.busy = False
        self.peer = peer
        # What handlers learn of the client; the principal changes once it
        # authenticates.
        self.context = context
        # As the last request named it, for log lines about the connection.
        self.client_id: str | None = None
        # Until the client has authenticated; None once it has, or without SASL.
        self.sasl = sasl

    def describe(self) -> str:
        return self.peer if self.client_id is None else f"{self.peer} (client {self.client_id!r})"

    def log_fields(self, api: str | None = None, api_version: int | None = None) -> dict:
        """`extra` for a log record: the JSON log format shows these as fields."""
        return {"peer": self.peer, "client_id": self.client_id, "api": api, "api_version": api_version}


class Server:
    """Serves a broker over TCP.  `broker` and `handlers` default to a
    Broker of `config` and every registered handler; tests and embedders
    may give their own."""

    def __init__(self, config: BrokerConfig, *, broker: Broker | None = None,
                 handlers: dict[int, Handler] | None = None):
        self.config = config
        self.handlers = load_all() if handlers is None else handlers
        self.broker = Broker(config) if broker is None else broker
        self.sasl_users = Users(config.sasl_users) if config.sasl_users else None
        self.address: tuple[str, int] | None = None
        # Where Prometheus scrapes, once serving with `metrics_port` set.
        self.metrics_address: tuple[str, int] | None = None
        self._connections: set[_Connection] = set()
        self._accepted = 0
        self._answered = 0
        self._closing = False
        self._accept_scope = trio.CancelScope()
        self._stopped = trio.Event()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED):
        """Serve until `shutdown()`; `task_status.started` gets (host, port)."""
        started = time.monotonic()
        self.broker.open()
        try:
            listeners = await trio.open_tcp_listeners(self.config.port, host=self.config.host)
            host, port = listeners[0].socket.getsockname()[:2]
            self.address = (host, port)
            self.broker.bound(host, port)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_retention, self.broker.log,
                                   self.config.retention_check_interval_ms / 1000)
                await nursery.start(self.broker.flusher.run)
                await nursery.start(self.broker.groups.run)
                await nursery.start(self.broker.transactions.run)
                if self.config.metrics_port is not None:
                    # prometheus_client is imported only when metrics are asked for.
                    from .observability.endpoint import serve_metrics
                    self.metrics_address = await nursery.start(
                        serve_metrics, self.broker, self.config.host, self.config.metrics_port)
                nursery.start_soon(self._accept, listeners, nursery)
                metrics = ("" if self.metrics_address is None
                           else ", metrics on http://%s:%d/metrics" % self.metrics_address)
                sasl = ("" if self.sasl_users is None
                        else ", SASL required (%d user(s))" % len(self.config.sasl_users))
                log.info("kgw ready on %s:%d (advertised as %s:%d): %d topic(s), "
                         "%d consumer group(s), flush %s%s%s", host, port,
                         self.broker.advertised_host, self.broker.advertised_port,
                         len(self.broker.log.topics()), len(self.broker.groups.groups),
                         self.config.flush, sasl, metrics)
                task_status.started((host, port))
                await self._stopped.wait()
                await self._drain()
                nursery.cancel_scope.cancel()
        finally:
            self.broker.close()
            log.info("kgw stopped after %.1f s: %d connection(s), %d request(s) answered; "
                     "data flushed to %s", time.monotonic() - started, self._accepted,
                     self._answered, self.config.data_dir)

    def shutdown(self) -> None:
        """Stop accepting; idle connections close now, busy ones after their
        current request (or when the grace period ends)."""
        if self._closing:
            return
        self._closing = True
        self._accept_scope.cancel()
        for conn in list(self._connections):
            if not conn.busy:
                conn.scope.cancel()
        self._stopped.set()

    async def _drain(self):
        with trio.move_on_after(self.config.shutdown_grace_s):
            while self._connections:
                await trio.sleep(0.01)
        for conn in list(self._connections):
            conn.scope.cancel()

    async def _accept(self, listeners, nursery):
        with self._accept_scope:
            async with trio.open_nursery() as accepting:
                for listener in listeners:
                    accepting.start_soon(self._accept_loop, listener, nursery)
        for listener in listeners:
            await listener.aclose()

    async def _accept_loop(self, listener, nursery):
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                # Out of file descriptors: wait for some to be released
                # rather than spin (as trio's serve_listeners does).
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS):
                    log.error("accept failed (%s); retrying in 100 ms", exc)
                    await trio.sleep(0.1)
                    continue
                raise
            if len(self._connections) >= self.config.max_connections:
                log.warning("refusing a connection: %d already open", len(self._connections))
                await trio.aclose_forcefully(stream)
                continue
            nursery.start_soon(self._serve_connection, stream)

    async def _serve_connection(self, stream):
        try:
            host, port = stream.socket.getpeername()[:2]
        except OSError:
            host, port = "?", 0
        conn = _Connection(f"{host}:{port}", RequestContext(f"/{host}", served=self.handlers),
                           Authenticator(self.sasl_users) if self.sasl_users else None)
        self._connections.add(conn)
        self._accepted += 1
        self.broker.metrics.connection_opened()
        log.debug("connection from %s opened", conn.peer, extra=conn.log_fields())
        how = "closed by the client"
        try:
            with conn.scope:
                await self._requests(stream, conn)
            if conn.scope.cancelled_caught:
                how = "closed for shutdown"
        except ProtocolError as exc:
            how = "closed after a protocol error"
            log.warning("closing connection from %s: %s", conn.describe(), exc, extra=conn.log_fields())
        except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
            how = "lost"
        except Exception:
            # Whatever went wrong costs this connection, never the server.
            how = "closed after an unexpected error"
            log.exception("closing connection from %s after an unexpected error", conn.describe(),
                          extra=conn.log_fields())
        finally:
            self._connections.discard(conn)
            self.broker.metrics.connection_closed()
            await trio.aclose_forcefully(stream)
            log.debug("connection from %s %s", conn.describe(), how, extra=conn.log_fields())

    async def _requests(self, stream, conn: _Connection):
        protocol = ServerConnection(self.config.max_request_size)
        while True:
            request = protocol.next_request()
            if request is CLOSED:
                return
            if request is NEED_DATA:
                if self._closing:
                    return
                protocol.receive_data(await stream.receive_some(RECEIVE_SIZE))
                continue
            conn.client_id = request.client_id
            conn.busy = True
            started = time.perf_counter()
            close = False
            try:
                if conn.sasl is not None and request.api_key != API_VERSIONS.key:
                    body, close = conn.sasl.answer(request)
                    if body.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED:
                        await trio.sleep(FAILED_AUTHENTICATION_DELAY_S)
                else:
                    body = await self._dispatch(request, conn)
                if body is not None and request.expects_response:
                    await _send(stream, encode_response(request, body))
            finally:
                conn.busy = False
            self._answered += 1
            self.broker.metrics.request(request.api_key, body, time.perf_counter() - started)
            if body is not None and log.isEnabledFor(logging.DEBUG):
                self._log_errors(request, body, conn)
            if close:
                reason = getattr(body, "error_message", None) or error_name(body.error_code)
                log.warning("closing connection from %s: SASL: %s", conn.describe(), reason,
                            extra=conn.log_fields())
                return
            if conn.sasl is not None and conn.sasl.done:
                log.debug("%s authenticated as %r with %s", conn.describe(), conn.sasl.user,
                          conn.sasl.mechanism, extra=conn.log_fields())
                conn.context = replace(conn.context, principal=f"User:{conn.sasl.user}")
                conn.sasl = None

    async def _dispatch(self, request, conn: _Connection):
        handler = self.handlers.get(request.api_key)
        if handler is None or (request.version_supported
                               and not handler.min_version <= request.api_version <= handler.max_version):
            # Kafka closes the connection on a request it cannot serve.
            raise UnsupportedRequest(request.api_key, request.api_version, request.correlation_id)
        try:
            return await handler.fn(self.broker, request, conn.context)
        except (trio.Cancelled, ProtocolError):
            # A handler refuses a request it cannot serve as the codec
            # refuses a frame: the connection closes with a logged reason.
            raise
        except Exception as exc:
            # A bug must cost one connection, never the server.
            self.broker.metrics.failed(request.api_key)
            log.exception("%s v%d from %s failed", handler.api.name, request.api_version,
                          conn.describe(), extra=conn.log_fields(handler.api.name, request.api_version))
            raise ProtocolError(f"internal error handling {handler.api.name}: {exc}") from exc

    def _log_errors(self, request, body, conn: _Connection) -> None:
        """One debug line for a response carrying error codes."""
        codes = error_codes(request.api_key, body)
        if codes:
            api = self.handlers[request.api_key].api.name
            names = ", ".join(sorted({error_name(code) for code in codes}))
            log.debug("%s v%d from %s answered with %s", api, request.api_version,
                      conn.describe(), names, extra=conn.log_fields(api, request.api_version))


async def _send(stream, parts) -> None:
    """Write a response: buffers through trio, file ranges with sendfile."""
    pending: list = []
    for part in parts:
        ranges = getattr(part, "ranges", None)
        if ranges is None:
            pending.append(part)
            continue
        if len(part) < SENDFILE_MIN:
            pending.append(part.read_bytes())
            continue
        if pending:
            await stream.send_all(b"".join(pending))
            pending = []
        for file_range in ranges:
            await _sendfile(stream.socket, file_range.file.fd, file_range.position, file_range.length)
    if pending:
        await stream.send_all(b"".join(pending))


async def _sendfile(sock, fd: int, offset: int, count: int) -> None:
    out = sock.fileno()
    while count:
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            sent = os.sendfile(out, fd, offset, count)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise trio.BrokenResourceError(str(exc)) from exc
        if sent == 0:
            # The segment is shorter than the range promised: the frame
            # cannot be completed, so the connection must go.
            raise trio.BrokenResourceError("segment file ended before the records did")
        offset += sent
        count -= sent


async def serve_until_signalled(config: BrokerConfig) -> None:
    """`kgw serve`: run until SIGINT or SIGTERM, then stop gracefully."""
    server = Server(config)
    async with trio.open_nursery() as nursery:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            await nursery.start(server.run)
            async for signum in signals:
                log.info("%s received: shutting down", signal.Signals(signum).name)
                server.shutdown()
                break

