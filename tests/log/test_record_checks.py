"""An append refuses batches whose CRC holds but whose records do not, as
Apache Kafka 4.4.0 refused the same batches (compat/reference asked it):
INVALID_RECORD with nothing written, where Kafka answers INVALID_RECORD
or, for what its validation fails on unexpectedly, UNKNOWN_SERVER_ERROR."""

import os
import subprocess
import sys
import textwrap

import pytest

from kgw.log import AppendOrigin, LogError
from kgw.log.record_checks import INFLATE_LIMIT, RecordsCheck, check_batch
from kgw.log.scan import parse_header
from protocol.compression import Codec, compress
from protocol.error_codes import ErrorCode
from protocol.records import Record, RecordBatch, build_batch

from ..test_record_walk import MALFORMED, record
from ..test_records import raw_batch

T0 = 1_700_000_000_000


def refused(partition, batch: bytes, origin=AppendOrigin.CLIENT) -> LogError:
    end = partition.log_end_offset
    with pytest.raises(LogError) as err:
        partition.append(batch, origin)
    assert partition.log_end_offset == end
    return err.value


@pytest.mark.parametrize("codec", [Codec.NONE, Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_records_are_refused_and_nothing_is_written(managers, case, codec):
    partition = managers().create_topic("t", 1).partitions[0]
    records, count, says = MALFORMED[case]
    error = refused(partition, raw_batch(compress(codec, records), count, int(codec)))
    assert error.code == ErrorCode.INVALID_RECORD
    assert says in error.message
    # The partition goes on taking good batches, from offset 0.
    assert partition.append(build_batch([Record(0, T0, None, b"ok")])).base_offset == 0


def test_a_count_of_2_31_minus_1_does_not_move_the_log_end(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    partition.append(build_batch([Record(0, T0, None, b"a")]))
    error = refused(partition, raw_batch(record(), 2**31 - 1))
    assert error.code == ErrorCode.INVALID_RECORD
    assert partition.append(build_batch([Record(0, T0, None, b"b")])).base_offset == 1


@pytest.mark.parametrize("codec_id", [5, 6, 7])
def test_an_unknown_codec_is_an_invalid_record(managers, codec_id):
    partition = managers().create_topic("t", 1).partitions[0]
    error = refused(partition, raw_batch(record(), 1, codec_id))
    # Kafka 4.4: UNKNOWN_SERVER_ERROR ("Unknown compression type id: 7").
    assert error.code == ErrorCode.INVALID_RECORD
    assert f"unknown compression codec {codec_id}" in error.message


@pytest.mark.parametrize("codec", [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_payload_that_does_not_inflate_is_an_invalid_record(managers, codec, damage):
    partition = managers().create_topic("t", 1).partitions[0]
    good = compress(codec, b"".join(record(offset=i, value=b"v" * 50) for i in range(50)))
    payload = b"\x13\x37 not compressed" * 4 if damage == "garbage" else good[:-8]
    error = refused(partition, raw_batch(payload, 50, int(codec)))
    # Kafka 4.4: UNKNOWN_SERVER_ERROR (KafkaException from its decompressor).
    assert error.code == ErrorCode.INVALID_RECORD


def test_a_record_longer_than_max_decompressed_message_bytes_is_refused(managers):
    partition = managers().create_topic(
        "t", 1, {"max.decompressed.message.bytes": "1000"}).partitions[0]
    big = build_batch([Record(0, T0, None, b"x" * 5000)], codec=Codec.LZ4)
    error = refused(partition, big)
    assert error.code == ErrorCode.INVALID_RECORD
    assert "max.decompressed.message.bytes" in error.message
    # As in Kafka, the limit is on compressed batches' records only.
    assert partition.append(build_batch([Record(0, T0, None, b"x" * 5000)])).base_offset == 0


def test_a_bomb_past_the_inflate_limit_is_message_too_large(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    bomb = build_batch([Record(0, T0, None, bytes(INFLATE_LIMIT + 1))], codec=Codec.ZSTD)
    assert len(bomb) < 1 << 20
    error = refused(partition, bomb)
    assert error.code == ErrorCode.MESSAGE_TOO_LARGE
    assert "inflates past" in error.message


def test_every_origin_is_checked(managers):
    # A transaction marker or a tool's append is the broker's own, but a
    # malformed one would break consumers all the same.
    partition = managers().create_topic("t", 1).partitions[0]
    for origin in AppendOrigin:
        assert refused(partition, raw_batch(record(), 2), origin).code == ErrorCode.INVALID_RECORD


def test_the_check_walks_a_budget_at_a_time(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    batch = build_batch([Record(i, T0, None, b"v" * 1000) for i in range(3000)], codec=Codec.GZIP)
    checked = partition.check(batch)
    assert not checked.run(64 << 10)
    with pytest.raises(ValueError, match="not been checked through"):
        partition.append_checked(checked)
    assert checked.run(None)
    assert partition.append_checked(checked).last_offset == 2999


def test_check_batch_is_what_the_tools_share():
    good = build_batch([Record(i, T0 + i, None, b"v") for i in range(3)], codec=Codec.SNAPPY)
    header = parse_header(good, 0, 0)
    summary = check_batch(memoryview(good), header)
    assert (summary.records, summary.min_timestamp_delta, summary.max_timestamp_delta) == (3, 0, 2)
    bad = raw_batch(record() + record(), 2)
    with pytest.raises(LogError, match="offset delta 0 where 1 was due"):
        check_batch(memoryview(bad), parse_header(bad, 0, 0))


def test_records_check_needs_no_log(managers):
    batch = build_batch([Record(0, T0, b"k", b"v")])
    headers = [parse_header(batch, 0, 0)]
    assert RecordsCheck(memoryview(batch), headers, 0).run(None)
    assert RecordBatch(batch).records()[0].value == b"v"


# Each codec's bomb: one valid record whose value is 200 MiB of zeros,
# made without holding it (zlib streams; the others compress a run of
# zeros that their format repeats).
BOMB = textwrap.dedent("""
    import resource, sys, zlib
    from kgw.log import record_checks
    from kgw.log.scan import parse_header
    from protocol.compression import Codec
    from protocol.primitives import write_varint
    from protocol.records import build_batch, Record
    from tests.test_records import raw_batch

    size = 200 << 20
    head = bytes([0, 0, 0, 1]) + write_varint(size)
    body_length = len(head) + size + 1
    prefix = write_varint(body_length) + head
    codec = Codec[sys.argv[1]]
    if codec is Codec.GZIP:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [packer.compress(prefix)]
        zeros = bytes(1 << 20)
        for _ in range(size >> 20):
            parts.append(packer.compress(zeros))
        parts.append(packer.compress(b"\\x00") + packer.flush())
        payload = b"".join(parts)
    elif codec is Codec.ZSTD:
        import zstandard
        packer = zstandard.ZstdCompressor(level=3).compressobj()
        zeros = bytes(1 << 20)
        parts = [packer.compress(prefix)] + [packer.compress(zeros) for _ in range(size >> 20)]
        payload = b"".join(parts) + packer.compress(b"\\x00") + packer.flush()
    else:
        import lz4.frame
        packer = lz4.frame.LZ4FrameCompressor(block_linked=False)
        zeros = bytes(1 << 20)
        parts = [packer.begin(), packer.compress(prefix)]
        parts += [packer.compress(zeros) for _ in range(size >> 20)]
        payload = b"".join(parts) + packer.compress(b"\\x00") + packer.flush()
    batch = memoryview(raw_batch(payload, 1, int(codec)))
    del parts, payload
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record_checks.INFLATE_LIMIT = 1 << 30
    summary = record_checks.check_batch(batch, parse_header(batch, 0, 0))
    assert summary.size == len(prefix) + size + 1, summary
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(len(batch), before, after)
""")


@pytest.mark.parametrize("codec", ["GZIP", "ZSTD", "LZ4"])
def test_walking_a_bomb_holds_a_chunk_not_its_inflated_size(codec):
    # In a child of its own, so that its peak RSS is the walk's: 200 MiB
    # inflated (with the limit raised past it) must cost a few MiB.
    done = subprocess.run([sys.executable, "-c", BOMB, codec], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), timeout=300)
    assert done.returncode == 0, done.stderr
    compressed, before_kib, after_kib = map(int, done.stdout.split())
    assert compressed < 1 << 20
    assert after_kib - before_kib < 32 << 10, (before_kib, after_kib)
