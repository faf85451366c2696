"""What one partition knows about transactions (KIP-98): the open ones and the aborted ones.

A transactional producer's batches in a partition belong to one
transaction from its first batch to the end-transaction marker, a control
batch the transaction coordinator writes (COMMIT or ABORT).  Until that
marker, read_committed consumers must stop before the transaction's first
offset: the partition's last stable offset (LSO) is the first offset of the
earliest open transaction.  Aborted transactions are remembered as Kafka's
transaction index remembers them, so that a read_committed Fetch can tell
the consumer which producers' batches to drop, and from where.

Nothing here is written at each append: the state is rebuilt from the
batch headers the first time a partition needs it after start-up, as
Kafka's ProducerStateManager rebuilds from the log (Kafka also keeps
snapshots; kgw does not).  To spare that walk to partitions that never held
a transaction, which are most of them, a partition directory records in
`first-transactional-offset` where its first transactional batch went,
written and fsynced before that batch; without the file there is nothing
to walk, with it the walk starts there.
"""

import bisect
import itertools
import json
import logging
from pathlib import Path
from typing import NamedTuple

from protocol.errors import DecodeError
from protocol.records import ControlType, RecordBatch

from .files import atomic_write
from .scan import BatchHeader

log = logging.getLogger("kgw.log")

FIRST_TRANSACTIONAL_FILE = "first-transactional-offset"
FIRST_TRANSACTIONAL_FORMAT = 1


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    # The offset of the ABORT marker.
    last_offset: int
    # The LSO just after the marker.  Every transaction aborted later starts
    # at or above it (it was open then, or began after the marker), so a
    # search in marker order can stop at the first entry whose stable offset
    # reaches its end, as Kafka's AbortedTxn.lastStableOffset allows.
    stable_offset: int


def _last_offset(txn: AbortedTxn) -> int:
    return txn.last_offset


class TransactionState:
    """The open transactions (by producer id) and the aborted ones, in marker order."""

    def __init__(self):
        self._open: dict[int, int] = {}
        self._aborted: list[AbortedTxn] = []

    def __repr__(self) -> str:
        return f"TransactionState(open={self._open}, aborted={len(self._aborted)})"

    def note(self, header: BatchHeader, base_offset: int, marker: ControlType | None) -> None:
        """Account for a stored batch (`header`'s own base offset may predate assignment).

        `marker` is the control type of a control batch, None for a data
        batch or a control batch that is not an end-transaction marker.
        """
        if header.producer_id < 0:
            return
        if header.is_control:
            if marker is not None:
                self._completed(header.producer_id, base_offset, marker is ControlType.COMMIT)
        elif header.is_transactional:
            self._open.setdefault(header.producer_id, base_offset)

    def _completed(self, producer_id: int, offset: int, commit: bool) -> None:
        # Kafka's appendEndTxnMarker: a marker with nothing open completes an
        # empty transaction at the marker's own offset, which an ABORT still
        # enters in the index.
        first = self._open.pop(producer_id, offset)
        if not commit:
            stable = min(self._open.values(), default=offset + 1)
            self._aborted.append(AbortedTxn(producer_id, first, offset, stable))

    def ongoing(self, producer_id: int) -> int | None:
        return self._open.get(producer_id)

    @property
    def first_unstable_offset(self) -> int | None:
        """The first offset of the earliest open transaction, if any is open."""
        return min(self._open.values(), default=None)

    def aborted_between(self, start: int, end: int) -> list[tuple[int, int]]:
        """(producer id, first offset) of the aborted transactions overlapping [start, end)."""
        found = []
        first = bisect.bisect_left(self._aborted, start, key=_last_offset)
        for txn in itertools.islice(self._aborted, first, None):
            if txn.first_offset < end:
                found.append((txn.producer_id, txn.first_offset))
            if txn.stable_offset >= end:
                break
        found.sort(key=lambda entry: entry[1])
        return found

    def trim(self, log_start_offset: int) -> None:
        """Forget aborted transactions wholly below the log start: nobody can fetch them.

        Open ones stay, whatever their first offset (Kafka keeps them too);
        the LSO is then held at the log start until their markers come.
        """
        del self._aborted[:bisect.bisect_left(self._aborted, log_start_offset, key=_last_offset)]


def marker_type(buf, position: int) -> ControlType | None:
    """The end-transaction marker type of the control batch at `buf[position:]`, or None.

    Kafka has other control records (KRaft's leader change and snapshot
    ones) which leave transactions alone; so does anything undecodable, as
    only the broker writes control batches.
    """
    try:
        return ControlType(RecordBatch(buf, position).control_record().type)
    except (DecodeError, ValueError):
        return None


def is_transactional(header: BatchHeader) -> bool:
    """Whether a batch touches transaction state: a producer's transactional or control batch."""
    return header.producer_id >= 0 and (header.is_transactional or header.is_control)


def read_first_transactional_offset(directory: Path) -> int | None:
    """Where the partition's first transactional batch went; None if it never had one."""
    path = directory / FIRST_TRANSACTIONAL_FILE
    try:
        meta = json.loads(path.read_bytes())
        if meta["format_version"] != FIRST_TRANSACTIONAL_FORMAT:
            raise ValueError(f"format_version {meta['format_version']}")
        return int(meta["first_transactional_offset"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        # Walking the whole log is slow but right; skipping it could be wrong.
        log.error("%s is unreadable (%s); transactions are rebuilt from the log start", path, exc)
        return 0


def store_first_transactional_offset(directory: Path, offset: int) -> None:
    """Record (durably: atomic_write fsyncs) where the first transactional batch goes."""
    data = json.dumps({"format_version": FIRST_TRANSACTIONAL_FORMAT,
                       "first_transactional_offset": offset})
    atomic_write(directory / FIRST_TRANSACTIONAL_FILE, data.encode())
