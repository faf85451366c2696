"""One transactional id's state, as Kafka's TransactionMetadata keeps it,
and its journal records: {"t": "txn", ...} (`Transaction.record`) for each
change, {"t": "expire", "id": ...} when the id is forgotten.

The states are Kafka's (TransactionState). kgw ends a transaction before it
answers EndTxn, so the two Prepare states last only while the markers are
being written, and are found at start-up only after a crash in between.
"""

from dataclasses import dataclass, field

EMPTY = "Empty"
ONGOING = "Ongoing"
PREPARE_COMMIT = "PrepareCommit"
PREPARE_ABORT = "PrepareAbort"
COMPLETE_COMMIT = "CompleteCommit"
COMPLETE_ABORT = "CompleteAbort"

# Every state Kafka names. kgw never holds the last two: it fences and
# aborts in one step, and forgets an expired id at once.
STATES = (EMPTY, ONGOING, PREPARE_COMMIT, PREPARE_ABORT, COMPLETE_COMMIT, COMPLETE_ABORT,
          "PrepareEpochFence", "Dead")
PREPARING = (PREPARE_COMMIT, PREPARE_ABORT)
# The states in which an idle transactional id may expire.
SETTLED = (EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT)
# An epoch at this value cannot be bumped: the id gets a new producer id
# (Kafka's Short.MaxValue - 1 check).
MAX_EPOCH = 0x7FFF - 1


@dataclass
class Transaction:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: str = EMPTY
    partitions: set[tuple[str, int]] = field(default_factory=set)
    # Groups whose offsets the transaction commits (AddOffsetsToTxn).
    groups: set[str] = field(default_factory=set)
    # When the first partition or group was added, for the timeout; -1 when
    # no transaction is open.
    started_ms: int = -1
    # When the state last changed, for the id's expiry.
    updated_ms: int = -1

    def record(self) -> dict:
        return {"t": "txn", "id": self.transactional_id, "pid": self.producer_id,
                "e": self.producer_epoch, "to": self.timeout_ms, "s": self.state,
                "p": sorted(self.partitions), "g": sorted(self.groups), "st": self.started_ms,
                "u": self.updated_ms}

    @classmethod
    def from_record(cls, record: dict) -> "Transaction":
        return cls(record["id"], record["pid"], record["e"], record["to"], record["s"],
                   {(topic, partition) for topic, partition in record["p"]}, set(record["g"]),
                   record["st"], record["u"])


def expiry_record(transactional_id: str) -> dict:
    return {"t": "expire", "id": transactional_id}
