"""Start-up: clean restarts, and recovery from torn tails, garbage and damaged indexes."""

import logging
import os

import pytest

from kgw.log import LogError
from kgw.log.manager import CLEAN_SHUTDOWN_MARKER
from kgw.log.segment import Segment
from protocol.error_codes import ErrorCode

from .helpers import SMALL, crash, make_batch, payload, read_all, segment_files


def _fill(manager, batches=30, configs=SMALL):
    partition = manager.create_topic("t", 1, configs).partitions[0]
    sent = [make_batch(seed=i, timestamp=1_000 + i) for i in range(batches)]
    for batch in sent:
        partition.append(batch)
    return partition, sent


def _assert_log(partition, sent):
    stored = read_all(partition)
    assert [b.base_offset for b in stored] == [3 * i for i in range(len(sent))]
    assert [payload(b.memory) for b in stored] == [payload(b) for b in sent]
    assert all(b.crc_ok() for b in stored)
    assert partition.log_end_offset == 3 * len(sent)


def test_clean_restart_trusts_the_files(managers, monkeypatch, caplog):
    manager = managers()
    _, sent = _fill(manager)
    manager.close()
    assert (manager.data_dir / CLEAN_SHUTDOWN_MARKER).exists()
    monkeypatch.setattr(Segment, "recover", lambda *a: pytest.fail("recovered after a clean stop"))
    with caplog.at_level(logging.WARNING, "kgw.log"):
        again = managers()
    assert not (again.data_dir / CLEAN_SHUTDOWN_MARKER).exists()
    _assert_log(again.partition("t", 0), sent)
    assert not caplog.records


def test_unclean_restart_rebuilds_what_was_only_in_memory(managers):
    manager = managers()
    partition, sent = _fill(manager)
    partition.delete_records_before(10)
    crash(manager)
    again = managers()
    partition = again.partition("t", 0)
    assert partition.log_start_offset == 10
    assert [payload(b.memory) for b in read_all(partition)] == [payload(b) for b in sent[3:]]
    assert partition.offset_for_timestamp(1_020) == (56, 1_020)
    assert partition.append(make_batch()).base_offset == 90


def test_torn_tail_is_truncated_and_logged(managers, caplog):
    manager = managers()
    partition, sent = _fill(manager, batches=5, configs={})
    path = partition.active.path
    crash(manager)
    size = os.path.getsize(path)
    last = len(sent[-1])
    os.truncate(path, size - 10)
    with caplog.at_level(logging.WARNING, "kgw.log"):
        again = managers()
    partition = again.partition("t", 0)
    _assert_log(partition, sent[:-1])
    assert os.path.getsize(path) == size - last
    message = next(r.getMessage() for r in caplog.records if "truncating" in r.getMessage())
    assert str(path) in message and f"position {size - last}" in message
    assert f"dropping {last - 10} bytes" in message
    assert partition.append(sent[-1]).base_offset == 12


@pytest.mark.parametrize("clean", [True, False])
def test_garbage_after_the_last_batch_is_cut(managers, clean):
    manager = managers()
    partition, sent = _fill(manager)
    path = partition.active.path
    size = os.path.getsize(path)
    (manager.close if clean else lambda: crash(manager))()
    with open(path, "ab") as f:
        f.write(os.urandom(500))
    partition = managers().partition("t", 0)
    _assert_log(partition, sent)
    assert os.path.getsize(path) == size


def test_a_corrupt_byte_mid_segment_cuts_from_that_batch(managers):
    manager = managers()
    partition, sent = _fill(manager, batches=8, configs={})
    path = partition.active.path
    crash(manager)
    third = sum(len(b) for b in sent[:3])
    with open(path, "r+b") as f:
        f.seek(third + 70)
        byte = f.read(1)
        f.seek(third + 70)
        f.write(bytes([byte[0] ^ 1]))
    _assert_log(managers().partition("t", 0), sent[:3])


def test_damage_in_an_older_segment_drops_the_segments_after_it(managers, caplog):
    manager = managers()
    partition, sent = _fill(manager)
    names = segment_files(partition)
    assert len(names) >= 3
    crash(manager)
    second = partition.directory / names[1]
    os.truncate(second, os.path.getsize(second) - 1)
    with caplog.at_level(logging.ERROR, "kgw.log"):
        partition = managers().partition("t", 0)
    assert segment_files(partition) == names[:2]
    kept = partition.log_end_offset // 3
    _assert_log(partition, sent[:kept])
    assert "later segment" in caplog.text


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "zeros"])
@pytest.mark.parametrize("which", [".index", ".timeindex"])
def test_damaged_indexes_are_rebuilt(managers, damage, which):
    manager = managers()
    partition, sent = _fill(manager, configs={"internal.segment.bytes": "2000",
                                               "index.interval.bytes": "100"})
    directory = partition.directory
    manager.close()
    for name in segment_files(partition, which):
        path = directory / name
        size = os.path.getsize(path)
        assert size > 0
        if damage == "delete":
            path.unlink()
        elif damage == "truncate":
            os.truncate(path, size - 3)
        elif damage == "garbage":
            path.write_bytes(os.urandom(size))
        else:
            path.write_bytes(bytes(size))
    partition = managers().partition("t", 0)
    _assert_log(partition, sent)
    for offset in range(0, 90, 7):
        assert next(iter(partition.batches_from(offset))).base_offset == offset - offset % 3
    assert partition.offset_for_timestamp(1_015) == (41, 1_015)
    assert all(os.path.getsize(directory / n) > 0 for n in segment_files(partition, which))


def test_recovery_starts_at_the_checkpointed_flush(managers, monkeypatch):
    manager = managers()
    partition, _ = _fill(manager)
    partition.flush()
    manager.write_recovery_checkpoint()
    partition.append(make_batch())
    segments = partition.segment_count
    crash(manager)
    recovered = []
    real = Segment.recover
    monkeypatch.setattr(Segment, "recover", lambda self, i: recovered.append(self) or real(self, i))
    assert managers().partition("t", 0).log_end_offset == 93
    assert len(recovered) == 1 and segments > 1


def test_without_a_checkpoint_every_segment_is_validated(managers, monkeypatch):
    manager = managers()
    partition, _ = _fill(manager)
    segments = partition.segment_count
    crash(manager)
    recovered = []
    real = Segment.recover
    monkeypatch.setattr(Segment, "recover", lambda self, i: recovered.append(self) or real(self, i))
    managers()
    assert len(recovered) == segments


def test_an_unreadable_partition_is_offline(managers, monkeypatch, caplog):
    manager = managers()
    manager.create_topic("t", 2).partitions[0].append(make_batch())
    crash(manager)

    def broken(path, now_ms, files):
        if path.parent.name == "t-0":
            raise OSError(5, "Input/output error")
        return real(path, now_ms, files)
    real = Segment.open
    monkeypatch.setattr(Segment, "open", broken)
    again = managers()
    offline = again.partition("t", 0)
    assert "Input/output error" in offline.offline and "offline" in caplog.text
    for call in (lambda: offline.append(make_batch()), lambda: offline.read(0, 10)):
        with pytest.raises(LogError) as err:
            call()
        assert err.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    assert again.partition("t", 1).append(make_batch()).base_offset == 0
    again.close()
    assert not (again.data_dir / CLEAN_SHUTDOWN_MARKER).exists()


def test_leftover_temporary_files_are_removed(managers):
    manager = managers()
    topic = manager.create_topic("t", 1)
    manager.close()
    leftovers = [manager.data_dir / "topics" / f"{topic.topic_id}.json.123.4.tmp",
                 manager.data_dir / "recovery-point-offset-checkpoint.9.9.tmp"]
    for path in leftovers:
        path.write_text("half")
    managers()
    assert not any(p.exists() for p in leftovers)
