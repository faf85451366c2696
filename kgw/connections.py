"""One client connection: requests read ahead, handled in turn, answered in order.

Two tasks share a connection, and a third for each answer that has to wait:

- The reader reads frames and decodes requests as they come, also while
  earlier requests wait (a long-polling Fetch, a Produce waiting for its
  fsync), so it sees a closed peer at once.  What it may hold is bounded:
  READ_AHEAD decoded requests; frames no larger than max_request_size, or
  SASL_MAX_RECEIVE_SIZE before authentication (Kafka's
  socket.request.max.bytes and sasl.server.max.receive.size); and the
  broker-wide `RequestMemory` budget (Kafka's queued.max.request.bytes),
  from which a frame's announced size is reserved before its body is read.
  While the budget is spent, the reader stops reading its socket.
- The processor handles each request in turn, so requests take effect in
  the order they were sent, as Kafka processes them.  A handler whose
  answer has to wait returns a `Later` once everything whose order matters
  is done (Produce after its appends, Fetch before its long poll); the
  waiting then happens in a task of its own while the processor goes on,
  so pipelined acks=all produces on one connection share their fsyncs.
- Answers go out in request order, as Kafka clients expect, written by
  whichever task completes the oldest unanswered request.

A closed peer cancels every answer that is waiting; requests already read
are still carried out (an acks=0 Produce lands) and their answers dropped.
Idle connections are closed by the server (`Server.close_idle`), as Kafka
closes those idle for connections.max.idle.ms.
"""

import logging
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import trio

from protocol.connection import CLOSED, NEED_DATA, Request, ServerConnection
from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError, UnsupportedRequest
from protocol.messages import API_VERSIONS

from .handlers import Later, RequestContext
from .observability.response_errors import error_codes, error_name
from .responses import encode, send_response
from .sasl import FAILED_AUTHENTICATION_DELAY_S, Authenticator

if TYPE_CHECKING:
    from .server import Server

log = logging.getLogger("kgw.server")

RECEIVE_SIZE = 256 * 1024
# Kafka's sasl.server.max.receive.size: the largest frame before authentication.
SASL_MAX_RECEIVE_SIZE = 512 * 1024
# Decoded requests a connection holds ahead of the one being handled.
READ_AHEAD = 16


class RequestMemory:
    """The bytes of requests held in memory, broker-wide, and their limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._released = trio.lowlevel.ParkingLot()

    async def reserve(self, size: int) -> None:
        """Wait until `size` bytes fit, then take them.  A request larger than
        the whole budget waits until nothing else is held."""
        while self.used and self.used + size > self.limit:
            await self._released.park()
        self.used += size

    def release(self, size: int) -> None:
        self.used -= size
        self._released.unpark_all()


class _InFlight:
    """One request from the moment it is read until its answer is written."""

    __slots__ = ("request", "reserved", "scope", "waiting", "done", "body", "close", "failure",
                 "started")

    def __init__(self, request: Request, reserved: int):
        self.request = request
        self.reserved = reserved
        self.scope = trio.CancelScope()
        # Its answer is being waited for in a task of its own.
        self.waiting = False
        self.done = False
        self.body: Any = None
        # Close the connection once this answer is written (a failed SASL step).
        self.close = False
        self.failure: ProtocolError | None = None
        self.started = time.perf_counter()


class Connection:
    def __init__(self, server: "Server", stream: trio.SocketStream, peer: str, client_host: str):
        self.server = server
        self.stream = stream
        self.peer = peer
        # What handlers learn of the client; the principal changes once it
        # authenticates.
        self.context = RequestContext(client_host, served=server.handlers)
        # As the last request named it, for log lines about the connection.
        self.client_id: str | None = None
        # Until the client has authenticated; None once it has, or without SASL.
        self.sasl = Authenticator(server.sasl_users) if server.sasl_users else None
        self.scope = trio.CancelScope()
        # Read and not yet answered, oldest first.
        self._in_flight: deque[_InFlight] = deque()
        self._write_lock = trio.StrictFIFOLock()
        # While the processor has requests to handle and nothing waits, the
        # reader does not read ahead (a syscall per frame would cost more
        # than it gains); it is woken when the processor runs out of work or
        # an answer starts waiting.
        self._handling = False
        self._waiting = 0
        self._reader_woken: trio.Event | None = None
        self._reading = True
        # The peer is gone: nobody reads the answers.
        self._gone = False
        self.failure: ProtocolError | None = None
        # When the connection last received or sent, for the idle timeout.
        self.last_active = trio.current_time()

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    def describe(self) -> str:
        return self.peer if self.client_id is None else f"{self.peer} (client {self.client_id!r})"

    def log_fields(self, api: str | None = None, api_version: int | None = None) -> dict:
        """`extra` for a log record: the JSON log format shows these as fields."""
        return {"peer": self.peer, "client_id": self.client_id, "api": api, "api_version": api_version}

    def stop_reading(self) -> None:
        """For a graceful shutdown: answer what was read, read nothing more."""
        self._reading = False
        if not self._in_flight:
            self.scope.cancel()

    async def run(self) -> None:
        """Serve until the peer leaves, a frame cannot be parsed (raised as
        ProtocolError) or the connection is stopped."""
        send, receive = trio.open_memory_channel[_InFlight](READ_AHEAD)
        try:
            with self.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read, send)
                    await self._process(receive, nursery)
        finally:
            # What was read but never answered (the connection was cut short).
            for item in self._in_flight:
                if item.reserved:
                    self.server.request_memory.release(item.reserved)
            self._in_flight.clear()
        if self.failure is not None:
            raise self.failure

    # --- reading ----------------------------------------------------------------

    async def _read(self, send: trio.MemorySendChannel) -> None:
        config = self.server.config
        memory = self.server.request_memory
        protocol = ServerConnection(config.max_request_size)
        reserved = 0
        async with send:
            try:
                while self._reading:
                    protocol.max_frame_size = (SASL_MAX_RECEIVE_SIZE if self.sasl is not None
                                               else config.max_request_size)
                    request = protocol.next_request()
                    if request is CLOSED:
                        break
                    if request is NEED_DATA:
                        announced = protocol.frame_size
                        if announced is not None and not reserved:
                            await memory.reserve(announced)
                            reserved = announced
                        while self._busy(send) and not self._waiting:
                            self._reader_woken = trio.Event()
                            await self._reader_woken.wait()
                        data = await self.stream.receive_some(RECEIVE_SIZE)
                        self.last_active = trio.current_time()
                        protocol.receive_data(data)
                        continue
                    item = _InFlight(request, reserved)
                    reserved = 0
                    self._in_flight.append(item)
                    await send.send(item)
            except ProtocolError as exc:
                self.failure = exc
            except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
                pass
            finally:
                if reserved:
                    memory.release(reserved)
        if self._reading:
            self._peer_gone()

    def _peer_gone(self) -> None:
        """Nobody will read the answers: stop whatever only waits."""
        self._gone = True
        for item in self._in_flight:
            if item.waiting:
                item.scope.cancel()

    # --- handling, in turn ----------------------------------------------------------

    async def _process(self, receive: trio.MemoryReceiveChannel, nursery: trio.Nursery) -> None:
        async with receive:
            while True:
                try:
                    # Pipelined requests already read are taken without a
                    # trip through the scheduler.
                    item = receive.receive_nowait()
                except trio.WouldBlock:
                    try:
                        item = await receive.receive()
                    except trio.EndOfChannel:
                        return
                except trio.EndOfChannel:
                    return
                self.client_id = item.request.client_id
                self._handling = True
                try:
                    if self.sasl is not None and item.request.api_key != API_VERSIONS.key:
                        # Before authentication each SASL step decides what the
                        # next may be: nothing overlaps.
                        await self._authenticate(item)
                    else:
                        await self._handle(item, nursery)
                finally:
                    self._handling = False
                    self._wake_reader()
                if not await self._answer_ready():
                    return

    async def _authenticate(self, item: _InFlight) -> None:
        assert self.sasl is not None
        try:
            body, item.close = self.sasl.answer(item.request)
        except ProtocolError as exc:
            item.failure = exc
        else:
            item.body = body
            if body.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED:
                await trio.sleep(FAILED_AUTHENTICATION_DELAY_S)
            if self.sasl.done:
                log.debug("%s authenticated as %r with %s", self.describe(), self.sasl.user,
                          self.sasl.mechanism, extra=self.log_fields())
                self.context = replace(self.context, principal=f"User:{self.sasl.user}")
                self.sasl = None
        item.done = True

    async def _handle(self, item: _InFlight, nursery: trio.Nursery) -> None:
        try:
            body = await self._dispatch(item.request)
        except ProtocolError as exc:
            item.failure = exc
            item.done = True
            return
        if isinstance(body, Later):
            item.waiting = True
            self._waiting += 1
            self._wake_reader()
            nursery.start_soon(self._wait_for, item, body)
            if self._gone:
                item.scope.cancel()
            return
        item.body = body
        item.done = True

    async def _wait_for(self, item: _InFlight, later: Later) -> None:
        try:
            with item.scope:
                item.body = await later.answer()
        except ProtocolError as exc:
            item.failure = exc
        item.done = True
        self._waiting -= 1
        await self._answer_ready()

    def _busy(self, send: trio.MemorySendChannel) -> bool:
        """Whether the processor has work without reading more."""
        return self._handling or send.statistics().current_buffer_used > 0

    def _wake_reader(self) -> None:
        if self._reader_woken is not None:
            self._reader_woken.set()
            self._reader_woken = None

    async def _dispatch(self, request: Request):
        server = self.server
        handler = server.handlers.get(request.api_key)
        if handler is None or (request.version_supported
                               and not handler.min_version <= request.api_version <= handler.max_version):
            # Kafka closes the connection on a request it cannot serve.
            raise UnsupportedRequest(request.api_key, request.api_version, request.correlation_id)
        try:
            return await handler.fn(server.broker, request, self.context)
        except (trio.Cancelled, ProtocolError):
            # A handler refuses a request it cannot serve as the codec
            # refuses a frame: the connection closes with a logged reason.
            raise
        except Exception as exc:
            # A bug must cost one connection, never the server.
            server.broker.metrics.failed(request.api_key)
            log.exception("%s v%d from %s failed", handler.api.name, request.api_version,
                          self.describe(), extra=self.log_fields(handler.api.name, request.api_version))
            raise ProtocolError(f"internal error handling {handler.api.name}: {exc}") from exc

    # --- answering, in order ---------------------------------------------------------

    async def _answer_ready(self) -> bool:
        """Write the answers of the oldest requests that are done, in order;
        False once the connection must end."""
        async with self._write_lock:
            while self._in_flight and self._in_flight[0].done:
                item = self._in_flight.popleft()
                try:
                    if not await self._answer(item):
                        self.scope.cancel()
                        return False
                finally:
                    if item.reserved:
                        self.server.request_memory.release(item.reserved)
            if not self._reading and not self._in_flight:
                self.scope.cancel()
        return True

    async def _answer(self, item: _InFlight) -> bool:
        """Write one answer; False if the connection must end after it."""
        request, body = item.request, item.body
        if item.failure is not None:
            self.failure = item.failure
            return False
        if body is not None and request.expects_response and not self._gone:
            try:
                await send_response(self.stream, await encode(request, body))
                self.last_active = trio.current_time()
            except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
                self._peer_gone()
        self.server.answered(request, body, time.perf_counter() - item.started, self)
        if item.close:
            reason = getattr(body, "error_message", None) or error_name(body.error_code)
            log.warning("closing connection from %s: SASL: %s", self.describe(), reason,
                        extra=self.log_fields())
            return False
        return True

    def log_errors(self, request: Request, body) -> None:
        """One debug line for a response carrying error codes."""
        codes = error_codes(request.api_key, body)
        if codes:
            api = self.server.handlers[request.api_key].api.name
            names = ", ".join(sorted({error_name(code) for code in codes}))
            log.debug("%s v%d from %s answered with %s", api, request.api_version,
                      self.describe(), names, extra=self.log_fields(api, request.api_version))
