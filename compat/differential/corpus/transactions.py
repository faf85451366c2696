"""Idempotent and transactional producers: InitProducerId, the
transactional APIs, and the admin APIs of KIP-664."""

from protocol.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, END_TXN,
    FIND_COORDINATOR, INIT_PRODUCER_ID, LIST_TRANSACTIONS, TXN_OFFSET_COMMIT, WRITE_TXN_MARKERS,
)

from ..scenario import Batch, Ref, collect, scenario, step
from .common import assignment, create, fetch, in_state, init_pid, join, list_offsets, member_of, produce, sync
from .offsets import fetch_offsets


def coordinator(txn: str = "$x"):
    return step(FIND_COORDINATOR, 3, {"key": txn, "key_type": 1}, check=False)


def begin(txn: str = "$x", pid: str = "p", version: int = 4):
    """A transactional producer ready to begin: its coordinator found, its id initialised."""
    return [coordinator(txn), init_pid(version, txn=txn, save=pid)]


def fence(save: str = "p2", txn: str = "$x"):
    """A new incarnation of the transactional id, fencing the old one. If a
    transaction is open, Kafka first answers CONCURRENT_TRANSACTIONS while
    it aborts it, and a client asks again (kgw aborts before it answers,
    `initproducerid-fences-at-once`): its final answer is compared."""
    return init_pid(txn=txn, save=save, until=lambda r: r.error_code == 0)


def add_partitions(version: int = 3, topic: str = "$t", partitions=(0,), pid: str = "p", txn: str = "$x",
                   epoch=None, producer_id=None, **options):
    return step(ADD_PARTITIONS_TO_TXN, version, {
        "v3_and_below_transactional_id": txn,
        "v3_and_below_producer_id": Ref(pid) if producer_id is None else producer_id,
        "v3_and_below_producer_epoch": Ref(f"{pid}.epoch") if epoch is None else epoch,
        "v3_and_below_topics": [{"name": topic, "partitions": list(partitions)}]}, **options)


def add_offsets(version: int = 3, group: str = "$g", pid: str = "p", txn: str = "$x", epoch=None, **options):
    return step(ADD_OFFSETS_TO_TXN, version, {
        "transactional_id": txn, "producer_id": Ref(pid),
        "producer_epoch": Ref(f"{pid}.epoch") if epoch is None else epoch, "group_id": group}, **options)


def end_txn(commit: bool, version: int = 3, pid: str = "p", txn: str = "$x", epoch=None, producer_id=None,
            **options):
    return step(END_TXN, version, {"transactional_id": txn,
                                   "producer_id": Ref(pid) if producer_id is None else producer_id,
                                   "producer_epoch": Ref(f"{pid}.epoch") if epoch is None else epoch,
                                   "committed": commit}, **options)


def txn_commit(version: int = 3, offset: int = 3, group: str = "$g", pid: str = "p", txn: str = "$x",
               topic: str = "$t", generation: int = -1, member="", epoch=None, **options):
    return step(TXN_OFFSET_COMMIT, version, {
        "transactional_id": txn, "group_id": group, "producer_id": Ref(pid),
        "producer_epoch": Ref(f"{pid}.epoch") if epoch is None else epoch,
        "generation_id": generation, "member_id": member,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": 0, "committed_offset": offset, "committed_metadata": "in a transaction"}]}]},
        **options)


def settled(txn: str = "$x"):
    """Wait until the transaction's markers are written: Kafka answers
    EndTxn once its decision is durable and writes the markers after (kgw
    before answering; README), a moment no scenario means to compare."""
    return step(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn]}, check=False,
                until=lambda r: r.transaction_states[0].transaction_state in ("CompleteCommit", "CompleteAbort",
                                                                              "Empty"))


def describe_txn(*txns: str):
    return step(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": list(txns or ("$x",))})


def describe_producers(topic: str = "$t", partitions=(0,)):
    return step(DESCRIBE_PRODUCERS, 0, {"topics": [{"name": topic, "partition_indexes": list(partitions)}]})


def list_txns(version: int = 2, states=(), pids=(), duration: int = -1, pattern=None):
    return step(LIST_TRANSACTIONS, version, {"state_filters": list(states), "producer_id_filters": list(pids),
                                             "duration_filter": duration, "transactional_id_pattern": pattern})


def txn_batch(*values, pid: str = "p", seq: int = 0, epoch=None):
    return Batch(tuple(values) or (b"v",), producer_id=Ref(pid),
                 producer_epoch=Ref(f"{pid}.epoch") if epoch is None else epoch,
                 base_sequence=seq, transactional=True)


def markers(version: int, committed: bool, topic: str = "$t", partitions=(0,), pid: str = "p", epoch=None,
            coordinator_epoch: int = 0):
    marker = {"producer_id": Ref(pid), "producer_epoch": Ref(f"{pid}.epoch") if epoch is None else epoch,
              "transaction_result": committed, "coordinator_epoch": coordinator_epoch,
              "topics": [{"name": topic, "partition_indexes": list(partitions)}]}
    return step(WRITE_TXN_MARKERS, version, {"markers": [marker]})


def transaction(commit: bool = True, *values, seq: int = 0):
    """One transaction of `values` to partition 0 of $t, ended and settled."""
    return [add_partitions(), produce("t", txn_batch(*values, seq=seq), transactional_id="$x"),
            end_txn(commit), settled()]


SCENARIOS = [
    *[scenario(f"initproducerid.v{v}.idempotent", init_pid(v, txn=None), init_pid(v, txn=None, save="q"))
      for v in range(0, 5)],
    *[scenario(f"initproducerid.v{v}.transactional", coordinator(), init_pid(v), init_pid(v, save="p2"),
               describe_txn())
      for v in range(0, 5)],
    scenario("initproducerid.empty-transactional-id", init_pid(txn="")),
    scenario("initproducerid.timeout-too-long", coordinator(),
             step(INIT_PRODUCER_ID, 4, {"transactional_id": "$x", "transaction_timeout_ms": 900_001})),
    scenario("initproducerid.timeout-zero", coordinator(),
             step(INIT_PRODUCER_ID, 4, {"transactional_id": "$x", "transaction_timeout_ms": 0})),
    scenario("initproducerid.timeout-negative", coordinator(),
             step(INIT_PRODUCER_ID, 4, {"transactional_id": "$x", "transaction_timeout_ms": -5})),
    scenario("addpartitionstotxn.negative-partition", create("t"), begin(), add_partitions(partitions=(-1,))),
    scenario("addpartitionstotxn.empty-topics", create("t"), begin(),
             step(ADD_PARTITIONS_TO_TXN, 3, {"v3_and_below_transactional_id": "$x",
                                             "v3_and_below_producer_id": Ref("p"),
                                             "v3_and_below_producer_epoch": Ref("p.epoch"),
                                             "v3_and_below_topics": []}), describe_txn()),
    scenario("initproducerid.idempotent-timeout-zero",
             step(INIT_PRODUCER_ID, 4, {"transactional_id": None, "transaction_timeout_ms": 0})),
    scenario("initproducerid.v3.bump-idempotent", init_pid(txn=None),
             step(INIT_PRODUCER_ID, 3, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                        "producer_id": Ref("p"), "producer_epoch": Ref("p.epoch")})),
    scenario("initproducerid.v3.bump-transactional", begin(),
             step(INIT_PRODUCER_ID, 3, {"transactional_id": "$x", "transaction_timeout_ms": 60000,
                                        "producer_id": Ref("p"), "producer_epoch": Ref("p.epoch")}),
             describe_txn()),
    scenario("initproducerid.v3.wrong-producer", begin(),
             step(INIT_PRODUCER_ID, 3, {"transactional_id": "$x", "transaction_timeout_ms": 60000,
                                        "producer_id": 424242, "producer_epoch": 0})),
    scenario("initproducerid.v4.stale-epoch", begin(), fence(),
             step(INIT_PRODUCER_ID, 4, {"transactional_id": "$x", "transaction_timeout_ms": 60000,
                                        "producer_id": Ref("p"), "producer_epoch": Ref("p.epoch")})),
    scenario("initproducerid.fences-open-transaction-first-answer", create("t"), begin(), add_partitions(),
             produce("t", txn_batch(b"a"), transactional_id="$x"), init_pid(save="p2")),
    scenario("initproducerid.aborts-open-transaction", create("t"), begin(), add_partitions(),
             produce("t", txn_batch(b"a"), transactional_id="$x"), fence(), settled(),
             fetch("t", isolation_level=1), describe_txn()),
    # The transactional APIs, each version.
    *[scenario(f"addpartitionstotxn.v{v}", create("t", partitions=2), begin(),
               add_partitions(v, partitions=(0, 1)), add_partitions(v, partitions=(1,)), describe_txn(),
               end_txn(False), settled())
      for v in range(0, 4)],
    *[scenario(f"addoffsetstotxn.v{v}", create("t"), begin(), add_offsets(v), describe_txn(),
               end_txn(True), settled())
      for v in range(0, 4)],
    *[scenario(f"endtxn.v{v}.commit-and-abort", create("t"), begin(), *transaction(True, b"a"),
              add_partitions(), produce("t", txn_batch(b"b", seq=1), transactional_id="$x"),
              end_txn(False, version=v), settled(), fetch("t", isolation_level=1), fetch("t"),
              list_offsets("t", -1, isolation_level=1))
      for v in range(0, 4)],
    *[scenario(f"txnoffsetcommit.v{v}", create("t"), begin(), add_offsets(), txn_commit(v),
               fetch_offsets(7, require_stable=True), end_txn(True), settled(), fetch_offsets(7, require_stable=True))
      for v in range(0, 4)],
    # Transactions in the wrong state.
    scenario("endtxn.nothing-open", begin(), end_txn(True), end_txn(False)),
    scenario("endtxn.commit-twice", create("t"), begin(), *transaction(True, b"a"), end_txn(True), end_txn(False)),
    scenario("endtxn.abort-after-commit", create("t"), begin(), *transaction(True, b"a"), end_txn(False)),
    scenario("endtxn.unknown-transactional-id", coordinator(), end_txn(True, producer_id=1, epoch=0)),
    scenario("endtxn.wrong-producer", begin(), end_txn(True, producer_id=999_999)),
    scenario("endtxn.fenced", create("t"), begin(), add_partitions(), fence(),
             *[end_txn(True, version=v) for v in range(0, 4)]),
    scenario("addpartitionstotxn.unknown-partition", create("t"), begin(),
             add_partitions(partitions=(0, 5)), add_partitions(topic="$missing")),
    scenario("addpartitionstotxn.unknown-transactional-id", create("t"), coordinator(),
             add_partitions(producer_id=1, epoch=0)),
    scenario("addpartitionstotxn.wrong-producer", create("t"), begin(), add_partitions(producer_id=777_777)),
    scenario("addpartitionstotxn.fenced", create("t"), begin(), fence(),
             *[add_partitions(v) for v in range(0, 4)]),
    scenario("addpartitionstotxn.old-epoch-after-abort", create("t"), begin(), *transaction(False, b"a"),
             add_partitions(epoch=-1)),
    scenario("addoffsetstotxn.fenced", begin(), fence(), *[add_offsets(v) for v in range(0, 4)]),
    scenario("addoffsetstotxn.empty-group", begin(), add_offsets(group="")),
    scenario("txnoffsetcommit.without-addoffsets", create("t"), begin(), txn_commit()),
    scenario("txnoffsetcommit.fenced", create("t"), begin(), add_offsets(), fence(),
             *[txn_commit(v) for v in range(0, 4)]),
    scenario("txnoffsetcommit.unknown-topic", create("t"), begin(), add_offsets(), txn_commit(topic="$missing")),
    scenario("txnoffsetcommit.v3.group-member", create("t"), member_of(), begin(), add_offsets(),
             txn_commit(3, generation=Ref("m1.gen"), member=Ref("m1")),
             txn_commit(3, generation=7, member=Ref("m1")),
             txn_commit(3, generation=Ref("m1.gen"), member="stranger")),
    scenario("txnoffsetcommit.v3.unknown-group-with-generation", create("t"), begin(), add_offsets(),
             txn_commit(3, generation=2, member="ghost")),
    scenario("txnoffsetcommit.then-abort", create("t"), begin(), add_offsets(), txn_commit(),
             end_txn(False), settled(), fetch_offsets()),
    # Produce inside transactions.
    scenario("produce.transactional-partition-not-added", create("t"), begin(),
             produce("t", txn_batch(b"a"), transactional_id="$x")),
    scenario("produce.transactional-fenced", create("t"), begin(), add_partitions(), fence(),
             produce("t", txn_batch(b"a"), transactional_id="$x")),
    scenario("produce.transactional-wrong-id", create("t"), begin(), begin(txn="$y", pid="q"), add_partitions(),
             produce("t", txn_batch(b"a"), transactional_id="$y")),
    scenario("produce.non-transactional-inside-transaction", create("t"), begin(), add_partitions(),
             produce("t", Batch((b"a",), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0)),
             end_txn(False), settled()),
    scenario("produce.transactional-sequence-gap", create("t"), begin(), add_partitions(),
             produce("t", txn_batch(b"a"), transactional_id="$x"),
             produce("t", txn_batch(b"b", seq=3), transactional_id="$x"), end_txn(False), settled()),
    scenario("transactions.two-partitions-read-committed", create("t", partitions=2), begin(),
             add_partitions(partitions=(0, 1)),
             produce("t", txn_batch(b"a"), transactional_id="$x"),
             produce("t", txn_batch(b"b"), partition=1, transactional_id="$x"),
             fetch("t", isolation_level=1), list_offsets("t", -1, isolation_level=1),
             end_txn(True), settled(),
             fetch("t", isolation_level=1), fetch("t", partition=1, isolation_level=1)),
    scenario("transactions.open-transaction-holds-back-lso", create("t"), produce("t"), begin(),
             add_partitions(), produce("t", txn_batch(b"a", b"b"), transactional_id="$x"), produce("t"),
             fetch("t", isolation_level=1), fetch("t"), list_offsets("t", -1, isolation_level=1),
             list_offsets("t", -1), describe_producers(), end_txn(False), settled(),
             fetch("t", isolation_level=1), describe_producers()),
    scenario("transactions.group-offsets-commit", create("t"), member_of(), begin(), add_partitions(),
             add_offsets(), produce("t", txn_batch(b"a"), transactional_id="$x"),
             txn_commit(3, generation=Ref("m1.gen"), member=Ref("m1"), offset=1),
             fetch_offsets(7), fetch_offsets(7, require_stable=True),
             end_txn(True), settled(), fetch_offsets(7, require_stable=True)),
    scenario("transactions.second-transaction", create("t"), begin(), *transaction(True, b"a"),
             *transaction(False, b"b", seq=1), *transaction(True, b"c", seq=2), fetch("t", isolation_level=1),
             describe_producers()),
    # The admin APIs of KIP-664.
    *[scenario(f"listtransactions.v{v}", create("t"), begin(), add_partitions(), list_txns(v),
               list_txns(v, states=("Ongoing",)), list_txns(v, states=("Empty", "NoSuchState")),
               list_txns(v, pids=(Ref("p"),)), list_txns(v, pids=(123456789,)))
      for v in range(0, 3)],
    scenario("listtransactions.v1.duration", create("t"), begin(), add_partitions(),
             list_txns(1, duration=3_600_000), list_txns(1, duration=0)),
    scenario("listtransactions.v2.pattern", create("t"), begin(), add_partitions(),
             list_txns(2, pattern="listtransactions[.]v2[.]pattern-.*"), list_txns(2, pattern="no-match"),
             list_txns(2, pattern="[")),
    scenario("describetransactions.states", create("t"), begin(), describe_txn(), add_partitions(),
             add_offsets(), describe_txn(), end_txn(True), settled(), describe_txn("$x", "$none", "")),
    scenario("describeproducers.idempotent", create("t", partitions=2), init_pid(txn=None),
             produce("t", Batch((b"a", b"b"), producer_id=Ref("p"), producer_epoch=Ref("p.epoch"), base_sequence=0)),
             describe_producers(partitions=(0, 1, 7)), describe_producers(topic="$missing")),
    *[scenario(f"writetxnmarkers.v{v}.abort-hanging", create("t"), begin(), add_partitions(),
               produce("t", txn_batch(b"a"), transactional_id="$x"),
               markers(v, False), describe_producers(), fetch("t", isolation_level=1),
               list_offsets("t", -1, isolation_level=1))
      for v in (1, 2)],
    scenario("writetxnmarkers.unknown-partition", create("t"), begin(), markers(1, False, partitions=(0, 3)),
             markers(1, True, topic="$missing")),
    scenario("writetxnmarkers.stale-epoch", create("t"), begin(), *transaction(True, b"a"), fence(),
             markers(1, False, epoch=Ref("p.epoch")), describe_producers()),
    scenario("writetxnmarkers.stale-coordinator-epoch", create("t"), begin(), *transaction(True, b"a"),
             markers(1, False, coordinator_epoch=-5)),
    scenario("writetxnmarkers.no-open-transaction", create("t"), init_pid(txn=None), markers(2, True),
             describe_producers(), fetch("t")),
    scenario("findcoordinator.transaction-then-init", step(FIND_COORDINATOR, 6, {
        "key_type": 1, "coordinator_keys": ["$x", "$y"]}), init_pid()),
    scenario("transactions.consumer-group-generation", create("t"), member_of(),
             join(conn="b", save_as="m2", check=False), join(conn="b", member=Ref("m2"), save_as="m2", defer=True),
             in_state("PreparingRebalance"),
             join(member=Ref("m1"), save_as="m1", check=False), collect("b", check=False),
             sync("m1", assignments={"m1": assignment(t=[0])}, check=False),
             begin(), add_offsets(), txn_commit(3, generation=1, member=Ref("m1"))),
]
