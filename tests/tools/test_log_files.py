"""`kgw log dump` and `kgw log check` on data directories written by kgw's log."""

import json
import os
import shutil
import struct

import pytest
from click.testing import CliRunner

from kgw.cli import main
from kgw.log import AppendOrigin, LogManager
from protocol.compression import Codec
from protocol.records import ControlType, Record, RecordBatch, build_batch, build_control_batch

from ..log.helpers import SMALL, Clock, make_batch

NOW = 1_700_000_000_000


def kgw(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="kgw")


def _write(data_dir, batches_by_topic: dict, configs=None) -> None:
    """Create each topic with one partition, append the batches, close cleanly."""
    manager = LogManager(data_dir, clock=Clock(NOW))
    manager.open()
    for name, batches in batches_by_topic.items():
        partition = manager.create_topic(name, 1, configs).partitions[0]
        for batch in batches:
            partition.append(batch)
    manager.close()


def _segments(directory, suffix=".log"):
    return sorted(directory / name for name in os.listdir(directory) if name.endswith(suffix))


def _summary(data_dir, topics, partitions, problems="no problems"):
    logs = [p for d in data_dir.iterdir() if d.is_dir() for p in _segments(d)]
    batches = 0
    for path in logs:
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            pos += RecordBatch(data, pos).size
            batches += 1
    size = sum(p.stat().st_size for p in logs)
    return (f"checked {topics} topic(s), {partitions} partition(s), {len(logs)} segment(s), "
            f"{batches} batch(es), {size} bytes: {problems}\n")


@pytest.fixture
def small_log(tmp_path):
    """One partition of several segments with sparse index entries."""
    data = tmp_path / "data"
    _write(data, {"t": [make_batch(3, NOW + 10 * i, seed=i) for i in range(30)]}, SMALL)
    assert len(_segments(data / "t-0")) > 2
    return data


def test_dump_prints_batches_and_records(tmp_path):
    records = [Record(0, NOW, b"key", b"value", [("h", b"1"), ("bin", b"\x00\xff")]),
               Record(1, NOW + 5, None, b"\xff\xfe", []),
               Record(2, NOW + 2, b"k", None, [("empty", None)])]
    batch = build_batch(records, codec=Codec.GZIP)
    _write(tmp_path / "data", {"d": [batch]})
    crc = RecordBatch(batch).crc
    segment = tmp_path / "data" / "d-0" / "00000000000000000000.log"
    result = kgw("log", "dump", segment)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"Dumping {segment}\n"
        f"baseOffset: 0 lastOffset: 2 count: 3 position: 0 size: {len(batch)} "
        f"CreateTime: {NOW + 5} codec: gzip crc: {crc:#010x} valid: true producerId: -1 "
        f"producerEpoch: -1 baseSequence: -1 leaderEpoch: 0 transactional: false control: false\n"
        f'| offset: 0 CreateTime: {NOW} key: "key" value: "value" headers: {{"h": "1", "bin": 0x00ff}}\n'
        f'| offset: 1 CreateTime: {NOW + 5} key: null value: 0xfffe headers: {{}}\n'
        f'| offset: 2 CreateTime: {NOW + 2} key: "k" value: null headers: {{"empty": null}}\n')
    brief = kgw("log", "dump", "--no-records", segment)
    assert brief.stdout == "\n".join(result.stdout.splitlines()[:2]) + "\n"


def test_dump_names_transaction_markers(tmp_path):
    data = build_batch([Record(0, NOW, None, b"in a txn")], producer_id=7, producer_epoch=2,
                       base_sequence=0, is_transactional=True)
    manager = LogManager(tmp_path / "data", clock=Clock(NOW))
    manager.open()
    partition = manager.create_topic("x", 1).partitions[0]
    partition.append(data)
    for kind in (ControlType.ABORT, ControlType.COMMIT):
        partition.append(build_control_batch(kind, producer_id=7, producer_epoch=2, timestamp=NOW + 1,
                                             coordinator_epoch=5), AppendOrigin.REPLICATION)
    manager.close()
    out = kgw("log", "dump", tmp_path / "data" / "x-0").stdout.splitlines()
    assert [line for line in out if line.startswith("| ")] == [
        f'| offset: 0 CreateTime: {NOW} key: null value: "in a txn" headers: {{}}',
        f"| offset: 1 CreateTime: {NOW + 1} endTxnMarker: ABORT coordinatorEpoch: 5",
        f"| offset: 2 CreateTime: {NOW + 1} endTxnMarker: COMMIT coordinatorEpoch: 5"]
    assert [" transactional: true control: true" in line for line in out if line.startswith("base")] == [
        False, True, True]


@pytest.mark.parametrize("codec", list(Codec))
def test_dump_names_every_codec(tmp_path, codec):
    _write(tmp_path / "data", {"c": [build_batch([Record(0, NOW, None, b"payload")], codec=codec)]})
    out = kgw("log", "dump", tmp_path / "data" / "c-0").stdout
    assert f" codec: {codec.name.lower()} " in out
    assert out.endswith(f'| offset: 0 CreateTime: {NOW} key: null value: "payload" headers: {{}}\n')


def test_dump_a_partition_directory_walks_its_segments_in_order(small_log):
    result = kgw("log", "dump", "--no-records", small_log / "t-0")
    assert result.exit_code == 0
    dumped = [line.removeprefix("Dumping ") for line in result.stdout.splitlines()
              if line.startswith("Dumping ")]
    assert dumped == [str(p) for p in _segments(small_log / "t-0")]
    bases = [int(line.split()[1]) for line in result.stdout.splitlines()
             if line.startswith("baseOffset")]
    assert bases == list(range(0, 90, 3))


def test_dump_reports_a_crc_mismatch_and_goes_on(tmp_path):
    _write(tmp_path / "data", {"d": [make_batch(2, NOW), make_batch(2, NOW + 1)]})
    segment = tmp_path / "data" / "d-0" / "00000000000000000000.log"
    data = bytearray(segment.read_bytes())
    first = RecordBatch(data)
    data[first.size - 1] ^= 0xFF
    segment.write_bytes(data)
    computed = RecordBatch(data).compute_crc()
    result = kgw("log", "dump", "--no-records", segment)
    assert result.exit_code == 1
    assert result.stderr == f"Error: 1 problem(s) in {segment}\n"
    lines = result.stdout.splitlines()
    assert " valid: false " in lines[1]
    assert lines[2] == (f"problem at position 0: CRC mismatch: stored {first.crc:#010x}, "
                        f"computed {computed:#010x}")
    assert lines[3].startswith(f"baseOffset: 2 lastOffset: 3 count: 2 position: {first.size} ")


def test_dump_stops_at_a_torn_batch(tmp_path):
    _write(tmp_path / "data", {"d": [make_batch(2, NOW), make_batch(2, NOW + 1)]})
    segment = tmp_path / "data" / "d-0" / "00000000000000000000.log"
    data = segment.read_bytes()
    first = RecordBatch(data).size
    segment.write_bytes(data[:first + 20])
    result = kgw("log", "dump", segment)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        f"problem at position {first}: a {len(data) - first}-byte batch is cut off after 20 bytes")


def test_dump_of_something_without_segments(tmp_path):
    result = kgw("log", "dump", tmp_path)
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {tmp_path} holds no segment file (<20-digit offset>.log)\n")


def test_check_a_clean_directory(small_log):
    _write(small_log.parent / "other", {"a": [make_batch()], "b": []})
    for data in (small_log, small_log.parent / "other"):
        result = kgw("log", "check", data)
        topics = len(os.listdir(data / "topics"))
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == _summary(data, topics, topics)


def _check(data, problems):
    result = kgw("log", "check", data)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {problems} problem(s) in {data}\n"
    return result.stdout.splitlines()


def test_check_finds_a_crc_mismatch(tmp_path):
    data = tmp_path / "data"
    _write(data, {"d": [make_batch(2, NOW), make_batch(2, NOW + 1), make_batch(2, NOW + 2)]})
    segment = data / "d-0" / "00000000000000000000.log"
    raw = bytearray(segment.read_bytes())
    raw[RecordBatch(raw).size - 1] ^= 1
    segment.write_bytes(raw)
    assert _check(data, 2) == [
        f"{segment}: CRC mismatch in the batch at offset 0 (position 0)",
        # The time index names the batch with the largest timestamp, now unreachable.
        f"{segment.with_suffix('.timeindex')}: entry 0 (offset 5) points past the valid data",
        f"checked 1 topic(s), 1 partition(s), 1 segment(s), 0 batch(es), {len(raw)} bytes: "
        "2 problem(s)",
    ]


def test_check_finds_a_torn_tail(tmp_path):
    data = tmp_path / "data"
    _write(data, {"d": [make_batch(2, NOW + 1), make_batch(2, NOW)]})
    segment = data / "d-0" / "00000000000000000000.log"
    raw = segment.read_bytes()
    first = RecordBatch(raw).size
    segment.write_bytes(raw[:first + 70])
    lines = _check(data, 1)
    assert lines[0] == (f"{segment}: a {len(raw) - first}-byte batch is cut off after 70 bytes "
                        f"(position {first})")


def test_check_finds_a_missing_segment(small_log):
    segments = _segments(small_log / "t-0")
    for suffix in (".log", ".index", ".timeindex"):
        segments[1].with_suffix(suffix).unlink()
    expected_start = int(segments[1].stem)
    lines = _check(small_log, 1)
    assert lines[0] == (f"{segments[2]}: starts at offset {int(segments[2].stem)} but the "
                        f"segment before it ends at {expected_start}")


def test_check_finds_bad_index_entries(small_log):
    segment = _segments(small_log / "t-0")[0]
    index = segment.with_suffix(".index")
    entries = list(struct.iter_unpack(">ii", index.read_bytes()))
    assert entries, "the SMALL config gives the first segment index entries"
    relative, position = entries[0]
    index.write_bytes(struct.pack(">ii", relative, position + 1))
    timeindex = segment.with_suffix(".timeindex")
    timestamp, relative = struct.unpack_from(">qi", timeindex.read_bytes())
    timeindex.write_bytes(struct.pack(">qi", timestamp - 1, relative))
    assert _check(small_log, 2)[:2] == [
        f"{index}: entry 0 points at position {position + 1}, inside a batch",
        f"{timeindex}: entry 0 gives timestamp {timestamp - 1} for offset {relative}, whose batch "
        f"has max timestamp {timestamp}",
    ]


def test_check_finds_missing_and_torn_indexes(small_log):
    segment = _segments(small_log / "t-0")[0]
    segment.with_suffix(".index").unlink()
    with open(segment.with_suffix(".timeindex"), "ab") as f:
        f.write(b"\x00")
    index_size = segment.with_suffix(".timeindex").stat().st_size
    assert _check(small_log, 2)[:2] == [
        f"{segment.with_suffix('.index')}: missing (kgw creates every segment with both indexes)",
        f"{segment.with_suffix('.timeindex')}: {index_size} bytes are not whole 12-byte entries",
    ]


def test_check_finds_topic_level_problems(small_log):
    shutil.rmtree(small_log / "t-0")
    (small_log / "gone-0").mkdir()
    (small_log / "topics" / "bad.json").write_text("{")
    lines = _check(small_log, 2)
    assert lines == [
        f"{small_log / 'topics' / 'bad.json'}: topic metadata unreadable: Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)",
        f"{small_log / 't-0'}: missing: topic 't' has 1 partition(s)",
        f"note: {small_log / 'gone-0'} belongs to no topic (left over from a deletion?); "
        "checked all the same",
        "checked 1 topic(s), 1 partition(s), 0 segment(s), 0 batch(es), 0 bytes: 2 problem(s)",
    ]


def test_check_notes_an_unclean_directory_and_a_bad_log_start(small_log):
    (small_log / ".kgw-clean-shutdown").unlink()
    (small_log / "t-0" / "log-start-offset").write_text(
        json.dumps({"format_version": 1, "log_start_offset": 99}))
    lines = _check(small_log, 1)
    assert lines[:2] == [
        f"note: {small_log} has no clean-shutdown marker: a kgw is using it or did not stop "
        "cleanly, and its newest data may be in flight",
        f"{small_log / 't-0' / 'log-start-offset'}: log start offset 99 lies outside the log's "
        "offsets 0 to 90",
    ]


def test_check_refuses_what_is_not_a_data_directory(tmp_path):
    result = kgw("log", "check", tmp_path)
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {tmp_path} is not a kgw data directory (it has no topics/)\n")


def _plant(data, batches_before: int, bad: bytes) -> tuple:
    """Write good batches, then put `bad` (valid CRC, malformed records) in
    the segment after them as an older kgw would have stored it, then one
    more good batch after it; the segment and `bad`'s position."""
    _write(data, {"d": [make_batch(2, NOW + i) for i in range(batches_before)]})
    segment = data / "d-0" / "00000000000000000000.log"
    raw = bytearray(segment.read_bytes())
    position = len(raw)
    first_bad = 2 * batches_before
    planted = bytearray(bad)
    struct.pack_into(">q", planted, 0, first_bad)
    after = bytearray(make_batch(2, NOW + 99))
    struct.pack_into(">q", after, 0, first_bad + RecordBatch(bad).record_count)
    segment.write_bytes(bytes(raw + planted + after))
    return segment, position


@pytest.mark.parametrize("codec", [Codec.NONE, Codec.ZSTD])
@pytest.mark.parametrize("case", ["count above the records", "trailing bytes", "negative key length -2",
                                  "offset deltas repeated"])
def test_check_and_dump_agree_on_malformed_records_inside_a_valid_crc(tmp_path, case, codec):
    from protocol.compression import compress

    from ..test_record_walk import MALFORMED
    from ..test_records import raw_batch

    records, count, says = MALFORMED[case]
    bad = raw_batch(compress(codec, records), count, int(codec))
    assert RecordBatch(bad).crc_ok()
    data = tmp_path / "data"
    segment, position = _plant(data, 2, bad)
    dumped = kgw("log", "dump", segment)
    assert dumped.exit_code == 1
    dump_problems = [line for line in dumped.stdout.splitlines() if line.startswith("problem")]
    assert len(dump_problems) == 1 and dump_problems[0].startswith(f"problem at position {position}: ")
    assert says in dump_problems[0]
    checked = kgw("log", "check", data)
    assert checked.exit_code == 1
    check_problems = [line for line in checked.stdout.splitlines() if line.startswith(str(segment) + ":")]
    assert check_problems == [f"{segment}: the batch at offset 4 (position {position}): "
                              + dump_problems[0].split(": ", 1)[1]]
    # Both go on past it: the batch after it is dumped with its records.
    assert dumped.stdout.splitlines()[-1].startswith("| offset: ")
