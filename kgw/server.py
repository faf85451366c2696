"""The trio server: the listeners, the background tasks, graceful shutdown.

Each client connection is a `kgw.connections.Connection`, which reads
requests ahead, handles them in turn and answers them in order.
"""

# socket.getaddrinfo encodes host names with the idna codec, which its
# first use imports: here, rather than in the first start of a broker.
import encodings.idna  # noqa: F401
import errno
import logging
import signal
import time

import trio

from protocol.connection import Request
from protocol.errors import ProtocolError

from .broker import Broker
from .config import BrokerConfig
from .connections import Connection, RequestMemory
from .handlers import Handler, load_all
from .log import run_retention
from .sasl import Users
from .startup_errors import listen_error

log = logging.getLogger("kgw.server")
# Every handler, imported with the server rather than by its first start.
ALL_HANDLERS = load_all()


class Server:
    """Serves a broker over TCP.  `broker` and `handlers` default to a
    Broker of `config` and every registered handler; tests and embedders
    may give their own."""

    def __init__(self, config: BrokerConfig, *, broker: Broker | None = None,
                 handlers: dict[int, Handler] | None = None):
        self.config = config
        self.handlers = ALL_HANDLERS if handlers is None else handlers
        self.broker = Broker(config) if broker is None else broker
        self.sasl_users = Users(config.sasl_users) if config.sasl_users else None
        self.request_memory = RequestMemory(config.queued_max_request_bytes)
        self.address: tuple[str, int] | None = None
        # Where Prometheus scrapes, once serving with `metrics_port` set.
        self.metrics_address: tuple[str, int] | None = None
        self._connections: set[Connection] = set()
        self._accepted = 0
        self._answered = 0
        self._closing = False
        self._accept_scope = trio.CancelScope()
        self._stopped = trio.Event()
        # Set when run() ends: whether everything was flushed and marked clean.
        self.flushed = False

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED):
        """Serve until `shutdown()`; `task_status.started` gets (host, port)."""
        started = time.monotonic()
        ready = False
        self.broker.open()
        try:
            try:
                listeners = await trio.open_tcp_listeners(self.config.port, host=self.config.host)
            except OSError as exc:
                raise listen_error(exc, "listen", self.config.host, self.config.port, "port") from exc
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
                nursery.start_soon(self._close_idle)
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
                ready = True
                await self._stopped.wait()
                await self._drain()
                nursery.cancel_scope.cancel()
        finally:
            self.flushed = self.broker.close()
            # A broker that failed to start has only its error to tell.
            if ready or not self.flushed:
                log.info("kgw stopped after %.1f s: %d connection(s), %d request(s) answered; %s %s",
                         time.monotonic() - started, self._accepted, self._answered,
                         "data flushed to" if self.flushed else "NOT everything could be flushed to",
                         self.config.data_dir)

    def shutdown(self) -> None:
        """Stop accepting; idle connections close now, busy ones once they
        answered what they read (or when the grace period ends)."""
        if self._closing:
            return
        self._closing = True
        self._accept_scope.cancel()
        for conn in list(self._connections):
            conn.stop_reading()
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
        conn = Connection(self, stream, f"{host}:{port}", f"/{host}")
        self._connections.add(conn)
        self._accepted += 1
        self.broker.metrics.connection_opened()
        log.debug("connection from %s opened", conn.peer, extra=conn.log_fields())
        how = "closed by the client"
        try:
            if self._closing:
                conn.stop_reading()
            await conn.run()
            if conn.scope.cancelled_caught and self._closing:
                how = "closed for shutdown"
        except ProtocolError as exc:
            how = "closed after a protocol error"
            log.warning("closing connection from %s: %s", conn.describe(), exc, extra=conn.log_fields())
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

    async def _close_idle(self) -> None:
        """Kafka's connections.max.idle.ms: close a connection with nothing in
        flight that has neither received nor sent for that long."""
        idle_s = self.config.connections_max_idle_ms / 1000
        while True:
            await trio.sleep(min(idle_s / 10, 30))
            now = trio.current_time()
            for conn in list(self._connections):
                if not conn.busy and now - conn.last_active >= idle_s:
                    log.debug("closing connection from %s: idle for %d ms", conn.describe(),
                              self.config.connections_max_idle_ms, extra=conn.log_fields())
                    conn.scope.cancel()

    def answered(self, request: Request, body, seconds: float, conn: Connection) -> None:
        """Account for a request whose answer went out (or that needs none)."""
        self._answered += 1
        self.broker.metrics.request(request.api_key, body, seconds)
        if body is not None and log.isEnabledFor(logging.DEBUG):
            conn.log_errors(request, body)


async def serve_until_signalled(config: BrokerConfig) -> bool:
    """`kgw serve`: run until SIGINT or SIGTERM, then stop gracefully;
    whether everything could be flushed."""
    server = Server(config)
    # What the receiver restores when it is left stays in force through the
    # stop: ignoring, so that a second signal then (make forwards the
    # SIGTERM its process group got too) does not kill kgw half-way through
    # its flush.  The caller's handlers come back once the stop is done,
    # as children inherit ignored signals.
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    callers = [signal.signal(stop_signal, signal.SIG_IGN) for stop_signal in stop_signals]
    try:
        async with trio.open_nursery() as nursery:
            with trio.open_signal_receiver(*stop_signals) as signals:
                await nursery.start(server.run)
                async for signum in signals:
                    log.info("%s received: shutting down", signal.Signals(signum).name)
                    server.shutdown()
                    break
    finally:
        for stop_signal, handler in zip(stop_signals, callers):
            signal.signal(stop_signal, handler)
    return server.flushed

