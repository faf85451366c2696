"""The record-batch compression codecs: gzip, snappy, lz4 and zstd.

A v2 RecordBatch compresses everything after its 61-byte header as one
stream; the codec is the low three bits of the batch attributes.  A
compressed batch is a few bytes of untrusted input that may claim
gigabytes once inflated, so inflating is streamed and bounded:
`inflate_chunks` hands out the inflated stream a chunk at a time and
stops with a DecodeError once it passes `max_size`, so a bomb costs a
chunk of memory and the CPU of inflating `max_size` bytes, not its
inflated size; `decompress` joins the chunks, for callers that want the
whole.  Every failure is a `DecodeError`; its offset is a position in the
compressed data where known (xerial framing), otherwise 0, as the codecs
do not say where they stopped.

Compressing uses cramjam; inflating lz4 and zstd uses the lz4 and
zstandard packages, whose decoders can stop after a given output size
(cramjam's inflate a whole frame at once).  Each is imported by the
functions that need it: the broker stores most batches as they come, and
`kgw serve` starts faster without them.
"""

import enum
import gzip
import struct
import zlib
from typing import Iterator

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

# The most `inflate_chunks` inflates at a time (a raw snappy block and a
# xerial block come whole, but snappy cannot inflate more than 22x).
CHUNK_SIZE = 256 << 10
# zstd's decoder allocates the window a frame declares (up to 2 GiB with
# --long, where no Kafka client goes); zstd's own default limit is 128 MiB.
_ZSTD_MAX_WINDOW = 128 << 20
_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_SKIPPABLE = 0x184D2A50
_U32LE = struct.Struct("<I")


class Codec(enum.IntEnum):
    """The compression codec id in bits 0-2 of the batch attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


def compress(codec: Codec, data, level: int | None = None) -> bytes:
    """Compress `data` the way the Java client does for `codec`; `level`, if
    given, is the codec's level as Kafka's compression.<codec>.level names
    it (snappy has none)."""
    import cramjam

    codec = Codec(codec)
    if codec is Codec.NONE:
        return bytes(data)
    if codec is Codec.GZIP:
        return gzip.compress(data, compresslevel=_GZIP_LEVEL if level is None else level, mtime=0)
    if codec is Codec.SNAPPY:
        return _xerial_compress(data)
    if codec is Codec.LZ4:
        return _lz4_compress(data, level)
    return bytes(cramjam.zstd.compress(data, level=_ZSTD_LEVEL if level is None else level))


def decompress(codec, data, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Inflate `data`; DecodeError if it is corrupt or exceeds `max_size`."""
    return b"".join(inflate_chunks(codec, data, max_size))


def inflate_chunks(codec, data, max_size: int = DEFAULT_MAX_SIZE,
                   chunk_size: int = CHUNK_SIZE) -> Iterator[bytes | memoryview]:
    """The inflated stream of `data`, in pieces of at most `chunk_size`
    bytes (snappy's blocks excepted, see CHUNK_SIZE); DecodeError once the
    stream is corrupt, truncated, or longer than `max_size`, raised when
    the iteration reaches that point."""
    try:
        codec = Codec(codec)
    except ValueError:
        raise DecodeError(f"unknown compression codec {codec}", 0) from None
    if codec is Codec.NONE:
        _check_size(len(data), max_size)
        return iter((memoryview(data),))
    if codec is Codec.GZIP:
        return _gunzip(data, max_size, chunk_size)
    if codec is Codec.SNAPPY:
        return _snappy_decompress(data, max_size)
    if codec is Codec.LZ4:
        return _lz4_decompress(data, max_size, chunk_size)
    return _zstd_decompress(data, max_size, chunk_size)


class InflateLimitExceeded(DecodeError):
    """The data inflates past the `max_size` it was given: a bomb, or a
    batch larger than the caller is willing to inflate."""


def _check_size(size: int, max_size: int) -> None:
    if size > max_size:
        raise InflateLimitExceeded(f"decompressed data exceeds the {max_size}-byte limit", 0)


class _Budget:
    """Counts the inflated bytes against `max_size`."""

    __slots__ = ("left", "max_size")

    def __init__(self, max_size: int):
        self.left = max_size
        self.max_size = max_size

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            _check_size(self.max_size + 1, self.max_size)


# --- gzip ------------------------------------------------------------------

def _gunzip(data, max_size: int, chunk_size: int) -> Iterator[bytes]:
    """zlib's max_length stops inflating at the chunk's end instead of after it.

    Java's GZIPInputStream reads concatenated gzip members as one stream,
    so a member followed by more bytes starts another member.
    """
    budget = _Budget(max_size)
    rest: bytes | memoryview = memoryview(data)
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while not inflater.eof:
            try:
                part = inflater.decompress(rest, min(chunk_size, budget.left + 1))
            except zlib.error as exc:
                raise DecodeError(f"corrupt gzip data: {exc}", 0) from None
            rest = inflater.unconsumed_tail
            if not part:
                if not inflater.eof:
                    raise DecodeError("truncated gzip data", 0)
                break
            budget.take(len(part))
            yield part
        if not inflater.unused_data:
            return
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


def _snappy_decompress(data, max_size: int) -> Iterator[bytes]:
    """Kafka clients send either raw snappy or snappy-java's framed stream."""
    view = memoryview(data)
    if view[:len(XERIAL_MAGIC)] == XERIAL_MAGIC:
        yield from _xerial_decompress(view, max_size)
    else:
        yield bytes(_snappy_block(view, max_size))


def _xerial_decompress(view: memoryview, max_size: int) -> Iterator[bytes]:
    pos = len(_XERIAL_HEADER)
    if len(view) < pos:
        raise DecodeError("truncated xerial snappy header", 0)
    budget = _Budget(max_size)
    while pos < len(view):
        if len(view) - pos < _INT32.size:
            raise DecodeError("truncated xerial snappy block length", pos)
        (length,) = _INT32.unpack_from(view, pos)
        pos += _INT32.size
        if not 0 <= length <= len(view) - pos:
            raise DecodeError(f"xerial snappy block of {length} bytes does not fit", pos)
        block = bytes(_snappy_block(view[pos:pos + length], budget.left))
        budget.take(len(block))
        pos += length
        yield block


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

def _lz4_compress(data, level: int | None = None) -> bytes:
    import cramjam

    # Kafka's Lz4BlockInputStream refuses frames with linked blocks (see its
    # FLG.validate), and cramjam links blocks unless told not to.
    options = {} if level is None else {"level": level}
    compressor = cramjam.lz4.Compressor(content_checksum=False, block_linked=False, **options)
    compressor.compress(data)
    return bytes(compressor.finish())


def _lz4_decompress(data, max_size: int, chunk_size: int) -> Iterator[bytes]:
    """Concatenated frames read as one stream, as lz4's own tools read them."""
    import lz4.frame

    budget = _Budget(max_size)
    rest = bytes(data)
    while True:
        inflater = lz4.frame.LZ4FrameDecompressor()
        while not inflater.eof:
            try:
                part = inflater.decompress(rest, max_length=min(chunk_size, budget.left + 1))
            except RuntimeError as exc:
                raise DecodeError(f"corrupt lz4 data: {exc}", 0) from None
            rest = b""
            if not part:
                if not inflater.eof:
                    raise DecodeError("truncated lz4 data", 0)
                break
            budget.take(len(part))
            yield part
        rest = inflater.unused_data
        if not rest:
            return


def _zstd_decompress(data, max_size: int, chunk_size: int) -> Iterator[bytes]:
    import zstandard

    # zstandard's streaming reader stops quietly where its input ends, so
    # the frames are first checked to be whole.
    _check_zstd_frames(memoryview(data))
    budget = _Budget(max_size)
    decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
    try:
        reader = decompressor.stream_reader(data, read_across_frames=True)
        while True:
            part = reader.read(min(chunk_size, budget.left + 1))
            if not part:
                return
            budget.take(len(part))
            yield part
    except zstandard.ZstdError as exc:
        raise DecodeError(f"corrupt zstd data: {exc}", 0) from None


def _check_zstd_frames(view: memoryview) -> None:
    """DecodeError unless `view` is whole zstd frames (RFC 8878, section 3.1):
    their headers and block headers are walked, not their contents."""
    pos = 0
    if not view:
        raise DecodeError("no zstd frame", 0)
    while pos < len(view):
        if len(view) - pos < 4:
            raise DecodeError("truncated zstd frame", pos)
        magic = _U32LE.unpack_from(view, pos)[0]
        if magic & 0xFFFFFFF0 == _ZSTD_SKIPPABLE:
            if len(view) - pos < 8:
                raise DecodeError("truncated zstd skippable frame", pos)
            pos += 8 + _U32LE.unpack_from(view, pos + 4)[0]
            continue
        if magic != _ZSTD_MAGIC:
            raise DecodeError("corrupt zstd data: not a zstd frame", pos)
        if len(view) - pos < 5:
            raise DecodeError("truncated zstd frame header", pos)
        descriptor = view[pos + 4]
        single_segment = descriptor >> 5 & 1
        content_size_bytes = (0, 2, 4, 8)[descriptor >> 6] or single_segment
        pos += 5 + (not single_segment) + (0, 1, 2, 4)[descriptor & 3] + content_size_bytes
        while True:
            if len(view) - pos < 3:
                raise DecodeError("truncated zstd block", pos)
            block = view[pos] | view[pos + 1] << 8 | view[pos + 2] << 16
            pos += 3 + (1 if block >> 1 & 3 == 1 else block >> 3)
            if block & 1:
                break
        pos += 4 * (descriptor >> 2 & 1)
        if pos > len(view):
            raise DecodeError("truncated zstd frame", len(view))
