"""The batch codecs: round trips, interop with the clients' codecs, bombs, corruption.

aiokafka's codec module (over cramjam, like ours) and kafka-python's
(stdlib gzip; snappy only with python-snappy) are the independent oracles.
"""

import gzip
import struct
import types

import aiokafka.codec as aiokafka_codec
import cramjam
import kafka.codec as kafka_codec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.compression import (
    CHUNK_SIZE, DEFAULT_MAX_SIZE, XERIAL_MAGIC, Codec, compress, decompress, inflate_chunks,
)
from protocol.errors import DecodeError

COMPRESSED = [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]
TEXT = b"".join(b"record %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(3000))

AIOKAFKA_DECODE = {
    Codec.GZIP: aiokafka_codec.gzip_decode,
    Codec.SNAPPY: aiokafka_codec.snappy_decode,
    Codec.LZ4: aiokafka_codec.lz4_decode,
    Codec.ZSTD: aiokafka_codec.zstd_decode,
}
AIOKAFKA_ENCODE = {
    Codec.GZIP: aiokafka_codec.gzip_encode,
    Codec.SNAPPY: aiokafka_codec.snappy_encode,
    Codec.LZ4: aiokafka_codec.lz4_encode,
    Codec.ZSTD: aiokafka_codec.zstd_encode,
}


def test_codec_ids_are_kafkas():
    assert [(c.name, int(c)) for c in Codec] == [
        ("NONE", 0), ("GZIP", 1), ("SNAPPY", 2), ("LZ4", 3), ("ZSTD", 4)]


@pytest.mark.parametrize("codec", list(Codec))
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000))
def test_round_trip(codec, data):
    assert decompress(codec, compress(codec, data)) == data


@pytest.mark.parametrize("codec", COMPRESSED)
def test_our_output_decodes_in_aiokafka(codec):
    packed = compress(codec, TEXT)
    assert len(packed) < len(TEXT) // 3
    assert AIOKAFKA_DECODE[codec](packed) == TEXT


@pytest.mark.parametrize("codec", COMPRESSED)
def test_aiokafka_output_decodes_here(codec):
    assert decompress(codec, AIOKAFKA_ENCODE[codec](TEXT)) == TEXT


def test_gzip_interop_with_kafka_python_and_stdlib():
    assert kafka_codec.gzip_decode(compress(Codec.GZIP, TEXT)) == TEXT
    assert decompress(Codec.GZIP, kafka_codec.gzip_encode(TEXT)) == TEXT
    assert gzip.decompress(compress(Codec.GZIP, TEXT)) == TEXT


def test_gzip_concatenated_members_read_as_one_stream():
    # Java's GZIPInputStream reads on into the next member.
    assert decompress(Codec.GZIP, gzip.compress(b"abc") + gzip.compress(b"def")) == b"abcdef"


def test_snappy_raw_and_xerial_both_decode():
    raw = bytes(cramjam.snappy.compress_raw(TEXT))
    xerial = aiokafka_codec.snappy_encode(TEXT, xerial_compatible=True)
    assert xerial.startswith(XERIAL_MAGIC) and not raw.startswith(XERIAL_MAGIC)
    assert decompress(Codec.SNAPPY, raw) == TEXT
    assert decompress(Codec.SNAPPY, xerial) == TEXT


def test_snappy_output_is_xerial_framed_in_32k_blocks():
    packed = compress(Codec.SNAPPY, TEXT)
    assert packed[:16] == XERIAL_MAGIC + struct.pack(">ii", 1, 1)
    pos, sizes = 16, []
    while pos < len(packed):
        (length,) = struct.unpack_from(">i", packed, pos)
        sizes.append(len(cramjam.snappy.decompress_raw(packed[pos + 4:pos + 4 + length])))
        pos += 4 + length
    assert pos == len(packed)
    assert sum(sizes) == len(TEXT) and max(sizes) == 32 * 1024


def test_empty_xerial_stream_is_empty():
    assert decompress(Codec.SNAPPY, compress(Codec.SNAPPY, b"")) == b""


def test_our_snappy_decodes_in_kafka_pythons_xerial_reader(monkeypatch):
    # kafka-python parses the xerial framing itself and hands each block to
    # python-snappy, absent here: cramjam stands in for that block codec.
    if not kafka_codec.has_snappy():
        block_codec = types.SimpleNamespace(decompress=lambda b: bytes(cramjam.snappy.decompress_raw(b)))
        monkeypatch.setattr(kafka_codec, "snappy", block_codec)
    packed = compress(Codec.SNAPPY, TEXT)
    assert kafka_codec._detect_xerial_stream(packed)
    assert kafka_codec.snappy_decode(packed) == TEXT


def test_lz4_frame_is_what_kafkas_java_reader_accepts():
    packed = compress(Codec.LZ4, TEXT)
    assert packed[:4] == b"\x04\x22\x4d\x18"  # LZ4 frame magic, little-endian
    flg, bd = packed[4], packed[5]
    assert flg >> 6 == 1  # frame version 01
    assert flg & 0x20  # independent blocks: Lz4BlockInputStream refuses linked ones
    assert flg & 0x03 == 0 and bd & 0x8F == 0  # reserved bits clear
    assert 4 <= (bd >> 4) & 7 <= 7  # a block size Kafka knows


@pytest.mark.parametrize("codec", [Codec.LZ4, Codec.ZSTD, Codec.GZIP, Codec.SNAPPY])
def test_output_far_larger_than_a_chunk(codec):
    data = bytes(6 << 20) + TEXT
    assert decompress(codec, compress(codec, data)) == data


@pytest.mark.parametrize("codec", COMPRESSED)
def test_bomb_stops_at_max_size(codec):
    data = bytes(4 << 20)
    packed = compress(codec, data)
    assert len(packed) < 300 << 10
    with pytest.raises(DecodeError, match="limit"):
        decompress(codec, packed, max_size=(1 << 20))
    assert decompress(codec, packed, max_size=len(data)) == data
    with pytest.raises(DecodeError):
        decompress(codec, packed, max_size=len(data) - 1)


@pytest.mark.parametrize("codec", COMPRESSED)
def test_inflating_is_streamed_a_chunk_at_a_time(codec):
    data = bytes(3 << 20) + TEXT
    chunks = inflate_chunks(codec, compress(codec, data), max_size=len(data))
    sizes = []
    joined = bytearray()
    for chunk in chunks:
        sizes.append(len(chunk))
        joined += chunk
    assert joined == data
    assert max(sizes) <= CHUNK_SIZE and len(sizes) >= len(data) // CHUNK_SIZE


@pytest.mark.parametrize("codec", COMPRESSED)
def test_a_bomb_is_stopped_after_max_size_without_inflating_the_rest(codec):
    chunks = inflate_chunks(codec, compress(codec, bytes(8 << 20)), max_size=1 << 20)
    inflated = 0
    with pytest.raises(DecodeError, match="limit"):
        for chunk in chunks:
            inflated += len(chunk)
    assert inflated <= 1 << 20


def test_raw_snappy_claiming_a_huge_size_is_refused_before_inflating():
    claims_2gib = b"\x80\x80\x80\x80\x08" + b"\x00" * 8
    with pytest.raises(DecodeError, match="claims 2147483648 bytes"):
        decompress(Codec.SNAPPY, claims_2gib)
    # Zeros are snappy's best case, close to the 64/3 ratio the check allows.
    zeros = bytes(cramjam.snappy.compress_raw(bytes(1 << 20)))
    assert len(zeros) * 21 < 1 << 20
    assert decompress(Codec.SNAPPY, zeros) == bytes(1 << 20)


def test_uncompressed_is_bounded_too():
    with pytest.raises(DecodeError):
        decompress(Codec.NONE, b"x" * 11, max_size=10)
    assert decompress(Codec.NONE, memoryview(b"abc")) == b"abc"


def test_default_limit():
    assert DEFAULT_MAX_SIZE == 256 << 20


@pytest.mark.parametrize("codec_id", [5, 6, 7, -1])
def test_unknown_codec_is_a_decode_error(codec_id):
    with pytest.raises(DecodeError, match="codec"):
        decompress(codec_id, b"anything")


@pytest.mark.parametrize("codec", COMPRESSED)
@pytest.mark.parametrize("cut", [0, 1, 5, 17, -1])
def test_truncated_stream_is_a_decode_error(codec, cut):
    packed = compress(codec, TEXT)
    with pytest.raises(DecodeError):
        decompress(codec, packed[:cut])


@pytest.mark.parametrize("tail", [b"\x00\x00", b"\xff\xff\xff\xff", b"\x00\x00\x01\x00abc",
                                  b"\x7f\xff\xff\xff" + b"x" * 10])
def test_bad_xerial_block_is_a_decode_error(tail):
    with pytest.raises(DecodeError):
        decompress(Codec.SNAPPY, compress(Codec.SNAPPY, b"hello") + tail)


def test_truncated_xerial_header():
    with pytest.raises(DecodeError):
        decompress(Codec.SNAPPY, XERIAL_MAGIC + b"\x00\x00")


@pytest.mark.parametrize("codec", list(Codec))
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(codec, data):
    try:
        decompress(codec, data, max_size=1 << 20)
    except DecodeError:
        pass


@pytest.mark.parametrize("codec", COMPRESSED)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_damaged_streams_raise_only_decode_error(codec, data):
    packed = bytearray(compress(codec, TEXT[:2000]))
    for _ in range(data.draw(st.integers(1, 4))):
        packed[data.draw(st.integers(0, len(packed) - 1))] = data.draw(st.integers(0, 255))
    packed = packed[:data.draw(st.integers(0, len(packed)))]
    try:
        decompress(codec, bytes(packed), max_size=1 << 20)
    except DecodeError:
        pass
