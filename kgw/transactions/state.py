"""One transactional id's state, as Kafka's TransactionMetadata keeps it,
and its journal records, declared as Kafka declares TransactionLogValue:
a `TransactionRecord` (`Transaction.record`) for each change, a
`TransactionExpired` when the id is forgotten.

The states are Kafka's (TransactionState). kgw ends a transaction before it
answers EndTxn, so the two Prepare states last only while the markers are
being written, and are found at start-up only after a crash in between.
"""

from dataclasses import dataclass, field

from protocol.schema import INT16, INT32, INT64, STRING, Field, structs

from ..disk_records import DiskRecord
from ..journal import JournalKinds

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

    def record(self):
        Record = TRANSACTION_RECORD.cls
        return Record(
            transactional_id=self.transactional_id, producer_id=self.producer_id,
            producer_epoch=self.producer_epoch, timeout_ms=self.timeout_ms, state=self.state,
            partitions=[Record.TopicPartition(topic=t, partition=p)
                        for t, p in sorted(self.partitions)],
            groups=[Record.Group(group_id=g) for g in sorted(self.groups)],
            started_ms=self.started_ms, updated_ms=self.updated_ms)

    @classmethod
    def from_record(cls, record) -> "Transaction":
        return cls(record.transactional_id, record.producer_id, record.producer_epoch,
                   record.timeout_ms, record.state,
                   {(p.topic, p.partition) for p in record.partitions},
                   {g.group_id for g in record.groups}, record.started_ms, record.updated_ms)


TRANSACTION_RECORD = DiskRecord("TransactionRecord", "0", [
    Field("transactional_id", STRING),
    Field("producer_id", INT64),
    Field("producer_epoch", INT16),
    Field("timeout_ms", INT32),
    Field("state", STRING),
    Field("partitions", structs("TopicPartition", Field("topic", STRING),
                                Field("partition", INT32))),
    Field("groups", structs("Group", Field("group_id", STRING))),
    Field("started_ms", INT64),
    Field("updated_ms", INT64),
])

TRANSACTION_EXPIRED = DiskRecord("TransactionExpired", "0", [
    Field("transactional_id", STRING),
])


def expiry_record(transactional_id: str):
    return TRANSACTION_EXPIRED.cls(transactional_id=transactional_id)


def _from_json(record: dict):
    """A record of the JSON journal kgw wrote before format version 2."""
    if record["t"] == "expire":
        return expiry_record(record["id"])
    return Transaction(record["id"], record["pid"], record["e"], record["to"], record["s"],
                       {(topic, partition) for topic, partition in record["p"]},
                       set(record["g"]), record["st"], record["u"]).record()


JOURNAL = JournalKinds(b"KGWT", {0: TRANSACTION_RECORD, 1: TRANSACTION_EXPIRED},
                       legacy=_from_json)
