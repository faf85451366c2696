"""Shared by the transaction compat tests (compat/transactions).

- Checks made through kgw's own protocol client (compat.harness.Wire),
  independent of the client under test: the end offsets each isolation level
  sees (ListOffsets v2), a group's committed offsets (OffsetFetch v7 with
  require_stable), and the log as kgw stored it (data batches and markers).
- The scenarios' expectations, the same for every client: which offsets
  each message and each end-transaction marker takes.
"""

import itertools
import os
import time

from protocol.records import ControlType

from ..harness import end_offsets, stored_batches

# A bound on how long a test waits for something, never an assertion.
DEADLINE_S = 30
# Kafka aborts a timed-out transaction on its next sweep
# (transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by
# default): allow a few sweeps after the timeout before giving up.
ABORT_DEADLINE_S = 60
# The transaction timeout of the timeout scenarios (Kafka refuses more than
# transaction.max.timeout.ms, 900000).
SHORT_TXN_TIMEOUT_MS = 1000

READ_UNCOMMITTED, READ_COMMITTED = 0, 1

_ids = itertools.count()


def unique(prefix: str) -> str:
    """A transactional id or group name unique across the session and runs."""
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns()}-{next(_ids)}"


# --- through kgw's own protocol client -------------------------------------

def stable_and_high(bootstrap: str, topic: str, partitions: int = 1) -> dict[int, tuple[int, int]]:
    """{partition: (last stable offset, high watermark)} as ListOffsets gives them."""
    committed = end_offsets(bootstrap, topic, partitions, READ_COMMITTED)
    uncommitted = end_offsets(bootstrap, topic, partitions, READ_UNCOMMITTED)
    return {p: (committed[p], uncommitted[p]) for p in range(partitions)}


def log_layout(data_dir, topic: str, partition: int = 0) -> list[tuple[int, str]]:
    """The partition's log as kgw stored it, one entry per offset: "txn" (a
    record of a transactional batch), "plain" (of any other batch), or the
    marker's type, "COMMIT" / "ABORT"."""
    layout = []
    for batch in stored_batches(data_dir, topic, partition):
        if batch.is_control:
            assert batch.is_transactional and batch.record_count == 1, (batch.base_offset, batch.attributes)
            layout.append((batch.base_offset, ControlType(batch.control_record().type).name))
        else:
            kind = "txn" if batch.is_transactional else "plain"
            layout.extend((batch.base_offset + i, kind) for i in range(batch.record_count))
    return layout


def batch_owners(data_dir, topic: str, partition: int = 0) -> list[tuple[int, str, int, int]]:
    """(base offset, "data" or marker type, producer id, producer epoch) of
    each batch in the partition."""
    return [(b.base_offset, ControlType(b.control_record().type).name if b.is_control else "data",
             b.producer_id, b.producer_epoch) for b in stored_batches(data_dir, topic, partition)]


def assert_fenced_by_epoch(owners, *groups):
    """One producer id throughout (a transactional id keeps its producer id),
    and epochs that never go back: `groups` are runs of batch indexes that
    share an epoch, each run's epoch above the previous run's."""
    assert len({pid for _, _, pid, _ in owners}) == 1, owners
    epochs = [{owners[i][3] for i in run} for run in groups]
    assert all(len(e) == 1 for e in epochs), owners
    flat = [e.pop() for e in epochs]
    assert flat == sorted(set(flat)), owners


def layout(*runs) -> list[tuple[int, str]]:
    """Expected log layout from runs of (kind, count) starting at offset 0."""
    out = []
    for kind, count in runs:
        start = len(out)
        out.extend((start + i, kind) for i in range(count))
    return out


# --- what every client's scenario expects -----------------------------------
# Rows are (partition, offset, key, value), as text; a key is "k-" + value.

def rows(partition: int, first_offset: int, values: list[str]) -> list[tuple]:
    return [(partition, first_offset + i, f"k-{v}", v) for i, v in enumerate(values)]


# 1. Two transactions over two partitions, both committed.
COMMIT_TXN1 = {0: ["a0", "a1", "a2"], 1: ["b0", "b1"]}
COMMIT_TXN2 = {0: ["c0", "c1"], 1: ["d0"]}
# After the first: each partition's records, then its COMMIT marker.
COMMIT_ROWS1 = rows(0, 0, COMMIT_TXN1[0]) + rows(1, 0, COMMIT_TXN1[1])
COMMIT_ENDS1 = {0: 4, 1: 3}
# The second transaction's records come after the first one's marker.
COMMIT_ROWS2 = rows(0, 4, COMMIT_TXN2[0]) + rows(1, 3, COMMIT_TXN2[1])
COMMIT_ENDS2 = {0: 7, 1: 5}
COMMIT_ROWS_ALL = sorted(COMMIT_ROWS1 + COMMIT_ROWS2)
COMMIT_LAYOUT = {0: layout(("txn", 3), ("COMMIT", 1), ("txn", 2), ("COMMIT", 1)),
                 1: layout(("txn", 2), ("COMMIT", 1), ("txn", 1), ("COMMIT", 1))}

# 2. An aborted transaction, then a committed one, in partition 0.
ABORTED = ["x0", "x1", "x2"]
COMMITTED = ["y0", "y1"]
ABORT_COMMITTED_ROWS = rows(0, 4, COMMITTED)
ABORT_ALL_ROWS = rows(0, 0, ABORTED) + rows(0, 4, COMMITTED)
ABORT_END = 7
ABORT_LAYOUT = layout(("txn", 3), ("ABORT", 1), ("txn", 2), ("COMMIT", 1))

# 3. A committed transaction, then one left open, then a plain
# (non-transactional) record written while it is open.
LSO_FIRST = ["s0", "s1"]       # offsets 0, 1; COMMIT at 2
LSO_OPEN = ["o0", "o1", "o2"]  # offsets 3, 4, 5
LSO_PLAIN = ["p0"]             # offset 6, while the transaction is open
LSO_WHILE_OPEN = {"stable": 3, "high": 7}
LSO_FIRST_ROWS = rows(0, 0, LSO_FIRST)
LSO_ALL_ROWS = rows(0, 0, LSO_FIRST) + rows(0, 3, LSO_OPEN) + rows(0, 6, LSO_PLAIN)
LSO_LATER_ROWS = rows(0, 3, LSO_OPEN) + rows(0, 6, LSO_PLAIN)
LSO_END = 8  # the COMMIT marker is at 7
LSO_LAYOUT = layout(("txn", 2), ("COMMIT", 1), ("txn", 3), ("plain", 1), ("COMMIT", 1))

# 4. Consume-transform-produce, with a consumer group reading the input
# topic and a transactional producer writing the output topic:
#    round 1 reads i0..i2 (input offsets 0-2), writes out-i0..out-i2
#      (output 0-2) and the group offset 3, and commits (COMMIT 3);
#    round 2 reads i3, i4 (3, 4), writes out-i3, out-i4 (4, 5) and the
#      group offset 5, and aborts (ABORT 6): the group offset stays 3;
#    round 3, a new member of the group, resumes at 3, reads i3, i4 again,
#      writes them again (7, 8) with the group offset 5, and commits (COMMIT 9).
CTP_INPUT1 = ["i0", "i1", "i2"]
CTP_INPUT2 = ["i3", "i4"]
CTP_INPUT_ROWS1 = rows(0, 0, CTP_INPUT1)
CTP_INPUT_ROWS2 = rows(0, 3, CTP_INPUT2)
CTP_OUTPUT_COMMITTED_ROWS = rows(0, 0, [f"out-{v}" for v in CTP_INPUT1]) + rows(0, 7, [f"out-{v}" for v in CTP_INPUT2])
CTP_OUTPUT_ALL_ROWS = sorted(CTP_OUTPUT_COMMITTED_ROWS + rows(0, 4, [f"out-{v}" for v in CTP_INPUT2]))
CTP_OUTPUT_END = 10
CTP_OUTPUT_LAYOUT = layout(("txn", 3), ("COMMIT", 1), ("txn", 2), ("ABORT", 1), ("txn", 2), ("COMMIT", 1))


def transformed(value: str) -> str:
    return f"out-{value}"


# 5. Fencing, producers A, B and C sharing a transactional id:
#    A commits f0 (0; COMMIT 1), then leaves f1 open (2).
#    B's init_transactions aborts it (ABORT 3); A's commit is refused.
#    B commits f2 (4; COMMIT 5).
#    C's init_transactions fences B, whose next transaction (f3) is refused
#    and writes nothing; C commits f4 (6; COMMIT 7).
FENCE_COMMITTED_ROWS = rows(0, 0, ["f0"]) + rows(0, 4, ["f2"]) + rows(0, 6, ["f4"])
FENCE_ALL_ROWS = rows(0, 0, ["f0"]) + rows(0, 2, ["f1"]) + rows(0, 4, ["f2"]) + rows(0, 6, ["f4"])
FENCE_END = 8
FENCE_LAYOUT = layout(("txn", 1), ("COMMIT", 1), ("txn", 1), ("ABORT", 1), ("txn", 1), ("COMMIT", 1),
                      ("txn", 1), ("COMMIT", 1))

# 6. Transaction timeout: t0, t1 (0, 1) left open past the timeout; kgw
# aborts them (ABORT 2). A new producer with the same id commits t2 (3; COMMIT 4).
TIMEOUT_OPEN = ["t0", "t1"]
TIMEOUT_AFTER_ABORT = {"stable": 3, "high": 3}
TIMEOUT_ALL_ROWS = rows(0, 0, TIMEOUT_OPEN) + rows(0, 3, ["t2"])
TIMEOUT_COMMITTED_ROWS = rows(0, 3, ["t2"])
TIMEOUT_END = 5
TIMEOUT_LAYOUT = layout(("txn", 2), ("ABORT", 1), ("txn", 1), ("COMMIT", 1))
