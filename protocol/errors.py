"""Failures of the wire codec.

Kafka's error codes (the values that travel inside responses) live in
`protocol.error_codes`; this module holds the one exception tree the codec
raises for input it cannot parse.  Nothing else may escape a decoder, so a
server can treat `ProtocolError` as "close this connection and log why".
"""


class ProtocolError(Exception):
    """Base of every exception raised by protocol/ for bad input."""


class DecodeError(ProtocolError):
    """Malformed bytes: `reason` says what was wrong, `offset` where.

    `offset` counts from the start of the buffer handed to the decoder (for
    a request, the first byte after the 4-byte size prefix).
    """

    def __init__(self, reason: str, offset: int):
        super().__init__(f"{reason} at byte {offset}")
        self.reason = reason
        self.offset = offset


class FrameTooLarge(DecodeError):
    """A frame whose declared size is above the configured maximum."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"frame of {size} bytes exceeds the {limit}-byte limit", 0)
        self.size = size
        self.limit = limit


class UnsupportedRequest(DecodeError):
    """A well-framed request whose API key or version kgw does not declare.

    The header fields that are readable regardless of version are kept so
    the caller can log them (Kafka closes the connection in this case).
    """

    def __init__(self, api_key: int, api_version: int, correlation_id: int):
        super().__init__(f"unsupported API key {api_key} version {api_version}", 0)
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id
