"""segmentio/kafka-go against a live kgw: the Writer with every codec and
acks setting, partition Readers, and a group of Readers that members join
and leave."""

from collections import Counter

import pytest

from protocol.compression import Codec

from ..groups._util import describe_group
from ..harness import committed_offsets, stored_batches, wait_until
from ..transactions import _util as u
from ._go import GoProcess, run
from .test_franz import CODECS, standard, without_timestamps


def read_by_kafkago(records):
    for r in records:
        r["headers"] = [[k, None if v == "" else v] for k, v in r["headers"]]
    return records


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(kgw_broker, kgw_topic, codec):
    assert run("kafkago_produce", kgw_broker.bootstrap, kgw_topic, count=12, batch=6, codec=codec) == {"written": 12}
    batches = stored_batches(kgw_broker.data_dir, kgw_topic)
    assert [(b.base_offset, b.record_count, b.compression) for b in batches] == [
        (0, 6, Codec[codec.upper()]), (6, 6, Codec[codec.upper()])]
    # kgw stores the empty header value as empty (asserted below); kafka-go's
    # Reader hands it over as nil.
    assert [r.headers[-1] for r in batches[0].records()[::2]] == [("empty", b"")] * 3
    c = run("kafkago_consume", kgw_broker.bootstrap, kgw_topic, count=12)
    assert without_timestamps(c["records"]) == read_by_kafkago(standard("m", 12))


def _processed(member: GoProcess) -> list[tuple]:
    return [(x["p"], x["o"], x["v"]) for x in member.snapshot() if "p" in x]


def _group_settles(bootstrap, group, members: int):
    """Until the group is Stable with that many members, each assigned."""
    def settled():
        g = describe_group(bootstrap, group)
        return g.group_state == "Stable" and len(g.members) == members and all(
            len(m.member_assignment) > 4 for m in g.members)
    wait_until(settled, f"{members} member(s) in {group}")


def _write(bootstrap, topic, first, count):
    """s-n for n in [first, first + count), n to partition n % 6 at offset n // 6
    (not in a transaction: kafka-go's Reader hands over transaction markers)."""
    stream = GoProcess("franz_stream", bootstrap, topic, partitions=PARTITIONS, minimum=count, first=first, pauseMs=0)
    stream.send("stop")
    assert stream.result("total")["total"] == count
    assert stream.close() == 0


PARTITIONS = 6


@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_group_readers_share_and_hand_over_partitions(kgw_bootstrap, kgw_topic):
    group = u.unique("kafkago")
    a = GoProcess("kafkago_member", kgw_bootstrap, kgw_topic, name="A", group=group)
    b = GoProcess("kafkago_member", kgw_bootstrap, kgw_topic, name="B", group=group)
    try:
        _group_settles(kgw_bootstrap, group, 2)
        _write(kgw_bootstrap, kgw_topic, 0, 300)
        a.wait_for(lambda _: len(_processed(a)) + len(_processed(b)) >= 300, what="300 processed")
        assert _processed(a) and _processed(b)
        b.send("stop")  # leaves: A takes over B's partitions from B's commits
        b.event("stopped")
        _group_settles(kgw_bootstrap, group, 1)
        _write(kgw_bootstrap, kgw_topic, 300, 300)
        a.wait_for(lambda _: len(_processed(a)) + len(_processed(b)) >= 600, what="600 processed")
        a.send("stop")
        a.event("stopped")
    finally:
        a.close()
        b.close()
    everything = _processed(a) + _processed(b)
    assert [k for k, n in Counter(everything).items() if n > 1] == []
    assert sorted(everything) == sorted((n % PARTITIONS, n // PARTITIONS, f"s-{n}") for n in range(600))
    assert [x for m in (a, b) for x in m.snapshot() if "error" in x] == []
    assert committed_offsets(kgw_bootstrap, group, kgw_topic, PARTITIONS) == {p: 100 for p in range(PARTITIONS)}
