"""Reads (whole batches, KIP-74, ranges), timestamp lookups, file ranges outliving deletion."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgw.log import AppendOrigin, LogError, LogManager
from protocol.error_codes import ErrorCode
from protocol.records import ControlType, Record, build_batch, build_control_batch, iter_batches

from .helpers import SMALL, make_batch, payload, read_all


@pytest.fixture
def filled(managers):
    """A small-segment partition holding 30 batches of 3 records (offsets 0..89)."""
    partition = managers().create_topic("t", 1, SMALL).partitions[0]
    sent = [make_batch(seed=i, timestamp=1_000 + 10 * i) for i in range(30)]
    for batch in sent:
        partition.append(batch)
    return partition, sent


def test_read_starts_at_the_batch_containing_the_offset(filled):
    partition, sent = filled
    for offset in range(90):
        result = partition.read(offset, 1)
        (batch,) = iter_batches(result.records.read_bytes())
        assert batch.base_offset <= offset <= batch.last_offset
        assert payload(batch.memory) == payload(sent[offset // 3])
        assert (result.high_watermark, result.log_start_offset) == (90, 0)


def test_read_returns_whole_batches_within_the_budget(filled):
    partition, sent = filled
    size = len(sent[0])
    for budget in (size, size + 1, 2 * size, 3 * size - 1, 5 * size, 10_000):
        result = partition.read(4, budget)
        records = result.records
        batches = list(iter_batches(records.read_bytes()))
        assert result.record_count == sum(b.record_count for b in batches)
        assert len(records) <= max(budget, size)
        assert batches[0].base_offset == 3
        assert [b.base_offset for b in batches] == list(range(3, 3 + 3 * len(batches), 3))
        segment_end = min(s.next_offset for s in partition._segments if s.next_offset > 4)
        # Whole batches up to the budget, or up to the end of the segment.
        assert (len(records) + size > budget) or batches[-1].last_offset + 1 == segment_end


def test_first_batch_comes_even_when_larger_than_the_budget(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    big = make_batch(value_size=5_000)
    partition.append(big)
    partition.append(make_batch(seed=1))
    records = partition.read(0, 100).records
    assert records.read_bytes() == read_all(partition)[0].memory.tobytes()
    assert len(records) == len(big)
    assert partition.read(0, 100, min_one=False).records is None


def test_offset_out_of_range(filled):
    partition, _ = filled
    for bad in (-1, 91, 10**12):
        with pytest.raises(LogError) as err:
            partition.read(bad, 1000)
        assert err.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    at_end = partition.read(90, 1000)
    assert at_end.records is None and at_end.high_watermark == 90
    partition.delete_records_before(40)
    with pytest.raises(LogError) as err:
        partition.read(39, 1000)
    assert err.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    first = next(iter_batches(partition.read(40, 1000).records.read_bytes()))
    assert first.base_offset == 39  # the batch holding offset 40 starts before it


def test_reads_in_an_empty_partition(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    result = partition.read(0, 1000)
    assert (result.records, result.high_watermark, result.log_start_offset) == (None, 0, 0)
    assert partition.offset_for_timestamp(0) is None
    assert partition.max_timestamp_entry() is None


def test_batches_from(filled):
    partition, _ = filled
    headers = list(partition.batches_from(50))
    assert [h.base_offset for h in headers] == list(range(48, 90, 3))
    assert all(h.record_count == 3 and h.producer_id == -1 for h in headers)


def test_batches_from_shows_producer_state(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    txn = build_batch([Record(0, 5, None, b"v"), Record(1, 6, None, b"w")], producer_id=42,
                      producer_epoch=3, base_sequence=0, is_transactional=True)
    partition.append(txn)
    partition.append(build_control_batch(ControlType.COMMIT, producer_id=42, producer_epoch=3,
                                         timestamp=7), AppendOrigin.REPLICATION)
    data, marker = partition.batches_from(0)
    assert (data.producer_id, data.producer_epoch, data.base_sequence) == (42, 3, 0)
    assert data.is_transactional and not data.is_control and data.last_offset == 1
    assert marker.is_control and marker.is_transactional and marker.base_offset == 2


def _brute_force_first_at_or_after(sent_records, timestamp):
    candidates = [(o, ts) for o, ts in sent_records if ts >= timestamp]
    return candidates[0] if candidates else None


@settings(max_examples=40, deadline=None)
@given(timestamps=st.lists(st.lists(st.integers(0, 500), min_size=1, max_size=5),
                           min_size=1, max_size=25),
       probes=st.lists(st.integers(-1, 520), min_size=1, max_size=10))
def test_timestamp_lookup_matches_a_brute_force_scan(tmp_path_factory, timestamps, probes):
    manager = LogManager(tmp_path_factory.mktemp("ts"))
    manager.open()
    try:
        partition = manager.create_topic("t", 1, {"internal.segment.bytes": "400",
                                                  "index.interval.bytes": "50"}).partitions[0]
        records, offset = [], 0
        for ts_list in timestamps:
            partition.append(make_batch(timestamps=ts_list, value_size=5), now_ms=1_000)
            records += [(offset + i, ts) for i, ts in enumerate(ts_list)]
            offset += len(ts_list)
        for probe in probes:
            assert partition.offset_for_timestamp(probe) == _brute_force_first_at_or_after(records, probe)
        top = max(ts for _, ts in records)
        assert partition.max_timestamp_entry() == next((o, ts) for o, ts in records if ts == top)
    finally:
        manager.close()


def test_timestamp_lookup_skips_deleted_records(managers):
    partition = managers().create_topic("t", 1).partitions[0]
    for i in range(5):
        partition.append(make_batch(timestamps=[100 * i, 100 * i + 1]))
    partition.delete_records_before(5)
    assert partition.offset_for_timestamp(0) == (5, 201)
    assert partition.offset_for_timestamp(300) == (6, 300)


def test_log_append_time_lookup(managers):
    topic = managers().create_topic("t", 1, {"message.timestamp.type": "LogAppendTime"})
    partition = topic.partitions[0]
    for now in (5_000, 6_000, 7_000):
        partition.append(make_batch(timestamp=1), now_ms=now)
    assert partition.offset_for_timestamp(5_500) == (3, 6_000)
    assert partition.max_timestamp_entry() == (6, 7_000)


def test_file_range_survives_delete_records_removing_its_segment(managers, clock):
    manager = managers()
    partition = manager.create_topic("t", 1, SMALL).partitions[0]
    for i in range(30):
        partition.append(make_batch(seed=i, timestamp=clock.ms - 10_000))
    held = partition.read(0, 1 << 20)
    expected = bytes(held.records.read_bytes())
    path = held.records.ranges[0].file.path
    partition.delete_records_before(60)
    assert not path.exists()
    assert held.records.read_bytes() == expected
    with open(os.devnull, "wb") as sink:
        r = held.records.ranges[0]
        assert os.sendfile(sink.fileno(), r.file.fd, r.position, r.length) == r.length


def test_file_range_survives_topic_deletion(managers):
    manager = managers()
    partition = manager.create_topic("t", 1).partitions[0]
    partition.append(make_batch())
    held = partition.read(0, 1000).records
    expected = held.read_bytes()
    manager.delete_topic("t")
    assert not partition.directory.exists()
    assert held.read_bytes() == expected
    with pytest.raises(LogError) as err:
        partition.read(0, 1000)
    assert err.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    fd = held.ranges[0].file.fd
    del held
    with pytest.raises(OSError):
        os.fstat(fd)
