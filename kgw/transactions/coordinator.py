"""The transaction coordinator (KIP-98): kgw coordinates every transactional id.

A transactional producer gets its producer id and epoch from InitProducerId,
names the partitions and groups its transaction writes to (AddPartitionsToTxn,
AddOffsetsToTxn), produces, and ends the transaction with EndTxn. Ending it
writes a commit or abort marker to every partition it touched and commits or
drops the offsets TxnOffsetCommit held for it. Each state change is journalled
before it is acted on, so a crash between the markers is finished at start-up,
as Kafka's coordinator finishes a transaction it finds in PrepareCommit.

Kafka answers EndTxn once PrepareCommit is durable and writes the markers
after; kgw writes them first, so a client that sees its commit acknowledged
can read what it committed at once. The outcome is the same; a client can
tell only by EndTxn taking a marker write longer.
"""

import logging
import re
import time
from pathlib import Path
from typing import Awaitable, Callable

import trio

from protocol.error_codes import ErrorCode

from ..errors import KafkaError
from ..journal import Journal
from .state import (
    COMPLETE_ABORT, COMPLETE_COMMIT, EMPTY, JOURNAL, MAX_EPOCH, ONGOING, PREPARE_ABORT, PREPARE_COMMIT,
    PREPARING, SETTLED, STATES, TRANSACTION_EXPIRED, Transaction, expiry_record,
)

log = logging.getLogger("kgw.transactions")

STATE_DIR = "__transaction_state"
JOURNAL_FILE = "transactions.log"
# Kafka's transaction.max.timeout.ms,
# transaction.abort.timed.out.transaction.cleanup.interval.ms and
# transactional.id.expiration.ms.
MAX_TIMEOUT_MS = 900_000
ABORT_CHECK_INTERVAL_MS = 10_000
ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000
# Start-up rewrites the journal once it is this big and mostly dead records.
COMPACT_MIN_BYTES = 1 << 20

# (producer id, epoch, commit, partitions, only where a transaction is open)
WriteMarkers = Callable[[int, int, bool, set[tuple[str, int]], bool], Awaitable[None]]
# (group id, producer id, commit)
EndGroupTransaction = Callable[[str, int, bool], Awaitable[None]]


class TransactionError(KafkaError):
    """A KafkaError from the transaction coordinator."""


class TransactionCoordinator:
    def __init__(self, data_dir: Path, *, new_producer_id: Callable[[], int],
                 write_markers: WriteMarkers, end_group_transaction: EndGroupTransaction,
                 max_timeout_ms: int = MAX_TIMEOUT_MS,
                 abort_check_interval_ms: int = ABORT_CHECK_INTERVAL_MS,
                 id_expiration_ms: int = ID_EXPIRATION_MS, clock: Callable[[], float] = time.time,
                 durable: bool = True):
        self._new_producer_id = new_producer_id
        self._write_markers = write_markers
        self._end_group_transaction = end_group_transaction
        self._max_timeout_ms = max_timeout_ms
        self._abort_check_interval_ms = abort_check_interval_ms
        self._id_expiration_ms = id_expiration_ms
        self._clock = clock
        directory = Path(data_dir) / STATE_DIR
        directory.mkdir(parents=True, exist_ok=True)
        self._journal, records = Journal.open(directory / JOURNAL_FILE, JOURNAL, durable=durable)
        self.transactions: dict[str, Transaction] = {}
        for record in records:
            if isinstance(record, TRANSACTION_EXPIRED.cls):
                self.transactions.pop(record.transactional_id, None)
            else:
                txn = Transaction.from_record(record)
                self.transactions[txn.transactional_id] = txn
        snapshot = [txn.record() for txn in self.transactions.values()]
        live = sum(len(JOURNAL.encode_frame(record)) for record in snapshot)
        if self._journal.size > max(COMPACT_MIN_BYTES, 2 * live):
            self._journal.rewrite(snapshot)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Finish what a crash interrupted, then abort timed-out transactions
        and forget long-idle ids every `abort_check_interval_ms`."""
        for txn in list(self.transactions.values()):
            if txn.state in PREPARING:
                log.info("transaction %s: finishing %s after a restart", txn.transactional_id,
                         txn.state)
                await self._complete(txn, only_open=True)
        task_status.started()
        while True:
            await trio.sleep(self._abort_check_interval_ms / 1000)
            await self.abort_timed_out()
            self.expire_ids()

    def close(self) -> None:
        self._journal.close()

    # --- the APIs -------------------------------------------------------------

    async def init_producer_id(self, transactional_id: str, timeout_ms: int,
                               producer_id: int = -1, producer_epoch: int = -1) -> tuple[int, int]:
        """(producer id, epoch) for a transactional producer; an open
        transaction of an earlier incarnation is aborted first. Raises
        TransactionError."""
        if not transactional_id:
            raise TransactionError(ErrorCode.INVALID_REQUEST, "the transactional id is empty")
        if not 0 < timeout_ms <= self._max_timeout_ms:
            raise TransactionError(
                ErrorCode.INVALID_TRANSACTION_TIMEOUT,
                f"transaction timeout {timeout_ms} ms is not in (0, {self._max_timeout_ms}]")
        txn = self.transactions.get(transactional_id)
        if txn is None:
            txn = self.transactions[transactional_id] = Transaction(
                transactional_id, self._new_producer_id(), 0, timeout_ms)
            await self._persist(txn)
            return txn.producer_id, txn.producer_epoch
        if producer_id >= 0 and (producer_id, producer_epoch) != (txn.producer_id, txn.producer_epoch):
            # KIP-360: a producer resuming after an error must be the current one.
            raise TransactionError(ErrorCode.PRODUCER_FENCED,
                                   f"producer {producer_id} epoch {producer_epoch} is not the "
                                   f"current one of {transactional_id}")
        if txn.state in PREPARING:
            raise TransactionError(ErrorCode.CONCURRENT_TRANSACTIONS,
                                   f"transaction {transactional_id} is being ended")
        if txn.state == ONGOING:
            # Fence the old incarnation and abort its transaction (Kafka's
            # PrepareEpochFence), then bump the epoch once more for this one.
            await self._end(txn, commit=False, bump_epoch=True)
        self._bump_epoch(txn)
        # Kafka's prepareIncrementProducerEpoch: a new incarnation starts
        # with no transaction, Empty.
        txn.state, txn.started_ms = EMPTY, -1
        txn.timeout_ms = timeout_ms
        await self._persist(txn)
        return txn.producer_id, txn.producer_epoch

    async def add_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                             partitions: list[tuple[str, int]]) -> None:
        txn = self._current(transactional_id, producer_id, producer_epoch)
        await self._add(txn, partitions=partitions)

    async def add_offsets(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          group_id: str) -> None:
        txn = self._current(transactional_id, producer_id, producer_epoch)
        await self._add(txn, groups=[group_id])

    async def end_transaction(self, transactional_id: str, producer_id: int, producer_epoch: int,
                              commit: bool) -> None:
        txn = self._current(transactional_id, producer_id, producer_epoch)
        completed, preparing = ((COMPLETE_COMMIT, PREPARE_COMMIT) if commit
                                else (COMPLETE_ABORT, PREPARE_ABORT))
        if txn.state == ONGOING:
            await self._end(txn, commit)
        elif txn.state == completed:
            # A retry of an EndTxn that already succeeded.
            return
        elif txn.state == preparing:
            raise TransactionError(ErrorCode.CONCURRENT_TRANSACTIONS,
                                   f"transaction {transactional_id} is being ended")
        else:
            raise TransactionError(ErrorCode.INVALID_TXN_STATE,
                                   f"cannot {'commit' if commit else 'abort'} transaction "
                                   f"{transactional_id} in state {txn.state}")

    def check_produce(self, transactional_id: str, producer_id: int, producer_epoch: int,
                      partition: tuple[str, int]) -> None:
        """A transactional batch may be written only by the current producer
        of its id, to a partition added to the open transaction."""
        txn = self._current(transactional_id, producer_id, producer_epoch,
                            ErrorCode.INVALID_PRODUCER_EPOCH)
        _require_open(txn, partition in txn.partitions, f"{partition[0]}-{partition[1]}")

    def check_offset_commit(self, transactional_id: str, producer_id: int, producer_epoch: int,
                            group_id: str) -> None:
        """TxnOffsetCommit's offsets must belong to an open transaction that
        added the group, or nothing would ever commit or drop them."""
        txn = self._current(transactional_id, producer_id, producer_epoch,
                            ErrorCode.INVALID_PRODUCER_EPOCH)
        _require_open(txn, group_id in txn.groups, f"group {group_id}")

    def list_transactions(self, states: list[str], producer_ids: list[int], duration_ms: int = -1,
                          pattern: str | None = None) -> tuple[list[str], list[Transaction]]:
        """ListTransactions: the state filters no transaction can be in, and
        the transactions that pass every filter given (Kafka's
        listTransactionStates): a state, a producer id, open longer than
        `duration_ms`, an id matching `pattern` (a whole-id regular
        expression; re.error if invalid)."""
        unknown = [name for name in states if name not in STATES]
        matcher = re.compile(pattern) if pattern is not None else None
        now = self.now_ms()
        return unknown, [
            txn for txn in self.transactions.values()
            if (not producer_ids or txn.producer_id in producer_ids)
            and (not states or txn.state in states)
            and (duration_ms < 0 or now - txn.started_ms > duration_ms)
            and (matcher is None or matcher.fullmatch(txn.transactional_id))]

    async def abort_timed_out(self) -> None:
        """Abort, with a bumped epoch that fences the producer, every
        transaction open longer than its timeout."""
        now = self.now_ms()
        for txn in list(self.transactions.values()):
            if txn.state == ONGOING and now - txn.started_ms > txn.timeout_ms:
                log.info("transaction %s: aborting, open for longer than %d ms",
                         txn.transactional_id, txn.timeout_ms)
                try:
                    await self._end(txn, commit=False, bump_epoch=True)
                except OSError as exc:
                    # The journal refuses all writes now; the broker keeps
                    # serving what does not need it.
                    log.error("transaction %s: cannot abort: %s", txn.transactional_id, exc)
                    return

    def expire_ids(self) -> None:
        """Forget transactional ids idle, with no transaction open, for
        longer than transactional.id.expiration.ms, as Kafka does: a
        producer using one again starts afresh, with a new producer id."""
        now = self.now_ms()
        for txn in list(self.transactions.values()):
            if txn.state in SETTLED and now - txn.updated_ms > self._id_expiration_ms:
                try:
                    self._journal.append(expiry_record(txn.transactional_id))
                except OSError as exc:
                    log.error("cannot expire transactional id %s: %s", txn.transactional_id, exc)
                    return
                log.info("transactional id %s expired", txn.transactional_id)
                del self.transactions[txn.transactional_id]

    # --- the state machine ------------------------------------------------------------

    def _known(self, transactional_id: str, producer_id: int) -> Transaction:
        txn = self.transactions.get(transactional_id) if transactional_id else None
        if txn is None or txn.producer_id != producer_id:
            raise TransactionError(ErrorCode.INVALID_PRODUCER_ID_MAPPING,
                                   f"producer {producer_id} is not the producer of "
                                   f"transactional id {transactional_id!r}")
        return txn

    def _current(self, transactional_id: str, producer_id: int, producer_epoch: int,
                 fenced: ErrorCode = ErrorCode.PRODUCER_FENCED) -> Transaction:
        """The id's transaction, if `producer_epoch` is its producer's current
        epoch. A stale one is answered with `fenced`: the coordinator's
        PRODUCER_FENCED, or the INVALID_PRODUCER_EPOCH with which Kafka's
        partition leaders and group coordinator refuse a fenced producer."""
        txn = self._known(transactional_id, producer_id)
        if producer_epoch != txn.producer_epoch:
            raise TransactionError(fenced,
                                   f"producer {producer_id} epoch {producer_epoch} is fenced by "
                                   f"epoch {txn.producer_epoch}")
        return txn

    async def _add(self, txn: Transaction, partitions=(), groups=()) -> None:
        if txn.state in PREPARING:
            raise TransactionError(ErrorCode.CONCURRENT_TRANSACTIONS,
                                   f"transaction {txn.transactional_id} is being ended")
        if txn.state == ONGOING and txn.partitions.issuperset(partitions) \
                and txn.groups.issuperset(groups):
            return
        if txn.state != ONGOING:
            txn.state = ONGOING
            txn.started_ms = self.now_ms()
        txn.partitions.update(partitions)
        txn.groups.update(groups)
        await self._persist(txn)

    async def _end(self, txn: Transaction, commit: bool, bump_epoch: bool = False) -> None:
        # Shielded: once prepared, a transaction must be completed even if
        # the client that ended it hangs up.
        with trio.CancelScope(shield=True):
            if bump_epoch:
                # Fencing keeps the producer id, whose markers must close
                # what it opened; it may take the epoch to Short.MaxValue,
                # after which InitProducerId hands out a new id.
                txn.producer_epoch += 1
            txn.state = PREPARE_COMMIT if commit else PREPARE_ABORT
            await self._persist(txn)
            await self._complete(txn, only_open=False)

    async def _complete(self, txn: Transaction, only_open: bool) -> None:
        commit = txn.state == PREPARE_COMMIT
        await self._write_markers(txn.producer_id, txn.producer_epoch, commit, txn.partitions,
                                  only_open)
        for group_id in sorted(txn.groups):
            await self._end_group_transaction(group_id, txn.producer_id, commit)
        # The start time stays, as Kafka's does, until the next transaction
        # or InitProducerId: DescribeTransactions and ListTransactions'
        # duration filter still see when the last one began.
        txn.state = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        txn.partitions = set()
        txn.groups = set()
        # Not waited for: lost to a crash, the Prepare state before it makes
        # start-up complete the transaction again, which finds every marker
        # written and every group's offsets settled. Any later change's
        # fsync covers it.
        self._journal.append(self._stamped(txn))

    def _bump_epoch(self, txn: Transaction) -> None:
        if txn.producer_epoch >= MAX_EPOCH:
            txn.producer_id, txn.producer_epoch = self._new_producer_id(), 0
        else:
            txn.producer_epoch += 1

    def _stamped(self, txn: Transaction):
        txn.updated_ms = self.now_ms()
        return txn.record()

    async def _persist(self, txn: Transaction) -> None:
        position = self._journal.append(self._stamped(txn))
        # Shielded: a state the journal holds must be acted on even if the
        # client hangs up, or a restart would find it half done.
        with trio.CancelScope(shield=True):
            await self._journal.sync(position)


def _require_open(txn: Transaction, included: bool, what: str) -> None:
    if txn.state != ONGOING or not included:
        raise TransactionError(ErrorCode.INVALID_TXN_STATE,
                               f"{what} is not in an open transaction of {txn.transactional_id}")
