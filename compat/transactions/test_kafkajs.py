"""kafkajs 2.2.4: transactions (producer.transaction(), txn.send/sendOffsets/
commit/abort) and read_committed consumers (kafkajs's default) against kgw
(KIP-98), through the txn_* scenarios of compat/kafkajs/scenarios.js. The
scenarios and their expected offsets are in _util.py; FINDINGS.md has what
was learned."""

import json
import time

import pytest

from ..kafkajs._node import NodeProcess, require_kafkajs, run
from ..harness import committed_offsets, wait_until
from . import _util as u

# What kafkajs throws for a fenced producer: it sends AddPartitionsToTxn and
# EndTxn v1, below the v2 that introduced PRODUCER_FENCED (90), so the
# coordinator answers with INVALID_PRODUCER_EPOCH (47), as Kafka does.
FENCED = {"name": "KafkaJSProtocolError", "type": "INVALID_PRODUCER_EPOCH", "retriable": False,
          "message": "Producer attempted an operation with an old epoch. Either there is a newer producer "
                     "with the same transactionalId, or the producer's transaction has been expired by the broker",
          "cause": None}


@pytest.fixture(autouse=True)
def node():
    return require_kafkajs()


class Session:
    """A txn_session process: a transactional producer taking commands."""

    def __init__(self, bootstrap, topic, tid, **options):
        self.proc = NodeProcess("txn_session", bootstrap, topic, transactionalId=tid, **options)
        self.seq = 0
        self.proc.wait_for(lambda lines: any(x.get("event") == "connected" for x in lines), what="connect")

    def do(self, op, **args) -> dict:
        """Run one command; its reply, {"ok": ...} or {"error": {...}}."""
        self.seq += 1
        seq = self.seq
        self.proc.send(json.dumps({"seq": seq, "op": op, **args}))
        (reply,) = self.proc.wait_for(lambda lines: [x for x in lines if x.get("seq") == seq], timeout=60,
                                      what=f"reply to {op}")
        return reply

    def ok(self, op, **args):
        reply = self.do(op, **args)
        assert "error" not in reply, (op, reply)
        return reply["ok"]

    def send(self, partition, values, op="send", topic=None) -> list[int]:
        """Send values (key "k-" + value) to one partition: their offsets."""
        messages = [{"partition": partition, "key": f"k-{v}", "value": v} for v in values]
        args = {"messages": messages} if topic is None else {"messages": messages, "topic": topic}
        [result] = self.ok(op, **args)
        assert result["errorCode"] == 0, result
        return [result["baseOffset"] + i for i in range(len(values))]

    def close(self):
        if self.proc.proc.poll() is None:
            self.proc.send(json.dumps({"op": "exit"}))
        self.proc.close()


@pytest.fixture
def sessions():
    made = []

    def make(bootstrap, topic, tid, **options):
        session = Session(bootstrap, topic, tid, **options)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def watcher(bootstrap, topic, read_uncommitted=False):
    return NodeProcess("txn_watch", bootstrap, topic, group=u.unique(f"{topic}-w"),
                       readUncommitted=read_uncommitted)


def messages(proc):
    return sorted((x["p"], x["o"], x["k"], x["v"]) for x in proc.snapshot() if "p" in x)


def wait_rows(proc, count, settle=1.0):
    """Wait for `count` messages, then `settle` seconds more for any extra one."""
    proc.wait_for(lambda lines: sum("p" in x for x in lines) >= count, what=f"{count} messages")
    time.sleep(settle)
    return messages(proc)


def high_watermarks(proc):
    """The high watermark of the last batch fetched from each partition."""
    return {x["partition"]: x["highWatermark"] for x in proc.snapshot() if x.get("event") == "batch"}


def read(bootstrap, topic, count, read_uncommitted=False):
    """A new group member reads the topic from the beginning: (rows, high watermarks)."""
    proc = watcher(bootstrap, topic, read_uncommitted)
    try:
        return wait_rows(proc, count), high_watermarks(proc)
    finally:
        proc.send("stop")
        proc.close()


def admin_ends(bootstrap, topic) -> dict[int, int]:
    """admin.fetchTopicOffsets: kafkajs's ListOffsets is read_committed, so
    its `high` is the last stable offset."""
    return {p["partition"]: int(p["high"]) for p in run("offsets", bootstrap, topic)["offsets"]}


@pytest.mark.kgw_topic(partitions=2)
def test_commit_over_two_partitions(kgw_broker, kgw_topic, sessions, txn_id):
    bootstrap = kgw_broker.bootstrap
    s = sessions(bootstrap, kgw_topic, txn_id)
    s.ok("begin")
    assert {p: s.send(p, values) for p, values in u.COMMIT_TXN1.items()} == {0: [0, 1, 2], 1: [0, 1]}
    s.ok("commit")
    assert admin_ends(bootstrap, kgw_topic) == u.COMMIT_ENDS1
    assert read(bootstrap, kgw_topic, 5) == (u.COMMIT_ROWS1, u.COMMIT_ENDS1)

    s.ok("begin")
    assert {p: s.send(p, values) for p, values in u.COMMIT_TXN2.items()} == {0: [4, 5], 1: [3]}
    s.ok("commit")
    assert admin_ends(bootstrap, kgw_topic) == u.COMMIT_ENDS2
    for read_uncommitted in (False, True):
        assert read(bootstrap, kgw_topic, 8, read_uncommitted) == (u.COMMIT_ROWS_ALL, u.COMMIT_ENDS2)
    for p in (0, 1):
        assert u.log_layout(kgw_broker.data_dir, kgw_topic, p) == u.COMMIT_LAYOUT[p]


def test_abort_then_commit(kgw_broker, kgw_topic, sessions, txn_id):
    bootstrap = kgw_broker.bootstrap
    s = sessions(bootstrap, kgw_topic, txn_id)
    s.ok("begin")
    assert s.send(0, u.ABORTED) == [0, 1, 2]
    s.ok("abort")
    s.ok("begin")
    assert s.send(0, u.COMMITTED) == [4, 5]
    s.ok("commit")
    ends = {0: u.ABORT_END}
    assert read(bootstrap, kgw_topic, 2) == (u.ABORT_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 5, read_uncommitted=True) == (u.ABORT_ALL_ROWS, ends)
    assert admin_ends(bootstrap, kgw_topic) == ends
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.ABORT_LAYOUT


def test_open_transaction_holds_back_the_last_stable_offset(kgw_broker, kgw_topic, sessions, txn_id):
    bootstrap = kgw_broker.bootstrap
    stable, high = u.LSO_WHILE_OPEN["stable"], u.LSO_WHILE_OPEN["high"]
    s = sessions(bootstrap, kgw_topic, txn_id)
    s.ok("begin")
    assert s.send(0, u.LSO_FIRST) == [0, 1]
    s.ok("commit")
    s.ok("begin")
    assert s.send(0, u.LSO_OPEN) == [3, 4, 5]
    # producer.send() beside the open transaction: a plain record, held back too.
    assert s.send(0, u.LSO_PLAIN, op="plainSend") == [6]

    assert admin_ends(bootstrap, kgw_topic) == {0: stable}
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (stable, high)}
    # A read_uncommitted consumer reads it all; Fetch gives it the high watermark.
    assert read(bootstrap, kgw_topic, 6, read_uncommitted=True) == (u.LSO_ALL_ROWS, {0: high})

    waiting = watcher(bootstrap, kgw_topic)
    try:
        assert wait_rows(waiting, 2, settle=1.5) == u.LSO_FIRST_ROWS  # nothing past the LSO
        # Fetch's high watermark is the same at either isolation level.
        assert high_watermarks(waiting) == {0: high}
        s.ok("commit")
        assert wait_rows(waiting, 6) == u.LSO_ALL_ROWS
    finally:
        waiting.send("stop")
        waiting.close()
    assert admin_ends(bootstrap, kgw_topic) == {0: u.LSO_END}
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.LSO_LAYOUT


def test_consume_transform_produce(kgw_broker, kgw_topic, output_topic, sessions, txn_id, group_id):
    bootstrap = kgw_broker.bootstrap
    plain = sessions(bootstrap, kgw_topic, u.unique("kafkajs-plain"))

    def ctp(count, end):
        r = run("txn_ctp", bootstrap, kgw_topic, group=group_id, output=output_topic, transactionalId=txn_id,
                count=count, end=end)
        return sorted((m["p"], m["o"], m["k"], m["v"]) for m in r["consumed"]), r["sent"]

    def fetch_offsets():
        r = run("fetch_offsets", bootstrap, kgw_topic, group=group_id)["offsets"]
        return {p["partition"]: int(p["offset"]) for t in r for p in t["partitions"]}

    assert plain.send(0, u.CTP_INPUT1, op="plainSend") == [0, 1, 2]
    assert ctp(3, "commit") == (u.CTP_INPUT_ROWS1, [0, 1, 2])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
    assert fetch_offsets() == {0: 3}

    assert plain.send(0, u.CTP_INPUT2, op="plainSend") == [3, 4]
    # Each round is a new member of the group, resuming at its committed offset.
    assert ctp(2, "abort") == (u.CTP_INPUT_ROWS2, [4, 5])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 3}
    assert fetch_offsets() == {0: 3}
    assert ctp(2, "commit") == (u.CTP_INPUT_ROWS2, [7, 8])
    assert committed_offsets(bootstrap, group_id, kgw_topic) == {0: 5}
    assert fetch_offsets() == {0: 5}

    ends = {0: u.CTP_OUTPUT_END}
    assert read(bootstrap, output_topic, 5) == (u.CTP_OUTPUT_COMMITTED_ROWS, ends)
    assert read(bootstrap, output_topic, 7, read_uncommitted=True) == (u.CTP_OUTPUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, output_topic) == u.CTP_OUTPUT_LAYOUT


def test_fencing(kgw_broker, kgw_topic, sessions, txn_id):
    bootstrap = kgw_broker.bootstrap
    a = sessions(bootstrap, kgw_topic, txn_id, clientId="A")
    a.ok("begin")
    assert a.send(0, ["f0"]) == [0]
    a.ok("commit")
    a.ok("begin")
    assert a.send(0, ["f1"]) == [2]

    # B's first transaction() sends InitProducerId: A's open transaction is
    # aborted and A fenced.
    b = sessions(bootstrap, kgw_topic, txn_id, clientId="B")
    b.ok("begin")
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (4, 4)}
    assert a.do("commit")["error"] == FENCED
    assert b.send(0, ["f2"]) == [4]
    b.ok("commit")

    # C fences B while B has no transaction open: B's next one fails.
    c = sessions(bootstrap, kgw_topic, txn_id, clientId="C")
    c.ok("begin")
    b.ok("begin")  # local: kafkajs asks the broker nothing
    assert b.do("send", messages=[{"partition": 0, "key": "k-f3", "value": "f3"}])["error"] == FENCED
    # kafkajs quirk: no partition made it into the transaction, so commit()
    # sends no EndTxn at all and "succeeds" (FINDINGS.md).
    assert b.do("commit") == {"seq": b.seq, "ok": None}
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (6, 6)}  # f3 was not written
    assert c.send(0, ["f4"]) == [6]
    c.ok("commit")

    ends = {0: u.FENCE_END}
    assert read(bootstrap, kgw_topic, 3) == (u.FENCE_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 4, read_uncommitted=True) == (u.FENCE_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.FENCE_LAYOUT


def test_transaction_timeout(kgw_broker, kgw_topic, sessions, txn_id):
    bootstrap = kgw_broker.bootstrap
    after = (u.TIMEOUT_AFTER_ABORT["stable"], u.TIMEOUT_AFTER_ABORT["high"])
    s = sessions(bootstrap, kgw_topic, txn_id, transactionTimeout=u.SHORT_TXN_TIMEOUT_MS)
    s.ok("begin")
    assert s.send(0, u.TIMEOUT_OPEN) == [0, 1]
    assert u.stable_and_high(bootstrap, kgw_topic) == {0: (0, 2)}
    wait_until(lambda: u.stable_and_high(bootstrap, kgw_topic) == {0: after},
                 "the timed-out transaction's abort", timeout=u.ABORT_DEADLINE_S)
    assert admin_ends(bootstrap, kgw_topic) == {0: 3}
    assert read(bootstrap, kgw_topic, 2, read_uncommitted=True) == (u.rows(0, 0, u.TIMEOUT_OPEN), {0: 3})
    # Aborting it bumped the producer's epoch: the commit is refused as fenced.
    assert s.do("commit")["error"] == FENCED

    again = sessions(bootstrap, kgw_topic, txn_id)
    again.ok("begin")
    assert again.send(0, ["t2"]) == [3]
    again.ok("commit")
    ends = {0: u.TIMEOUT_END}
    assert read(bootstrap, kgw_topic, 1) == (u.TIMEOUT_COMMITTED_ROWS, ends)
    assert read(bootstrap, kgw_topic, 3, read_uncommitted=True) == (u.TIMEOUT_ALL_ROWS, ends)
    assert u.log_layout(kgw_broker.data_dir, kgw_topic) == u.TIMEOUT_LAYOUT
