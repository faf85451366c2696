"""Sans-IO Kafka connections, in the manner of h11.

The caller owns the socket: it feeds received bytes to `receive_data()`,
pulls decoded messages with `next_request()` (or `next_response()` on the
client side) until it gets `NEED_DATA`, and writes whatever bytes
`send_response()` / `send_request()` return.  Nothing here blocks or
touches a file descriptor.

Framing: every message is an int32 size followed by that many bytes.  A
declared size above `max_frame_size` is refused as soon as the 4 size bytes
are in, before anything of that size is allocated; bytes are kept as the
chunks they arrived in and joined once per frame (not at all when one chunk
holds the whole frame), so record data is copied at most once on its way in.
"""

import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from . import primitives as p
from .codec import read_tagged_fields
from .errors import DecodeError, FrameTooLarge, UnsupportedRequest
from .messages import API_VERSIONS, APIS, PRODUCE, REQUEST_CODECS, RESPONSE_CODECS

DEFAULT_MAX_FRAME_SIZE = 100 * 1024 * 1024  # Kafka's socket.request.max.bytes

_SIZE = struct.Struct(">i")
_REQUEST_HEADER = struct.Struct(">hhi")
_NO_TAGS = b"\x00"


class _Marker:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name


NEED_DATA = _Marker("NEED_DATA")
CLOSED = _Marker("CLOSED")


@dataclass
class Request:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body: Any
    size: int = 0

    @property
    def version_supported(self) -> bool:
        """False only for an ApiVersions request above kgw's range, which
        Kafka answers with UNSUPPORTED_VERSION in a v0 body (KIP-511)."""
        return self.api_version in APIS[self.api_key].versions

    @property
    def expects_response(self) -> bool:
        """Produce with acks=0 is the one request Kafka never answers."""
        return not (self.api_key == PRODUCE.key and self.body.acks == 0)


@dataclass
class Response:
    api_key: int
    api_version: int
    correlation_id: int
    body: Any


def _is_buffer(part) -> bool:
    return isinstance(part, (bytes, bytearray, memoryview))


def join_parts(parts: list) -> bytes:
    for part in parts:
        if not _is_buffer(part):
            raise TypeError(f"{type(part).__name__} part cannot be joined; send the parts instead")
    return b"".join(parts)


class _FrameReader:
    """Splits a byte stream into frames; shared by both connection sides."""

    def __init__(self, max_frame_size: int):
        self.max_frame_size = max_frame_size
        self._chunks: deque[memoryview] = deque()
        self._buffered = 0
        self._frame_size: int | None = None
        self._eof = False

    @property
    def frame_size(self) -> int | None:
        return self._frame_size

    def receive_data(self, data) -> None:
        """Feed received bytes; b"" means the peer closed its side.

        The connection keeps a reference to `data` rather than copying it,
        so a caller must not modify a buffer it has handed over.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("data received after end of stream")
        chunk = memoryview(data).cast("B")
        self._chunks.append(chunk)
        self._buffered += len(chunk)

    def next_frame(self):
        if self._frame_size is None:
            if self._buffered < 4:
                return self._end_or_need()
            (size,) = _SIZE.unpack(self._take(4))
            if size < 0:
                raise DecodeError(f"negative frame size {size}", 0)
            if size > self.max_frame_size:
                raise FrameTooLarge(size, self.max_frame_size)
            self._frame_size = size
        if self._buffered < self._frame_size:
            return self._end_or_need()
        frame = self._take(self._frame_size)
        self._frame_size = None
        return frame

    def _end_or_need(self):
        if not self._eof:
            return NEED_DATA
        if self._buffered or self._frame_size is not None:
            raise DecodeError("connection closed in the middle of a frame", self._buffered)
        return CLOSED

    def _take(self, n: int) -> memoryview:
        if n == 0:
            return memoryview(b"")
        chunks = self._chunks
        self._buffered -= n
        first = chunks[0]
        if len(first) >= n:
            if len(first) == n:
                chunks.popleft()
            else:
                chunks[0] = first[n:]
            return first[:n]
        parts = []
        while n:
            chunk = chunks.popleft()
            if len(chunk) > n:
                chunks.appendleft(chunk[n:])
                chunk = chunk[:n]
            parts.append(chunk)
            n -= len(chunk)
        return memoryview(b"".join(parts))


class ServerConnection:
    """The broker's side of one client connection."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE):
        self._reader = _FrameReader(max_frame_size)
        self.receive_data = self._reader.receive_data

    @property
    def max_frame_size(self) -> int:
        """The largest frame accepted; it may change between frames (a
        smaller one before authentication)."""
        return self._reader.max_frame_size

    @max_frame_size.setter
    def max_frame_size(self, size: int) -> None:
        self._reader.max_frame_size = size

    @property
    def frame_size(self) -> int | None:
        """The size the frame being received announced, once its 4 size bytes are in."""
        return self._reader.frame_size

    def next_request(self):
        """A decoded `Request`, `NEED_DATA`, or `CLOSED` after a clean end.

        Raises a `ProtocolError` for a frame that cannot be parsed (the
        caller should log it and close); `UnsupportedRequest` is the case of
        a well-formed frame for an API or version kgw does not declare.
        """
        frame = self._reader.next_frame()
        if frame is NEED_DATA or frame is CLOSED:
            return frame
        return decode_request(frame)

    def send_response(self, request: Request, body) -> bytes:
        return join_parts(encode_response(request, body))


def decode_request(frame: memoryview) -> Request:
    try:
        api_key, api_version, correlation_id = _REQUEST_HEADER.unpack_from(frame, 0)
    except struct.error:
        raise DecodeError("request header shorter than 8 bytes", 0) from None
    api = APIS.get(api_key)
    if api is None or (api_version not in api.versions
                       and not (api is API_VERSIONS and api_version > api.max_version)):
        raise UnsupportedRequest(api_key, api_version, correlation_id)
    client_id, pos = p.read_nullable_string(frame, 8)
    if api_version not in api.versions:
        # An ApiVersions request from a newer client: the body is not parsed,
        # the answer lists kgw's range (Kafka does the same, KIP-511).
        return Request(api_key, api_version, correlation_id, client_id, api.Request(), len(frame))
    if api.is_flexible(api_version):
        pos = read_tagged_fields(frame, pos, None, {})
    body, _ = REQUEST_CODECS[api_key, api_version].decode(frame, pos)
    return Request(api_key, api_version, correlation_id, client_id, body, len(frame))


def response_header_is_flexible(api_key: int, api_version: int) -> bool:
    # ApiVersions responses always use header v0 so that a client can read
    # them before it knows which versions the broker speaks.
    return api_key != API_VERSIONS.key and APIS[api_key].is_flexible(api_version)


def encode_response(request: Request, body) -> list:
    """The response frame as a list of parts: buffers, and whatever RECORDS
    values the body carries (which may be file ranges a server sends with
    sendfile).  The first part is the size prefix."""
    version = request.api_version
    if not request.version_supported:
        version = 0
    out = [b"", p.write_int32(request.correlation_id)]
    if response_header_is_flexible(request.api_key, version):
        out.append(_NO_TAGS)
    RESPONSE_CODECS[request.api_key, version].encode(body, out)
    out[0] = _SIZE.pack(sum(len(part) for part in out))
    return out


class ClientConnection:
    """A client's side: for kgw's own tools and for tests."""

    def __init__(self, client_id: str | None = "kgw", max_frame_size: int = DEFAULT_MAX_FRAME_SIZE):
        self.client_id = client_id
        self._reader = _FrameReader(max_frame_size)
        self.receive_data = self._reader.receive_data
        self._next_correlation_id = 0
        self._in_flight: dict[int, tuple[int, int]] = {}

    def send_request(self, api_key: int, api_version: int, body) -> tuple[int, bytes]:
        """Encode a request; returns its correlation id and the bytes to write."""
        api = APIS[api_key]
        correlation_id = self._next_correlation_id
        self._next_correlation_id = (correlation_id + 1) & 0x7FFFFFFF
        out = [b"", _REQUEST_HEADER.pack(api_key, api_version, correlation_id),
               p.write_nullable_string(self.client_id)]
        if api.is_flexible(api_version):
            out.append(_NO_TAGS)
        REQUEST_CODECS[api_key, api_version].encode(body, out)
        out[0] = _SIZE.pack(sum(len(part) for part in out))
        if not (api_key == PRODUCE.key and body.acks == 0):
            self._in_flight[correlation_id] = (api_key, api_version)
        return correlation_id, join_parts(out)

    def send_raw(self, api_key: int, api_version: int, payload: bytes,
                 answer_as: tuple[int, int] | None) -> tuple[int, bytes]:
        """A request the codec does not declare (an unknown API key or
        version), for tests of what a broker does with one: header v1, then
        `payload` as given (which starts with the tag byte for a header v2).
        Its response, if any, is decoded as `answer_as` (api key, version)."""
        correlation_id = self._next_correlation_id
        self._next_correlation_id = (correlation_id + 1) & 0x7FFFFFFF
        frame = (_REQUEST_HEADER.pack(api_key, api_version, correlation_id)
                 + p.write_nullable_string(self.client_id) + payload)
        if answer_as is not None:
            self._in_flight[correlation_id] = answer_as
        return correlation_id, _SIZE.pack(len(frame)) + frame

    def next_response(self):
        """A decoded `Response`, `NEED_DATA`, or `CLOSED`."""
        frame = self._reader.next_frame()
        if frame is NEED_DATA or frame is CLOSED:
            return frame
        try:
            (correlation_id,) = _SIZE.unpack_from(frame, 0)
        except struct.error:
            raise DecodeError("response shorter than its correlation id", 0) from None
        if correlation_id not in self._in_flight:
            raise DecodeError(f"response to unknown correlation id {correlation_id}", 0)
        api_key, api_version = self._in_flight.pop(correlation_id)
        pos = 4
        if response_header_is_flexible(api_key, api_version):
            pos = read_tagged_fields(frame, pos, None, {})
        body, _ = _decode_response_body(api_key, api_version, frame, pos)
        return Response(api_key, api_version, correlation_id, body)


def _decode_response_body(api_key, api_version, frame, pos):
    if api_key == API_VERSIONS.key:
        # An UNSUPPORTED_VERSION answer comes as a v0 body whatever was asked.
        (error_code,) = struct.unpack_from(">h", frame, pos) if len(frame) >= pos + 2 else (0,)
        if error_code == 35:
            api_version = 0
    return RESPONSE_CODECS[api_key, api_version].decode(frame, pos)
