"""The record-batch compression codecs: gzip, snappy, lz4 and zstd.

A v2 RecordBatch compresses everything after its 61-byte header as one
stream; the codec is the low three bits of the batch attributes.  Decoding
is bounded by `max_size` because a compressed batch is a few bytes of
untrusted input that may claim gigabytes once inflated.  Every failure is
a `DecodeError`; its offset is a position in the compressed data where
known (xerial framing), otherwise 0, as the codecs do not say where they
stopped.

cramjam is imported by the functions that need it: the broker stores
batches as they come and never compresses, and `kgw serve` starts faster
without it.
"""

import enum
import gzip
import struct
import zlib

from .errors import DecodeError

DEFAULT_MAX_SIZE = 256 << 20

# xerial snappy-java's stream header, which the Java client writes: an
# 8-byte magic, then format version 1 and minimum compatible version 1.
XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
# snappy-java's default block size, the unit of uncompressed input per block.
_XERIAL_BLOCK_SIZE = 32 << 10
_INT32 = struct.Struct(">i")
# The densest snappy element is a 3-byte copy of 64 bytes, so no block can
# inflate more than 64/3 times: a bigger claimed length is corrupt.
_SNAPPY_MAX_RATIO = 22

# Java's GZIPOutputStream uses zlib's default level; matching it keeps our
# batches the size a Java producer would send.
_GZIP_LEVEL = 6
# Kafka's default zstd level (KIP-390).
_ZSTD_LEVEL = 3

# A first output buffer for lz4/zstd, grown 4x (up to max_size) when the
# codec runs out of room: most batches compress 2-10x, so one try is usual.
_MIN_FIRST_GUESS = 64 << 10
_GROWTH = 4


class Codec(enum.IntEnum):
    """The compression codec id in bits 0-2 of the batch attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


def compress(codec: Codec, data) -> bytes:
    """Compress `data` the way the Java client does for `codec`."""
    import cramjam

    codec = Codec(codec)
    if codec is Codec.NONE:
        return bytes(data)
    if codec is Codec.GZIP:
        return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)
    if codec is Codec.SNAPPY:
        return _xerial_compress(data)
    if codec is Codec.LZ4:
        return _lz4_compress(data)
    return bytes(cramjam.zstd.compress(data, level=_ZSTD_LEVEL))


def decompress(codec, data, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Inflate `data`; DecodeError if it is corrupt or exceeds `max_size`."""
    import cramjam

    try:
        codec = Codec(codec)
    except ValueError:
        raise DecodeError(f"unknown compression codec {codec}", 0) from None
    if codec is Codec.NONE:
        _check_size(len(data), max_size)
        return bytes(data)
    if codec is Codec.GZIP:
        return _gunzip(data, max_size)
    if codec is Codec.SNAPPY:
        return _snappy_decompress(data, max_size)
    if codec is Codec.LZ4:
        return _bounded(cramjam.lz4.decompress_into, "lz4", data, max_size)
    return _bounded(cramjam.zstd.decompress_into, "zstd", data, max_size)


def _check_size(size: int, max_size: int) -> None:
    if size > max_size:
        raise DecodeError(f"decompressed data exceeds the {max_size}-byte limit", 0)


# --- gzip ------------------------------------------------------------------

def _gunzip(data, max_size: int) -> bytes:
    """zlib's max_length stops inflating at the limit instead of after it.

    Java's GZIPInputStream reads concatenated gzip members as one stream,
    so a member followed by more bytes starts another member.
    """
    parts = []
    total = 0
    rest: bytes | memoryview = memoryview(data)
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(rest, max_size - total + 1)
        except zlib.error as exc:
            raise DecodeError(f"corrupt gzip data: {exc}", 0) from None
        total += len(part)
        _check_size(total, max_size)
        if not inflater.eof:
            raise DecodeError("truncated gzip data", 0)
        parts.append(part)
        if not inflater.unused_data:
            return b"".join(parts)
        rest = inflater.unused_data


# --- snappy ----------------------------------------------------------------

def _xerial_compress(data) -> bytes:
    import cramjam

    view = memoryview(data)
    out = [_XERIAL_HEADER]
    for start in range(0, len(view), _XERIAL_BLOCK_SIZE):
        block = bytes(cramjam.snappy.compress_raw(view[start:start + _XERIAL_BLOCK_SIZE]))
        out.append(_INT32.pack(len(block)))
        out.append(block)
    return b"".join(out)


def _snappy_decompress(data, max_size: int) -> bytes:
    """Kafka clients send either raw snappy or snappy-java's framed stream."""
    view = memoryview(data)
    if view[:len(XERIAL_MAGIC)] == XERIAL_MAGIC:
        return _xerial_decompress(view, max_size)
    return bytes(_snappy_block(view, max_size))


def _xerial_decompress(view: memoryview, max_size: int) -> bytes:
    pos = len(_XERIAL_HEADER)
    if len(view) < pos:
        raise DecodeError("truncated xerial snappy header", 0)
    parts = []
    total = 0
    while pos < len(view):
        if len(view) - pos < _INT32.size:
            raise DecodeError("truncated xerial snappy block length", pos)
        (length,) = _INT32.unpack_from(view, pos)
        pos += _INT32.size
        if not 0 <= length <= len(view) - pos:
            raise DecodeError(f"xerial snappy block of {length} bytes does not fit", pos)
        block = _snappy_block(view[pos:pos + length], max_size - total)
        total += len(block)
        parts.append(block)
        pos += length
    return b"".join(parts)


def _snappy_block(block, max_size: int):
    """Raw snappy states its inflated length up front: check it before inflating."""
    import cramjam

    try:
        size = cramjam.snappy.decompress_raw_len(block)
        if size > _SNAPPY_MAX_RATIO * len(block):
            raise DecodeError(f"snappy block of {len(block)} bytes claims {size} bytes", 0)
        _check_size(size, max_size)
        return cramjam.snappy.decompress_raw(block)
    except cramjam.DecompressionError as exc:
        raise DecodeError(f"corrupt snappy data: {exc}", 0) from None


# --- lz4 and zstd ----------------------------------------------------------

def _lz4_compress(data) -> bytes:
    import cramjam

    # Kafka's Lz4BlockInputStream refuses frames with linked blocks (see its
    # FLG.validate), and cramjam links blocks unless told not to.
    compressor = cramjam.lz4.Compressor(content_checksum=False, block_linked=False)
    compressor.compress(data)
    return bytes(compressor.finish())


def _bounded(decompress_into, name: str, data, max_size: int) -> bytes:
    """Inflate into a fixed buffer so a bomb stops at the buffer's end.

    cramjam writes into the caller's buffer and fails as soon as it is
    full, so memory never exceeds `max_size` however large the stream says
    it is; a buffer that was merely too small is retried bigger.
    """
    import cramjam

    capacity = min(max_size, max(_MIN_FIRST_GUESS, _GROWTH * len(data)))
    while True:
        out = bytearray(capacity)
        try:
            size = decompress_into(data, out)
        except cramjam.DecompressionError as exc:
            if not _out_of_room(exc):
                raise DecodeError(f"corrupt {name} data: {exc}", 0) from None
            if capacity >= max_size:
                raise DecodeError(f"{name} data exceeds the {max_size}-byte limit", 0) from None
            capacity = min(max_size, capacity * _GROWTH)
        else:
            return bytes(memoryview(out)[:size])


def _out_of_room(exc: Exception) -> bool:
    # cramjam reports a full output buffer only through its message: the
    # Rust io::Write error, or zstd's own when a frame declares its size.
    # tests/test_compression.py pins both so a cramjam change is caught.
    message = str(exc)
    return "failed to write whole buffer" in message or "buffer is too small" in message
