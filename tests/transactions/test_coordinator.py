"""The transaction coordinator's state machine, its journal and its recovery,
with the markers and the group offsets recorded by fakes."""

import itertools
import json
import struct

import crc32c
import pytest
import trio

from kgw.journal import Journal
from kgw.transactions import TransactionCoordinator, TransactionError
from kgw.transactions.coordinator import JOURNAL_FILE, STATE_DIR
from kgw.transactions.state import (
    COMPLETE_ABORT, COMPLETE_COMMIT, EMPTY, JOURNAL, MAX_EPOCH, ONGOING, PREPARE_ABORT,
    PREPARE_COMMIT, Transaction,
)
from protocol.error_codes import ErrorCode

from ..groups.harness import trio_test

T0, T1 = ("t", 0), ("t", 1)


class Recorder:
    """Stands in for the partitions and the group coordinator."""

    def __init__(self):
        self.markers = []
        self.groups = []
        self.crash_on_markers = False

    async def write_markers(self, producer_id, epoch, commit, partitions, only_open):
        if self.crash_on_markers:
            raise KeyboardInterrupt("the broker dies while writing markers")
        self.markers.append((producer_id, epoch, commit, sorted(partitions), only_open))

    async def end_group_transaction(self, group_id, producer_id, commit):
        self.groups.append((group_id, producer_id, commit))


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


def coordinator(data_dir, recorder, clock=None, first_id=0, **settings):
    ids = itertools.count(first_id)
    return TransactionCoordinator(
        data_dir, new_producer_id=lambda: next(ids), write_markers=recorder.write_markers,
        end_group_transaction=recorder.end_group_transaction, clock=clock or Clock(), **settings)


async def raises(code, call):
    with pytest.raises(TransactionError) as caught:
        await call
    assert caught.value.code == code


@trio_test
async def test_commit_writes_commit_markers_and_ends_the_groups(tmp_path):
    rec = Recorder()
    clock = Clock()
    txns = coordinator(tmp_path, rec, clock)
    assert await txns.init_producer_id("app", 60_000) == (0, 0)
    clock.now += 5
    await txns.add_partitions("app", 0, 0, [T0, T1])
    clock.now += 5
    await txns.add_offsets("app", 0, 0, "readers")
    txn = txns.transactions["app"]
    assert (txn.state, txn.partitions, txn.groups) == (ONGOING, {T0, T1}, {"readers"})
    started = txn.started_ms
    assert started > 0
    txns.check_produce("app", 0, 0, T0)
    txns.check_offset_commit("app", 0, 0, "readers")

    clock.now += 5
    await txns.end_transaction("app", 0, 0, commit=True)
    assert rec.markers == [(0, 0, True, [T0, T1], False)]
    assert rec.groups == [("readers", 0, True)]
    # Kafka keeps the start of the transaction that ended.
    assert (txn.state, txn.partitions, txn.groups, txn.started_ms) == (
        COMPLETE_COMMIT, set(), set(), started)
    # A retried commit succeeds without writing anything; an abort of it cannot.
    await txns.end_transaction("app", 0, 0, commit=True)
    await raises(ErrorCode.INVALID_TXN_STATE, txns.end_transaction("app", 0, 0, commit=False))
    assert len(rec.markers) == 1
    # The next transaction keeps the producer id and epoch.
    await txns.add_partitions("app", 0, 0, [T1])
    await txns.end_transaction("app", 0, 0, commit=False)
    assert rec.markers[-1] == (0, 0, False, [T1], False)
    assert txn.state == COMPLETE_ABORT


@trio_test
async def test_init_producer_id_validates_and_bumps_the_epoch(tmp_path):
    txns = coordinator(tmp_path, Recorder())
    await raises(ErrorCode.INVALID_REQUEST, txns.init_producer_id("", 1000))
    await raises(ErrorCode.INVALID_TRANSACTION_TIMEOUT, txns.init_producer_id("app", 0))
    await raises(ErrorCode.INVALID_TRANSACTION_TIMEOUT, txns.init_producer_id("app", 900_001))
    assert "app" not in txns.transactions
    assert await txns.init_producer_id("app", 900_000) == (0, 0)
    assert await txns.init_producer_id("app", 1000) == (0, 1)
    assert txns.transactions["app"].timeout_ms == 1000
    assert await txns.init_producer_id("other", 1000) == (1, 0)
    # After a transaction, a new incarnation is Empty again, with no start
    # time, as Kafka's InitProducerId leaves it.
    await txns.add_partitions("app", 0, 1, [T0])
    await txns.end_transaction("app", 0, 1, commit=True)
    assert txns.transactions["app"].state == COMPLETE_COMMIT
    assert await txns.init_producer_id("app", 1000) == (0, 2)
    assert (txns.transactions["app"].state, txns.transactions["app"].started_ms) == (EMPTY, -1)
    await raises(ErrorCode.INVALID_TXN_STATE, txns.end_transaction("app", 0, 2, commit=True))
    # KIP-360: the current producer may re-initialise itself, no one else.
    assert await txns.init_producer_id("app", 1000, 0, 2) == (0, 3)
    await raises(ErrorCode.PRODUCER_FENCED, txns.init_producer_id("app", 1000, 0, 2))


@trio_test
async def test_a_new_incarnation_aborts_the_open_transaction_and_fences_the_old(tmp_path):
    rec = Recorder()
    txns = coordinator(tmp_path, rec)
    await txns.init_producer_id("app", 60_000)
    await txns.add_partitions("app", 0, 0, [T0])
    assert await txns.init_producer_id("app", 60_000) == (0, 2)
    # The abort carries the fencing epoch, so the old producer's batches
    # can no longer be written.
    assert rec.markers == [(0, 1, False, [T0], False)]
    # The new incarnation starts Empty, with no start time (Kafka's
    # prepareIncrementProducerEpoch).
    assert (txns.transactions["app"].state, txns.transactions["app"].started_ms) == (EMPTY, -1)
    await raises(ErrorCode.INVALID_TXN_STATE, txns.end_transaction("app", 0, 2, commit=False))
    await raises(ErrorCode.PRODUCER_FENCED, txns.add_partitions("app", 0, 0, [T0]))
    await raises(ErrorCode.PRODUCER_FENCED, txns.end_transaction("app", 0, 0, commit=True))
    with pytest.raises(TransactionError) as caught:
        txns.check_produce("app", 0, 0, T0)
    assert caught.value.code == ErrorCode.INVALID_PRODUCER_EPOCH


@trio_test
async def test_requests_for_unknown_producers_and_states(tmp_path):
    txns = coordinator(tmp_path, Recorder())
    await raises(ErrorCode.INVALID_PRODUCER_ID_MAPPING, txns.add_partitions("nope", 0, 0, [T0]))
    await txns.init_producer_id("app", 60_000)
    await raises(ErrorCode.INVALID_PRODUCER_ID_MAPPING, txns.add_offsets("app", 7, 0, "g"))
    # Nothing is open: there is nothing to end, produce to or commit in.
    await raises(ErrorCode.INVALID_TXN_STATE, txns.end_transaction("app", 0, 0, commit=True))
    for check in (lambda: txns.check_produce("app", 0, 0, T0),
                  lambda: txns.check_offset_commit("app", 0, 0, "g")):
        with pytest.raises(TransactionError) as caught:
            check()
        assert caught.value.code == ErrorCode.INVALID_TXN_STATE
    await txns.add_partitions("app", 0, 0, [T0])
    with pytest.raises(TransactionError) as caught:
        txns.check_produce("app", 0, 0, T1)
    assert caught.value.code == ErrorCode.INVALID_TXN_STATE


@trio_test
async def test_timed_out_transactions_are_aborted_with_a_fencing_epoch(tmp_path):
    rec, clock = Recorder(), Clock()
    txns = coordinator(tmp_path, rec, clock)
    await txns.init_producer_id("slow", 1000)
    await txns.init_producer_id("quick", 5000)
    await txns.add_partitions("slow", 0, 0, [T0])
    await txns.add_partitions("quick", 1, 0, [T1])
    clock.now += 1.0
    await txns.abort_timed_out()
    assert rec.markers == []
    clock.now += 0.001
    await txns.abort_timed_out()
    assert rec.markers == [(0, 1, False, [T0], False)]
    assert (txns.transactions["slow"].state, txns.transactions["quick"].state) == (COMPLETE_ABORT, ONGOING)
    await raises(ErrorCode.PRODUCER_FENCED, txns.end_transaction("slow", 0, 0, commit=True))


@trio_test
async def test_a_failing_timeout_abort_is_logged_and_the_sweep_survives(tmp_path, caplog):
    rec, clock = Recorder(), Clock()

    async def broken_disk(*args):
        raise OSError("no space left on device")

    rec.write_markers = broken_disk
    txns = coordinator(tmp_path, rec, clock)
    await txns.init_producer_id("slow", 1000)
    await txns.add_partitions("slow", 0, 0, [T0])
    clock.now += 2
    await txns.abort_timed_out()
    assert "transaction slow: cannot abort: no space left on device" in caplog.text
    # Found prepared, it is finished by the next start-up.
    assert txns.transactions["slow"].state == PREPARE_ABORT


@trio_test
async def test_idle_ids_expire_unless_a_transaction_is_open(tmp_path):
    clock = Clock()
    txns = coordinator(tmp_path, Recorder(), clock, id_expiration_ms=60_000)
    await txns.init_producer_id("idle", 900_000)
    await txns.init_producer_id("open", 900_000)
    await txns.add_partitions("open", 1, 0, [T0])
    clock.now += 30
    await txns.init_producer_id("busy", 900_000)
    clock.now += 30.001
    txns.expire_ids()
    assert sorted(txns.transactions) == ["busy", "open"]
    txns.close()
    # The expiry is journalled; the id then starts afresh.
    again = coordinator(tmp_path, Recorder(), clock, first_id=3)
    assert sorted(again.transactions) == ["busy", "open"]
    assert await again.init_producer_id("idle", 1000) == (3, 0)
    again.close()


@trio_test
async def test_an_exhausted_epoch_gets_a_new_producer_id(tmp_path):
    rec = Recorder()
    txns = coordinator(tmp_path, rec, first_id=5)
    await txns.init_producer_id("app", 1000)
    txns.transactions["app"].producer_epoch = MAX_EPOCH - 1
    assert await txns.init_producer_id("app", 1000) == (5, MAX_EPOCH)
    assert await txns.init_producer_id("app", 1000) == (6, 0)
    # An open transaction at the last epoch is aborted by its own producer
    # id, fenced at Short.MaxValue, before a new id is handed out.
    txns.transactions["app"].producer_epoch = MAX_EPOCH
    await txns.add_partitions("app", 6, MAX_EPOCH, [T0])
    assert await txns.init_producer_id("app", 1000) == (7, 0)
    assert rec.markers == [(6, MAX_EPOCH + 1, False, [T0], False)]


@trio_test
async def test_state_survives_a_restart(tmp_path):
    txns = coordinator(tmp_path, Recorder())
    await txns.init_producer_id("done", 1000)
    await txns.init_producer_id("open", 2000)
    await txns.add_partitions("open", 1, 0, [T0])
    await txns.add_offsets("open", 1, 0, "g")
    txns.close()
    again = coordinator(tmp_path, Recorder())
    done, open_ = again.transactions["done"], again.transactions["open"]
    assert (done.producer_id, done.producer_epoch, done.state) == (0, 0, EMPTY)
    assert (open_.producer_id, open_.state, open_.partitions, open_.groups, open_.timeout_ms) == (
        1, ONGOING, {T0}, {"g"}, 2000)
    assert open_.started_ms == txns.transactions["open"].started_ms
    again.close()


def test_a_crash_while_writing_markers_is_finished_at_start_up(tmp_path):
    rec = Recorder()

    async def crash():
        txns = coordinator(tmp_path, rec)
        await txns.init_producer_id("app", 60_000)
        await txns.add_partitions("app", 0, 0, [T0, T1])
        await txns.add_offsets("app", 0, 0, "g")
        rec.crash_on_markers = True
        try:
            await txns.end_transaction("app", 0, 0, commit=True)
        finally:
            txns.close()

    with pytest.raises(KeyboardInterrupt):
        trio.run(crash)
    assert rec.markers == []

    async def restart():
        txns = coordinator(tmp_path, rec)
        assert txns.transactions["app"].state == PREPARE_COMMIT
        async with trio.open_nursery() as nursery:
            await nursery.start(txns.run)
            nursery.cancel_scope.cancel()
        txns.close()
        return txns.transactions["app"].state

    rec.crash_on_markers = False
    assert trio.run(restart) == COMPLETE_COMMIT
    # Only partitions still lacking their marker get one.
    assert rec.markers == [(0, 0, True, [T0, T1], True)]
    assert rec.groups == [("g", 0, True)]


def test_the_journal_is_compacted_when_mostly_dead(tmp_path):
    (tmp_path / STATE_DIR).mkdir()
    path = tmp_path / STATE_DIR / JOURNAL_FILE
    journal, _ = Journal.open(path, JOURNAL)
    for epoch in range(20_000):
        journal.append(Transaction("app", 0, epoch % 30_000, 1000, COMPLETE_COMMIT).record())
    journal.close()
    grown = path.stat().st_size
    assert grown > 1 << 20
    again = coordinator(tmp_path, Recorder())
    assert path.stat().st_size < 1000
    txn = again.transactions["app"]
    assert (txn.producer_epoch, txn.state) == (19_999, COMPLETE_COMMIT)
    again.close()


def test_a_journal_of_json_records_is_read_and_rewritten(tmp_path):
    """kgw before 0.2 journalled JSON (format version 1)."""
    (tmp_path / STATE_DIR).mkdir()
    path = tmp_path / STATE_DIR / JOURNAL_FILE
    frames = b"".join(
        struct.pack(">II", len(payload), crc32c.crc32c(payload)) + payload
        for payload in (json.dumps(record).encode() for record in (
            {"t": "txn", "id": "app", "pid": 4, "e": 2, "to": 60000, "s": "Ongoing",
             "p": [["t", 0], ["t", 1]], "g": ["g"], "st": 1000, "u": 2000},
            {"t": "txn", "id": "gone", "pid": 5, "e": 0, "to": 60000, "s": "Empty",
             "p": [], "g": [], "st": -1, "u": 2000},
            {"t": "expire", "id": "gone"})))
    path.write_bytes(b"KGWT" + struct.pack(">I", 1) + frames)
    for _ in range(2):
        again = coordinator(tmp_path, Recorder())
        txn = again.transactions["app"]
        assert (txn.producer_id, txn.producer_epoch, txn.state) == (4, 2, "Ongoing")
        assert (txn.partitions, txn.groups, txn.started_ms) == ({("t", 0), ("t", 1)}, {"g"}, 1000)
        assert list(again.transactions) == ["app"]
        again.close()
        assert path.read_bytes()[4:8] == struct.pack(">I", 2)
