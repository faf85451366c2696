"""Idempotent and transactional producers: InitProducerId, the
transactional APIs, and the admin APIs of KIP-664."""

from protocol.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, END_TXN,
    FIND_COORDINATOR, LIST_TRANSACTIONS,
)

from ..scenario import Batch, Ref, scenario, step
from .common import create, fetch, init_pid, produce


def coordinator(txn: str = "$x"):
    return step(FIND_COORDINATOR, 3, {"key": txn, "key_type": 1}, check=False)


def add_partitions(version: int = 3, topic: str = "$t", partitions=(0,), pid: str = "p", txn: str = "$x"):
    return step(ADD_PARTITIONS_TO_TXN, version, {
        "v3_and_below_transactional_id": txn, "v3_and_below_producer_id": Ref(pid),
        "v3_and_below_producer_epoch": Ref(f"{pid}.epoch"),
        "v3_and_below_topics": [{"name": topic, "partitions": list(partitions)}]})


def end_txn(commit: bool, version: int = 3, pid: str = "p", txn: str = "$x", **options):
    return step(END_TXN, version, {"transactional_id": txn, "producer_id": Ref(pid),
                                   "producer_epoch": Ref(f"{pid}.epoch"), "committed": commit}, **options)


def settled(txn: str = "$x"):
    """Wait until the transaction's markers are written: Kafka answers
    EndTxn once its decision is durable and writes the markers after (kgw
    before answering; README), a moment no scenario means to compare."""
    return step(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn]}, check=False,
                until=lambda r: r.transaction_states[0].transaction_state in ("CompleteCommit", "CompleteAbort",
                                                                              "Empty"))


def txn_batch(*values, pid: str = "p", seq: int = 0):
    return Batch(tuple(values), producer_id=Ref(pid), producer_epoch=Ref(f"{pid}.epoch"),
                 base_sequence=seq, transactional=True)


SCENARIOS = [
    scenario("initproducerid.v4.idempotent", init_pid(txn=None), init_pid(txn=None, save="q")),
    scenario("transactions.commit-then-read-committed", create("t"), coordinator(), init_pid(),
             add_partitions(), produce("t", txn_batch(b"a", b"b"), transactional_id="$x"),
             end_txn(True), settled(), fetch("t", isolation_level=1),
             step(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": ["$x"]}),
             step(DESCRIBE_PRODUCERS, 0, {"topics": [{"name": "$t", "partition_indexes": [0]}]})),
    scenario("endtxn.without-partitions", coordinator(), init_pid(), end_txn(True)),
    scenario("addoffsetstotxn.v3", coordinator(), init_pid(),
             step(ADD_OFFSETS_TO_TXN, 3, {"transactional_id": "$x", "producer_id": Ref("p"),
                                          "producer_epoch": Ref("p.epoch"), "group_id": "$g"}),
             end_txn(False)),
    scenario("transactions.fenced", create("t"), coordinator(), init_pid(), init_pid(save="p2"),
             add_partitions()),
    scenario("listtransactions.v2.pattern", create("t"), coordinator(), init_pid(), add_partitions(),
             step(LIST_TRANSACTIONS, 2, {"state_filters": [], "producer_id_filters": [],
                                         "transactional_id_pattern": "listtransactions.*"})),
]
