"""Steps many scenarios share: making a topic, producing, fetching,
joining a group."""

import struct
from dataclasses import dataclass

from protocol.messages import (
    CREATE_TOPICS, DESCRIBE_GROUPS, FETCH, INIT_PRODUCER_ID, JOIN_GROUP, LIST_OFFSETS, METADATA, PRODUCE, SYNC_GROUP,
)

from ..scenario import Batch, Context, Ref, Step, step

NONE = 0


def _all_led(topics: int):
    def check(body) -> bool:
        return len(body.topics) == topics and all(
            t.error_code == NONE and t.partitions and all(p.leader_id >= 0 for p in t.partitions)
            for t in body.topics)
    return check


def settle(local: str, partitions: int = 1) -> list[Step]:
    """Wait until the topic serves on every partition: Kafka answers
    CreateTopics once its controller decided, and its broker learns of the
    topic a moment later, first in its metadata and then in the partitions
    it leads (NOT_LEADER_OR_FOLLOWER meanwhile)."""
    return [step(METADATA, 12, {"topics": [{"name": f"${local}"}], "allow_auto_topic_creation": False},
                 check=False, until=_all_led(1)),
            step(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
                {"name": f"${local}", "partitions": [{"partition_index": i, "timestamp": -1}
                                                     for i in range(partitions)]}]},
                 check=False, until=lambda r: all(p.error_code == NONE for t in r.topics for p in t.partitions))]


def create(local: str, partitions: int = 1, configs: dict | None = None, version: int = 4,
           check: bool = True) -> list[Step]:
    """CreateTopics for the scenario's topic `local`, then `settle`. v4 by
    default: v5+ answers with every config of the topic, which only the
    config scenarios mean to compare."""
    topic = {"name": f"${local}", "num_partitions": partitions, "replication_factor": 1,
             "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}
    return [step(CREATE_TOPICS, version, {"topics": [topic], "timeout_ms": 30000}, check=check),
            settle(local, partitions)]


def topic_id(local: str, key: str | None = None) -> Step:
    """Save the topic's id as `key` (default "id:<local>") for the APIs that
    name topics by id."""
    return step(METADATA, 12, {"topics": [{"name": f"${local}"}], "allow_auto_topic_creation": False},
                check=False, save={key or f"id:{local}": lambda r: r.topics[0].topic_id})


ONE_RECORD = Batch()


def produce(local: str, batch=ONE_RECORD, partition: int = 0, version: int = 9, acks: int = -1,
            transactional_id=None, **options) -> Step:
    return step(PRODUCE, version, {
        "transactional_id": transactional_id, "acks": acks, "timeout_ms": 30000,
        "topic_data": [{"name": f"${local}", "partition_data": [
            {"index": partition, "records": batch}]}]}, **options)


def fetch(local: str, offset: int = 0, partition: int = 0, version: int = 12, max_bytes: int = 1 << 20,
          partition_max_bytes: int = 1 << 20, isolation_level: int = 0, max_wait_ms: int = 0,
          min_bytes: int = 0, session_id: int = 0, session_epoch: int = -1, leader_epoch: int = -1,
          last_fetched_epoch: int = -1, **options) -> Step:
    partition_request = {"partition": partition, "fetch_offset": offset,
                         "partition_max_bytes": partition_max_bytes}
    if version >= 9:
        partition_request["current_leader_epoch"] = leader_epoch
    if version >= 12:
        partition_request["last_fetched_epoch"] = last_fetched_epoch
    topic: dict = {"partitions": [partition_request]}
    if version >= 13:
        topic["topic_id"] = Ref(f"id:{local}")
    else:
        topic["topic"] = f"${local}"
    fields = {"max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": max_bytes,
              "isolation_level": isolation_level, "topics": [topic]}
    if version >= 7:
        fields["session_id"], fields["session_epoch"] = session_id, session_epoch
    return step(FETCH, version, fields, **options)


def list_offsets(local: str, timestamp: int, partition: int = 0, version: int = 7,
                 isolation_level: int = 0, leader_epoch: int = -1, **options) -> Step:
    fields: dict = {"replica_id": -1, "topics": [
        {"name": f"${local}", "partitions": [{"partition_index": partition, "timestamp": timestamp,
                                              "current_leader_epoch": leader_epoch}]}]}
    if version >= 2:
        fields["isolation_level"] = isolation_level
    return step(LIST_OFFSETS, version, fields, **options)


TXN_TIMEOUT_MS = 60_000


def init_pid(version: int = 4, txn: str | None = "$x", save: str = "p", **options) -> Step:
    """InitProducerId; keeps the producer id and epoch as "<save>" and "<save>.epoch"."""
    fields = {"transactional_id": txn, "transaction_timeout_ms": TXN_TIMEOUT_MS}
    return step(INIT_PRODUCER_ID, version, fields,
                save={save: lambda r: r.producer_id, f"{save}.epoch": lambda r: r.producer_epoch}, **options)


# --- consumer groups -------------------------------------------------------

def _string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def subscription(*topics: str) -> "_Subscription":
    """A consumer's JoinGroup metadata (ConsumerProtocolSubscription v0)
    naming the scenario topics `topics` (local names, resolved later)."""
    return _Subscription(topics)


def assignment(**partitions) -> "_Assignment":
    """A SyncGroup assignment (ConsumerProtocolAssignment v0): local topic
    name -> partition list."""
    return _Assignment(tuple(partitions.items()))


@dataclass(frozen=True)
class _Subscription:
    topics: tuple

    def resolve(self, ctx: Context) -> bytes:
        return (struct.pack(">hi", 0, len(self.topics))
                + b"".join(_string(ctx.name(t)) for t in self.topics) + struct.pack(">i", -1))


@dataclass(frozen=True)
class _Assignment:
    partitions: tuple

    def resolve(self, ctx: Context) -> bytes:
        out = struct.pack(">hi", 0, len(self.partitions))
        for topic, indexes in self.partitions:
            out += _string(ctx.name(topic)) + struct.pack(f">i{len(indexes)}i", len(indexes), *indexes)
        return out + struct.pack(">i", -1)


SESSION_MS = 10_000
REBALANCE_MS = 5_000


def join(group: str = "g", version: int = 7, member=None, conn: str = "main", topics=("t",),
         protocol_type: str = "consumer", protocols=("range",), session_ms: int = SESSION_MS,
         instance_id=None, save_as: str | None = None, **options) -> Step:
    """JoinGroup for the scenario's group; `save_as` keeps the member id,
    the generation and the leader as "<save_as>", "<save_as>.gen" and
    "<save_as>.leader"."""
    fields = {"group_id": f"${group}", "session_timeout_ms": session_ms,
              "rebalance_timeout_ms": REBALANCE_MS, "member_id": member if member is not None else "",
              "group_instance_id": instance_id, "protocol_type": protocol_type,
              "protocols": [{"name": p, "metadata": subscription(*topics)} for p in protocols]}
    if save_as:
        options["save"] = {save_as: lambda r: r.member_id, f"{save_as}.gen": lambda r: r.generation_id,
                           f"{save_as}.leader": lambda r: r.leader}
    return step(JOIN_GROUP, version, fields, conn=conn, **options)


def sync(member: str, group: str = "g", version: int = 5, assignments: dict | None = None,
         conn: str = "main", protocol_type="consumer", protocol_name="range", generation=None,
         **options) -> Step:
    """SyncGroup for the member saved as `member`; `assignments` maps saved
    member names to `assignment(...)` values (the leader's duty)."""
    return step(SYNC_GROUP, version, {
        "group_id": f"${group}", "generation_id": generation if generation is not None else Ref(f"{member}.gen"),
        "member_id": Ref(member), "protocol_type": protocol_type, "protocol_name": protocol_name,
        "assignments": [{"member_id": Ref(m), "assignment": a} for m, a in (assignments or {}).items()]},
        conn=conn, **options)


def in_state(state: str, group: str = "g") -> Step:
    """Wait until the group is in `state`: a request deferred on another
    connection has then been handled, whichever connection the broker
    reads first."""
    return step(DESCRIBE_GROUPS, 5, {"groups": [f"${group}"]}, check=False,
                until=lambda r: r.groups[0].group_state == state)


def member_of(group: str = "g", name: str = "m1", conn: str = "main", topics=("t",), check: bool = False,
              **join_options) -> list[Step]:
    """A member that joined and synced a group of its own (as its leader),
    assigned every partition 0 of `topics`: the group is Stable."""
    return [join(group, conn=conn, topics=topics, save_as=name, check=check, **join_options),
            join(group, member=Ref(name), conn=conn, topics=topics, save_as=name, check=check,
                 **join_options),
            sync(name, group, conn=conn, assignments={name: assignment(**{t: [0] for t in topics})},
                 protocol_type=join_options.get("protocol_type", "consumer"), check=check)]
