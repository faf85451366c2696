"""Produce and the log it writes, read back with Fetch and ListOffsets;
idempotent producers' sequences."""

import uuid

from protocol.compression import Codec
from protocol.records import ControlType, build_control_batch

from protocol.messages import DELETE_RECORDS, FETCH, LIST_OFFSETS, PRODUCE

from ..scenario import BASE_TIMESTAMP as BASE_TS
from ..scenario import Batch, Clock, Join, Ref, Tamper, scenario, step
from .common import create, fetch, init_pid, list_offsets, produce, topic_id
from .transactions import add_partitions

HOUR_MS = 3_600_000
MARKER = build_control_batch(ControlType.COMMIT, producer_id=1, producer_epoch=0, timestamp=1_600_000_000_000)


def idempotent(*values, seq: int, epoch=None, pid: str = "p") -> Batch:
    return Batch(tuple(values), producer_id=Ref(pid), base_sequence=seq,
                 producer_epoch=epoch if epoch is not None else Ref(f"{pid}.epoch"))


def delete_records(local: str, offset: int):
    return step(DELETE_RECORDS, 2, {"topics": [{"name": f"${local}", "partitions": [
        {"partition_index": 0, "offset": offset}]}], "timeout_ms": 30000})


def _init(save: str = "p"):
    return init_pid(txn=None, save=save, check=False)


SCENARIOS = [
    *[scenario(f"produce.v{v}.acks-all", create("t"), produce("t", Batch((b"a", b"b")), version=v),
               produce("t", Batch((b"c",)), version=v), fetch("t"))
      for v in range(0, 11)],
    *[scenario(f"produce.v{v}.acks-1", create("t"), produce("t", Batch((b"a",)), version=v, acks=1))
      for v in (3, 7, 10)],
    scenario("produce.acks-0-then-fetch", create("t"), produce("t", Batch((b"a",)), acks=0),
             produce("t", Batch((b"b",)), acks=1), fetch("t")),
    scenario("produce.acks-invalid", create("t"), produce("t", acks=2)),
    scenario("produce.unknown-topic", produce("t")),
    scenario("produce.bad-partition", create("t"), produce("t", partition=3)),
    scenario("produce.negative-partition", create("t"), produce("t", partition=-1)),
    scenario("produce.two-partitions-one-bad", create("t", partitions=2),
             produce("t", partition=1), produce("t", partition=2)),
    scenario("produce.null-records", create("t"), produce("t", None, timeout=3)),
    scenario("produce.two-batches", create("t"), produce("t", Join((Batch((b"a",)), Batch((b"b",)))))),
    scenario("produce.corrupt-crc", create("t"), produce("t", Tamper(Batch((b"abc",)), -1, b"x"))),
    scenario("produce.truncated-batch", create("t"), produce("t", Tamper(Batch((b"abcdef",)), 8, b"\x00\x00\x01\x00"))),
    scenario("produce.control-batch", create("t"), produce("t", MARKER)),
    scenario("produce.message-too-large", create("t", configs={"max.message.bytes": "100"}),
             produce("t", Batch((b"x" * 200,)))),
    scenario("produce.timestamp-too-old", create("t", configs={"message.timestamp.before.max.ms": "1000"}),
             produce("t", Batch((b"a", b"b", b"c"), timestamps=(Clock(), 1_600_000_000_000, Clock(-5000))))),
    scenario("produce.timestamp-too-new", create("t"),
             produce("t", Batch((b"a", b"b"), timestamps=(Clock(2 * HOUR_MS), Clock())))),
    *[scenario(f"produce.v{v}.zstd", create("t"), produce("t", Batch((b"z",), codec=Codec.ZSTD), version=v),
               fetch("t"))
      for v in (3, 6, 7)],
    scenario("produce.claims-log-append-time", create("t"), create("l", configs={
        "message.timestamp.type": "LogAppendTime"}),
             produce("t", Tamper(Batch((b"a",)), 22, b"\x08")), produce("l", Tamper(Batch((b"a", b"b")), 22, b"\x08")),
             fetch("t")),
    scenario("produce.no-timestamp", create("t", configs={"message.timestamp.before.max.ms": "1000"}),
             produce("t", Batch((b"a",), timestamps=(-1,))), fetch("t")),
    scenario("produce.two-topics-one-unknown", create("t"),
             step(PRODUCE, 9, {"transactional_id": None, "acks": -1, "timeout_ms": 30000, "topic_data": [
                 {"name": "$t", "partition_data": [{"index": 0, "records": Batch()}]},
                 {"name": "$missing", "partition_data": [{"index": 0, "records": Batch()}]}]})),
    scenario("produce.acks-0-unknown-partition", create("t"), produce("t", partition=4, acks=0),
             produce("t", acks=1)),
    scenario("produce.exactly-max-message-bytes", create("t", configs={"max.message.bytes": "80"}),
             produce("t", Batch((b"x" * 11,))), produce("t", Batch((b"x" * 12,)))),
    scenario("produce.log-append-time", create("t", configs={"message.timestamp.type": "LogAppendTime"}),
             produce("t", Batch((b"a", b"b"))), fetch("t"), list_offsets("t", -3)),
    *[scenario(f"produce.codec-{codec.name.lower()}", create("t"),
               produce("t", Batch((b"a" * 100, b"b" * 100), keys=(b"k1", None), codec=codec,
                                  headers=(("h", b"v"),))), fetch("t"))
      for codec in Codec],
    scenario("produce.idempotent-duplicate-and-gap", create("t"), _init(),
             produce("t", idempotent(b"a", seq=0)), produce("t", idempotent(b"b", b"c", seq=1)),
             produce("t", idempotent(b"a", seq=0)), produce("t", idempotent(b"b", b"c", seq=1)),
             produce("t", idempotent(b"d", seq=5)), fetch("t")),
    scenario("produce.idempotent-old-epoch", create("t"), _init(),
             produce("t", idempotent(b"a", seq=0)), produce("t", idempotent(b"b", seq=1, epoch=-1))),
    scenario("produce.idempotent-unknown-producer-seq-5", create("t"),
             produce("t", Batch((b"a",), producer_id=123456, producer_epoch=0, base_sequence=5))),
    scenario("produce.idempotent-no-sequence", create("t"), _init(),
             produce("t", Batch((b"a",), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=-1))),
    scenario("produce.idempotent-two-producers", create("t"), _init(), _init(save="q"),
             produce("t", idempotent(b"a", seq=0)), produce("t", idempotent(b"b", seq=0, pid="q")),
             produce("t", idempotent(b"c", seq=1)), fetch("t")),
    scenario("produce.transactional-without-id", create("t"), _init(),
             produce("t", Batch((b"a",), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0,
                                transactional=True))),
    # A topic's compression.type other than `producer`: the broker stores
    # (and a Fetch returns) every batch in that codec, whatever the
    # producer's; the same codec, or `producer`, keeps the batch as sent.
    *[scenario(f"produce.topic-{topic_codec}-from-{codec.name.lower()}",
               create("t", configs={"compression.type": topic_codec}),
               produce("t", Batch((b"a" * 100, b"b", b""), keys=(b"k1", None, b"k3"), codec=codec,
                                  headers=(("h", b"v"),), timestamps=(BASE_TS + 5, BASE_TS, BASE_TS + 2))),
               produce("t", Batch((b"c",), codec=codec)), fetch("t"), fetch("t", offset=3))
      for topic_codec, codec in [("gzip", Codec.NONE), ("snappy", Codec.GZIP), ("lz4", Codec.ZSTD),
                                 ("zstd", Codec.LZ4), ("uncompressed", Codec.SNAPPY), ("producer", Codec.GZIP),
                                 ("gzip", Codec.GZIP)]],
    scenario("produce.topic-compression-idempotent", create("t", configs={"compression.type": "gzip"}), _init(),
             produce("t", Batch((b"a", b"b"), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0,
                                codec=Codec.LZ4)),
             produce("t", Batch((b"a", b"b"), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0,
                                codec=Codec.LZ4)),
             fetch("t")),
    scenario("produce.topic-compression-log-append-time", create("t", configs={
        "compression.type": "zstd", "message.timestamp.type": "LogAppendTime"}),
             produce("t", Batch((b"a", b"b"), codec=Codec.SNAPPY)), fetch("t")),
    scenario("produce.topic-compression-too-large", create("t", configs={
        "compression.type": "uncompressed", "max.message.bytes": "500"}),
             produce("t", Batch((b"z" * 2000,), codec=Codec.GZIP)), fetch("t")),
    # A compacted topic refuses a batch holding a record without a key, and
    # names each such record; DeleteRecords needs `delete` in its policy.
    *[scenario(f"produce.compacted-keyless-{codec.name.lower()}", create("t", configs={"cleanup.policy": "compact"}),
               produce("t", Batch((b"a", b"b", b"c"), keys=(b"k1", None, None), codec=codec)),
               produce("t", Batch((b"d",), codec=codec)),
               produce("t", Batch((b"e", b"f"), keys=(b"k1", b"k2"), codec=codec)), fetch("t"))
      for codec in (Codec.NONE, Codec.GZIP)],
    scenario("produce.compacted-keyless-v3", create("t", configs={"cleanup.policy": "compact,delete"}),
             produce("t", Batch((b"a",)), version=3), produce("t", Batch((b"a",)), version=7),
             produce("t", Batch((b"b",), keys=(b"k",)), version=3), fetch("t")),
    scenario("produce.compacted-keyless-transactional", create("t", configs={"cleanup.policy": "compact"}),
             init_pid(), add_partitions(),
             produce("t", Batch((b"a",), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0,
                                transactional=True), transactional_id="$x")),
    scenario("deleterecords.compact-only", create("t", configs={"cleanup.policy": "compact"}),
             produce("t", Batch((b"a", b"b"), keys=(b"k1", b"k2"))), delete_records("t", 1),
             list_offsets("t", -2)),
    scenario("deleterecords.compact-and-delete", create("t", configs={"cleanup.policy": "compact,delete"}),
             produce("t", Batch((b"a", b"b"), keys=(b"k1", b"k2"))), delete_records("t", 1),
             list_offsets("t", -2)),
    # min.insync.replicas above the replication factor: Kafka 4.4 takes
    # the smaller (KIP-966), so acks=all on one replica is not refused.
    scenario("produce.min-insync-replicas", create("t", configs={"min.insync.replicas": "2"}),
             produce("t", Batch((b"a",))), produce("t", Batch((b"b",)), acks=1), produce("t", Batch((b"c",)), acks=0),
             produce("t", Batch((b"d",)), version=3), fetch("t")),
    # Fetch.
    *[scenario(f"fetch.v{v}", create("t"), produce("t", Batch((b"a", b"b"))), produce("t", Batch((b"c",))),
               *([] if v < 13 else [topic_id("t")]), fetch("t", version=v), fetch("t", offset=1, version=v),
               fetch("t", offset=3, version=v))
      for v in range(4, 17)],
    scenario("fetch.out-of-range", create("t"), produce("t"), fetch("t", offset=5)),
    scenario("fetch.out-of-range-read-committed", create("t"), produce("t"), fetch("t", offset=5, isolation_level=1)),
    scenario("fetch.negative-offset", create("t"), produce("t"), fetch("t", offset=-1)),
    scenario("fetch.unknown-topic", fetch("t")),
    scenario("fetch.bad-partition", create("t"), fetch("t", partition=4)),
    scenario("fetch.small-max-bytes", create("t"), produce("t", Batch((b"a" * 300,))),
             produce("t", Batch((b"b" * 300,))), fetch("t", max_bytes=10), fetch("t", partition_max_bytes=400)),
    scenario("fetch.v13.unknown-topic-id", create("t"),
             step(FETCH, 13, {"max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20, "isolation_level": 0,
                              "session_epoch": -1, "topics": [{"topic_id": uuid.UUID(int=99), "partitions": [
                                  {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}]})),
    scenario("fetch.v16.by-id-and-bad-partition", create("t"), produce("t"), topic_id("t"),
             fetch("t", version=16, partition=3)),
    scenario("fetch.session-requested", create("t"), produce("t"),
             fetch("t", session_epoch=0)),
    scenario("fetch.unknown-session", create("t"), fetch("t", session_id=1234, session_epoch=1)),
    scenario("fetch.sessionless-bad-epoch", create("t"), fetch("t", session_epoch=5)),
    scenario("fetch.full-naming-a-session", create("t"), produce("t"), fetch("t", session_id=4321, session_epoch=-1)),
    scenario("listoffsets.v6.max-timestamp", create("t"), produce("t"), list_offsets("t", -3, version=6),
             list_offsets("t", -4, version=7), list_offsets("t", -5, version=8)),
    scenario("fetch.leader-epoch", create("t"), produce("t"), fetch("t", leader_epoch=0),
             fetch("t", leader_epoch=5), fetch("t", leader_epoch=-5)),
    scenario("fetch.v12.last-fetched-epoch", create("t"), produce("t"), fetch("t", offset=1, last_fetched_epoch=0),
             fetch("t", offset=1, last_fetched_epoch=3)),
    scenario("fetch.two-partitions-one-limit", create("t", partitions=2), produce("t", Batch((b"a" * 200,))),
             produce("t", Batch((b"b" * 200,)), partition=1),
             step(FETCH, 12, {"max_wait_ms": 0, "min_bytes": 0, "max_bytes": 300, "isolation_level": 0,
                              "session_epoch": -1, "topics": [{"topic": "$t", "partitions": [
                                  {"partition": p, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
                                  for p in (0, 1)]}]})),
    scenario("fetch.min-bytes-reached", create("t"), produce("t"), fetch("t", min_bytes=1, max_wait_ms=10_000)),
    scenario("fetch.from-the-middle-of-a-batch", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
             fetch("t", offset=2)),
    scenario("fetch.after-delete-records", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
             delete_records("t", 2), fetch("t", offset=1), fetch("t", offset=2), list_offsets("t", -2)),
    scenario("listoffsets.leader-epoch", create("t"), produce("t"), list_offsets("t", -1, leader_epoch=0),
             list_offsets("t", -1, leader_epoch=4), list_offsets("t", -1, leader_epoch=-3)),
    scenario("listoffsets.duplicate-partition", create("t"),
             step(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [{"name": "$t", "partitions": [
                 {"partition_index": 0, "timestamp": -1}, {"partition_index": 0, "timestamp": -2}]}]})),
    scenario("listoffsets.negative-timestamp", create("t"), produce("t"), list_offsets("t", -7)),
    scenario("fetch.read-committed-no-transactions", create("t"), produce("t"), fetch("t", isolation_level=1)),
    # ListOffsets.
    *[scenario(f"listoffsets.v{v}", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
               produce("t", Batch((b"d",), timestamps=(1_500_000_000_000,))),
               *[list_offsets("t", ts, version=v) for ts in (-2, -1, 1_600_000_000_001, 1_700_000_000_000)],
               *([list_offsets("t", -3, version=v)] if v >= 7 else []),
               *([list_offsets("t", -4, version=v)] if v >= 8 else []),
               *([list_offsets("t", -5, version=v)] if v >= 9 else []))
      for v in range(1, 10)],
    scenario("fetch.isolation-level-2", create("t"), produce("t"), fetch("t", isolation_level=2)),
    scenario("fetch.negative-sizes", create("t"), produce("t"), fetch("t", max_bytes=-1),
             fetch("t", partition_max_bytes=-5), fetch("t", min_bytes=-1)),
    scenario("fetch.zero-partition-max-bytes", create("t"), produce("t"), fetch("t", partition_max_bytes=0)),
    scenario("listoffsets.isolation-level-2", create("t"), produce("t"), list_offsets("t", -1, isolation_level=2)),
    scenario("deleterecords.below-log-start", create("t"), produce("t", Batch((b"a", b"b", b"c"))),
             delete_records("t", 2), delete_records("t", 1), list_offsets("t", -2)),
    scenario("listoffsets.unknown-topic", list_offsets("t", -1)),
    scenario("listoffsets.bad-partition", create("t"), list_offsets("t", -1, partition=2)),
    scenario("listoffsets.empty-partition", create("t"), list_offsets("t", -3), list_offsets("t", 0)),
]
