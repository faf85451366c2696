"""The committed-offsets journal's records, declared as Kafka declares its
__consumer_offsets records (OffsetCommitValue, GroupMetadataValue).

    OffsetCommit        offsets committed, or held for a transaction (producer id >= 0)
    TxnOffsetsEnded     a transaction's held offsets committed or dropped
    OffsetsRemoved      expired, of a deleted topic, or OffsetDelete
    GroupsDeleted       DeleteGroups
    GroupState          the protocol type, and since when the group is empty
"""

from protocol.schema import BOOL, INT32, INT64, STRING, Field, structs

from ..disk_records import DiskRecord
from ..journal import JournalKinds
from .group import CommittedOffset

NO_PRODUCER = -1
NOT_EMPTY = -1
NO_EXPIRY = -1

OFFSET_COMMIT = DiskRecord("OffsetCommit", "0", [
    Field("group_id", STRING),
    # The transaction holding the offsets until it ends, or NO_PRODUCER.
    Field("producer_id", INT64, default=NO_PRODUCER),
    Field("offsets", structs(
        "Offset",
        Field("topic", STRING),
        Field("partition", INT32),
        Field("offset", INT64),
        Field("leader_epoch", INT32),
        Field("metadata", STRING),
        Field("commit_timestamp", INT64),
        # Only OffsetCommit v2-4 with an explicit retention time sets it.
        Field("expire_timestamp", INT64, default=NO_EXPIRY))),
])

TXN_OFFSETS_ENDED = DiskRecord("TxnOffsetsEnded", "0", [
    Field("group_id", STRING),
    Field("producer_id", INT64),
    Field("committed", BOOL),
])

OFFSETS_REMOVED = DiskRecord("OffsetsRemoved", "0", [
    Field("group_id", STRING),
    Field("partitions", structs("TopicPartition", Field("topic", STRING),
                                Field("partition", INT32))),
])

GROUPS_DELETED = DiskRecord("GroupsDeleted", "0", [
    Field("group_ids", structs("Group", Field("group_id", STRING))),
])

GROUP_STATE = DiskRecord("GroupState", "0", [
    Field("group_id", STRING),
    Field("protocol_type", STRING, nullable="0+"),
    # When the group became empty, or NOT_EMPTY.
    Field("empty_since", INT64, default=NOT_EMPTY),
])


def offset_commit(group_id: str, offsets: list[tuple[str, int, CommittedOffset]],
                  producer_id: int = NO_PRODUCER):
    Offset = OFFSET_COMMIT.cls.Offset
    return OFFSET_COMMIT.cls(group_id=group_id, producer_id=producer_id, offsets=[
        Offset(topic=topic, partition=partition, offset=c.offset, leader_epoch=c.leader_epoch,
               metadata=c.metadata, commit_timestamp=c.commit_timestamp_ms,
               expire_timestamp=NO_EXPIRY if c.expire_timestamp_ms is None else c.expire_timestamp_ms)
        for topic, partition, c in offsets])


def committed_offsets(record) -> list[tuple[str, int, CommittedOffset]]:
    return [(o.topic, o.partition,
             CommittedOffset(o.offset, o.leader_epoch, o.metadata, o.commit_timestamp,
                             None if o.expire_timestamp == NO_EXPIRY else o.expire_timestamp))
            for o in record.offsets]


def offsets_removed(group_id: str, keys: list[tuple[str, int]]):
    Partition = OFFSETS_REMOVED.cls.TopicPartition
    return OFFSETS_REMOVED.cls(group_id=group_id, partitions=[
        Partition(topic=topic, partition=partition) for topic, partition in keys])


def groups_deleted(group_ids: list[str]):
    return GROUPS_DELETED.cls(group_ids=[GROUPS_DELETED.cls.Group(group_id=g) for g in group_ids])


def group_state(group_id: str, protocol_type: str | None, empty_since: int | None):
    return GROUP_STATE.cls(group_id=group_id, protocol_type=protocol_type,
                           empty_since=NOT_EMPTY if empty_since is None else empty_since)


def _from_json(record: dict):
    """A record of the JSON journal kgw wrote before format version 2."""
    kind = record["t"]
    if kind in ("commit", "txn_commit"):
        offsets = [(topic, partition, CommittedOffset(offset, epoch, metadata, commit_ms, expire_ms))
                   for topic, partition, offset, epoch, metadata, commit_ms, expire_ms in record["o"]]
        return offset_commit(record["g"], offsets, record.get("pid", NO_PRODUCER))
    if kind == "txn_end":
        return TXN_OFFSETS_ENDED.cls(group_id=record["g"], producer_id=record["pid"],
                                     committed=record["c"])
    if kind == "expire":
        return offsets_removed(record["g"], [tuple(key) for key in record["p"]])
    if kind == "delete":
        return groups_deleted(record["gs"])
    if kind == "group":
        return group_state(record["g"], record["pt"], record["empty_since"])
    raise ValueError(f"unknown journal record type {kind!r}")


JOURNAL = JournalKinds(b"KGWO", {
    0: OFFSET_COMMIT,
    1: TXN_OFFSETS_ENDED,
    2: OFFSETS_REMOVED,
    3: GROUPS_DELETED,
    4: GROUP_STATE,
}, legacy=_from_json)
