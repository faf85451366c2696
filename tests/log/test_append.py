"""Append: offsets, patching, LogAppendTime, rolls, and every refusal writing nothing."""

import errno
import os
import struct

import pytest

from kgw.log import AppendOrigin, LogError
from kgw.log.errors import RecordValidationError
from protocol.compression import Codec
from protocol.error_codes import ErrorCode
from protocol.records import Record, RecordBatch, build_batch, build_control_batch

from .helpers import SMALL, make_batch, payload, read_all, segment_files


def test_offsets_are_assigned_densely_and_bytes_kept(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    sent = [make_batch(count=n, seed=n) for n in (1, 5, 2, 7)]
    results = [partition.append(b) for b in sent]
    assert [(r.base_offset, r.last_offset) for r in results] == [(0, 0), (1, 5), (6, 7), (8, 14)]
    assert all(r.log_append_time_ms == -1 and r.log_start_offset == 0 for r in results)
    assert partition.log_end_offset == partition.high_watermark == 15
    stored = read_all(partition)
    assert [b.base_offset for b in stored] == [0, 1, 6, 8]
    assert [payload(b.memory) for b in stored] == [payload(b) for b in sent]
    assert all(b.crc_ok() and b.partition_leader_epoch == 0 for b in stored)


def test_producer_base_offset_and_epoch_are_overwritten(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    partition.append(make_batch())
    result = partition.append(make_batch(base_offset=999, partition_leader_epoch=7))
    batch = read_all(partition)[1]
    assert (result.base_offset, batch.base_offset, batch.partition_leader_epoch) == (3, 3, 0)


def test_log_append_time_rewrites_max_timestamp_and_keeps_crc_valid(managers):
    topic = managers().create_topic("t", 1, {"message.timestamp.type": "LogAppendTime"})
    result = topic.partitions[0].append(make_batch(timestamp=5), now_ms=123_456)
    assert result.log_append_time_ms == 123_456
    (batch,) = read_all(topic.partitions[0])
    assert batch.crc_ok()
    assert batch.max_timestamp == 123_456
    assert [r.timestamp for r in batch.records()] == [123_456] * 3


def test_client_appends_carry_one_batch_but_the_broker_may_write_several(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    two = make_batch(seed=1) + make_batch(seed=2)
    with pytest.raises(LogError) as err:
        partition.append(two)
    assert err.value.code == ErrorCode.INVALID_RECORD
    result = partition.append(two, AppendOrigin.REPLICATION)
    assert (result.base_offset, result.last_offset) == (0, 5)
    assert [b.base_offset for b in read_all(partition)] == [0, 3]


def test_control_batches_only_from_the_broker(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    marker = build_control_batch(1, producer_id=5, producer_epoch=0, timestamp=1)
    with pytest.raises(LogError) as err:
        partition.append(marker)
    assert err.value.code == ErrorCode.INVALID_RECORD
    assert partition.append(marker, AppendOrigin.REPLICATION).base_offset == 0


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


def _with_header(data: bytes, fmt: str, at: int, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def _legacy_message(magic: int) -> bytes:
    # offset, size, crc, magic, attributes, [timestamp,] key -1, value "x"
    body = struct.pack(">bb", magic, 0) + (struct.pack(">q", 0) if magic else b"")
    body += struct.pack(">i", -1) + struct.pack(">i", 1) + b"x"
    return struct.pack(">qi", 0, 4 + len(body)) + b"\0\0\0\0" + body


GOOD = make_batch()
REFUSALS = [
    ("flipped payload byte", _flip(GOOD, len(GOOD) - 1), ErrorCode.CORRUPT_MESSAGE),
    ("flipped crc", _flip(GOOD, 18), ErrorCode.CORRUPT_MESSAGE),
    ("truncated batch", GOOD[:-5], ErrorCode.CORRUPT_MESSAGE),
    ("trailing partial batch", GOOD + GOOD[:30], ErrorCode.CORRUPT_MESSAGE),
    ("length too small", _with_header(GOOD, ">i", 8, 20), ErrorCode.CORRUPT_MESSAGE),
    ("eleven bytes", GOOD[:11], ErrorCode.CORRUPT_MESSAGE),
    ("empty", b"", ErrorCode.INVALID_RECORD),
    ("magic 1", _legacy_message(1), ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
    ("magic 0", _legacy_message(0), ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
    ("unknown magic 3", _with_header(GOOD, ">b", 16, 3), ErrorCode.CORRUPT_MESSAGE),
    ("sequence without producer sequence",
     build_batch([Record(0, 1, None, b"v")], producer_id=7, producer_epoch=0, base_sequence=-1),
     ErrorCode.INVALID_RECORD),
]


@pytest.mark.parametrize("data,code", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refused_batches_write_nothing(managers, data, code):
    partition = managers().create_topic("t", 1).partitions[0]
    partition.append(GOOD)
    before = os.path.getsize(partition.active.path)
    with pytest.raises(LogError) as err:
        partition.append(data)
    assert err.value.code == code
    assert os.path.getsize(partition.active.path) == before
    assert partition.log_end_offset == 3
    assert partition.append(GOOD).base_offset == 3


def _resealed(data: bytes, fmt: str, at: int, value) -> bytes:
    """A header field changed and the CRC recomputed, so only the field is wrong."""
    out = bytearray(_with_header(data, fmt, at, value))
    struct.pack_into(">I", out, 17, RecordBatch(out).compute_crc())
    return bytes(out)


@pytest.mark.parametrize("field,fmt,at,value", [
    ("record count 0", ">i", 57, 0),
    ("count disagrees with last offset delta", ">i", 57, 2),
    ("negative last offset delta", ">i", 23, -1),
])
def test_inconsistent_counts_are_invalid_records(managers, field, fmt, at, value):
    partition = managers().create_topic("t", 1).partitions[0]
    with pytest.raises(LogError) as err:
        partition.append(_resealed(GOOD, fmt, at, value))
    assert err.value.code == ErrorCode.INVALID_RECORD
    assert partition.log_end_offset == 0 and partition.size_bytes == 0


def test_batches_above_max_message_bytes_are_too_large(managers):
    topic = managers().create_topic("t", 1, {"max.message.bytes": "500"})
    small, big = make_batch(value_size=10), make_batch(value_size=400)
    assert len(small) <= 500 < len(big)
    topic.partitions[0].append(small)
    with pytest.raises(LogError) as err:
        topic.partitions[0].append(big)
    assert err.value.code == ErrorCode.MESSAGE_TOO_LARGE
    assert topic.partitions[0].log_end_offset == 3


def test_records_larger_than_a_segment_are_refused(managers):
    topic = managers().create_topic("t", 1, {"internal.segment.bytes": "300"})
    with pytest.raises(LogError) as err:
        topic.partitions[0].append(make_batch(value_size=200))
    assert err.value.code == ErrorCode.RECORD_LIST_TOO_LARGE


def test_create_time_bounds(managers, clock):
    topic = managers().create_topic("t", 1, {"message.timestamp.before.max.ms": "1000"})
    partition = topic.partitions[0]
    now = clock.ms
    partition.append(make_batch(timestamp=now - 500), now_ms=now)
    for ts in (now + 3_600_001, now - 1001):
        with pytest.raises(LogError) as err:
            partition.append(make_batch(timestamps=[now, ts]), now_ms=now)
        assert err.value.code == ErrorCode.INVALID_TIMESTAMP
    assert partition.log_end_offset == 3


def test_a_compacted_topic_takes_only_records_with_keys(managers):
    """Kafka's LogValidator.validateKey: INVALID_RECORD for a client's record
    without a key in a compacted topic, whatever else the batch holds."""
    log = managers()
    partition = log.create_topic("t", 1, {"cleanup.policy": "compact,delete"}).partitions[0]
    keyless = build_batch([Record(0, 1_000, b"k0", b"v"), Record(1, 1_000, None, b"v")], codec=Codec.GZIP)
    with pytest.raises(LogError) as err:
        partition.append(keyless)
    assert err.value.code == ErrorCode.INVALID_RECORD
    assert partition.log_end_offset == 0
    assert partition.append(make_batch()).base_offset == 0
    # The broker's own appends (markers, replication) are not checked.
    assert partition.append(keyless, AppendOrigin.REPLICATION).base_offset == 3
    plain = log.create_topic("p", 1).partitions[0]
    assert plain.append(keyless).base_offset == 0


def test_segments_roll_by_size_and_keep_offsets(managers):
    partition = managers().create_topic("t", 1, SMALL).partitions[0]
    for i in range(40):
        partition.append(make_batch(seed=i))
    names = segment_files(partition)
    assert len(names) == partition.segment_count >= 4
    assert all(os.path.getsize(partition.directory / n) <= 1500 for n in names)
    bases = [int(n[:20]) for n in names]
    assert bases[0] == 0 and bases == sorted(bases)
    stored = read_all(partition)
    assert [b.base_offset for b in stored] == list(range(0, 120, 3))
    for name in names[1:]:
        first = RecordBatch(open(partition.directory / name, "rb").read())
        assert first.base_offset == int(name[:20])


def test_segments_roll_by_age_of_first_timestamp(managers):
    partition = managers().create_topic("t", 1, {"segment.ms": "1000"}).partitions[0]
    partition.append(make_batch(timestamp=10_000))
    partition.append(make_batch(timestamp=10_900))
    assert partition.segment_count == 1
    partition.append(make_batch(timestamp=11_001))
    assert partition.segment_count == 2
    assert partition.active.base_offset == 6


class _FailingWrite:
    """os.pwritev that writes the first half of the next append, then fails (disk full)."""

    def __init__(self, real, err=errno.ENOSPC):
        self.real, self.err, self.armed = real, err, True

    def __call__(self, fd, buffers, position):
        data = b"".join(buffers)
        if self.armed and len(data) > 100:
            self.armed = False
            self.real(fd, [data[:len(data) // 2]], position)
            raise OSError(self.err, os.strerror(self.err))
        return self.real(fd, buffers, position)


def test_io_error_truncates_back_and_later_appends_work(managers, monkeypatch):
    partition = managers().create_topic("t", 1).partitions[0]
    first = make_batch(seed=1)
    partition.append(first)
    size = os.path.getsize(partition.active.path)
    monkeypatch.setattr(os, "pwritev", _FailingWrite(os.pwritev))
    with pytest.raises(LogError) as err:
        partition.append(make_batch(seed=2))
    assert err.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    assert os.path.getsize(partition.active.path) == size
    assert partition.log_end_offset == 3 and partition.offline is None
    third = make_batch(seed=3)
    assert partition.append(third).base_offset == 3
    assert [payload(b.memory) for b in read_all(partition)] == [payload(first), payload(third)]


def test_short_writes_are_completed(managers, monkeypatch):
    real = os.pwritev
    monkeypatch.setattr(os, "pwritev", lambda fd, bufs, pos: real(fd, [b"".join(bufs)[:7]], pos))
    partition = managers().create_topic("t", 1).partitions[0]
    sent = make_batch(value_size=100)
    partition.append(sent)
    monkeypatch.undo()
    assert [payload(b.memory) for b in read_all(partition)] == [payload(sent)]


def test_appends_after_storage_error_survive_restart(managers, monkeypatch):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(make_batch(seed=1))
    monkeypatch.setattr(os, "pwritev", _FailingWrite(os.pwritev, errno.EIO))
    with pytest.raises(LogError):
        partition.append(make_batch(seed=2))
    partition.append(make_batch(seed=3))
    monkeypatch.undo()
    manager.close()
    partition = managers().partition("t", 0)
    assert [b.base_offset for b in read_all(partition)] == [0, 3]



@pytest.mark.parametrize("policy", ["compact", "delete,compact"])
@pytest.mark.parametrize("codec", [Codec.NONE, Codec.ZSTD])
def test_a_compacted_topic_refuses_records_without_a_key(managers, policy, codec):
    """Kafka's LogValidator: every record without a key is an error of its
    own (an empty key is a key), and the batch is not written."""
    partition = managers().create_topic("c", 1, {"cleanup.policy": policy}).partitions[0]
    keys = [b"k", None, b"", None, None, None]
    batch = build_batch([Record(i, 1_000, key, b"v") for i, key in enumerate(keys)], codec=codec)
    with pytest.raises(RecordValidationError) as err:
        partition.append(batch)
    why = "Compacted topic cannot accept message without key in topic partition c-0"
    assert err.value.code == ErrorCode.INVALID_RECORD
    assert err.value.record_errors == [(i, why) for i in (1, 3, 4, 5)]
    assert err.value.message == (
        "One or more records have been rejected due to 4 record errors in total, and only showing the "
        f"first three errors at most: [RecordError(batchIndex=1, message='{why}'), "
        f"RecordError(batchIndex=3, message='{why}'), RecordError(batchIndex=4, message='{why}')]")
    assert partition.log_end_offset == 0
    keyed = build_batch([Record(i, 1_000, b"k%d" % i, None) for i in range(2)], codec=codec)
    assert partition.append(keyed).base_offset == 0


def test_a_topic_that_only_deletes_takes_records_without_a_key(managers):
    partition = managers().create_topic("d", 1).partitions[0]
    assert partition.append(build_batch([Record(0, 1_000, None, b"v")])).base_offset == 0
