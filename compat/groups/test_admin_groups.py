"""Group administration with each client's admin API: list, describe and
delete groups, list (and with kafka-python delete) a group's committed
offsets, and reset a group while it is empty (to the earliest offsets, to a
timestamp, or by a consumer that assign()s and commit()s without joining),
after which a member of the group resumes exactly there.

The topic holds two "eras" per partition: 2 messages stamped T0, then 2
stamped T1 = T0 + 60 s, so the end offsets are 4 and the reset to T1 lands
on offset 2 of every partition."""

import asyncio
import time

import pytest

from ..harness import committed_offsets, end_offsets, wait_until
from ._util import states, wait_all_processed, wait_balanced
from .conftest import require_client

PARTITIONS = 6
PER_ERA = 2


def eras():
    t0 = int(time.time() * 1000) - 120_000
    return t0, t0 + 60_000


def era_messages(t0, t1):
    """[(partition, value, timestamp)] in the order they are produced."""
    return [(p, f"e{era}-{i}-{p}", ts) for era, ts in enumerate((t0, t1))
            for i in range(PER_ERA) for p in range(PARTITIONS)]


def start_live_group(client, bootstrap, group, topic, members):
    """Two members that have processed (and committed) everything."""
    live = [members(f"{client}-adm-{i}", client, bootstrap, group, topic) for i in range(2)]
    wait_balanced(live, PARTITIONS, "the group to be stable with two members")
    wait_all_processed(live, bootstrap, topic, PARTITIONS, group)
    return live


def resume_from(client, bootstrap, group, topic, members, start: dict[int, int], name: str):
    """A new member of `group` processes exactly the messages from `start`
    to the end of each partition."""
    ends = end_offsets(bootstrap, topic, PARTITIONS)
    m = members(f"{client}-{name}", client, bootstrap, group, topic)
    wait_until(lambda: committed_offsets(bootstrap, group, topic, PARTITIONS) == ends,
               f"{name} to process from {start}", details=states([m]), interval=0.05)
    m.stop()
    got = sorted((p, o) for p, o, _, _ in m.processed)
    assert got == sorted((p, o) for p in range(PARTITIONS) for o in range(start[p], ends[p])), \
        f"{name} did not start at {start}"


# --- kafka-python: KafkaAdminClient -----------------------------------------------

@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_kafka_python_admin(kgw_bootstrap, kgw_topic, group_name, members):
    require_client("kafka-python")
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import OffsetSpec, OffsetTimestamp
    from kafka.errors import GroupIdNotFoundError
    from kafka.structs import OffsetAndMetadata

    t0, t1 = eras()
    producer = KafkaProducer(bootstrap_servers=kgw_bootstrap, linger_ms=5)
    try:
        for p, value, ts in era_messages(t0, t1):
            producer.send(kgw_topic, value.encode(), partition=p, timestamp_ms=ts)
        producer.flush(10)
    finally:
        producer.close(10)
    tps = [TopicPartition(kgw_topic, p) for p in range(PARTITIONS)]
    live = start_live_group("kafka-python", kgw_bootstrap, group_name, kgw_topic, members)

    admin = KafkaAdminClient(bootstrap_servers=kgw_bootstrap, request_timeout_ms=5000)
    try:
        listed = [g for g in admin.list_groups() if g["group_id"] == group_name]
        assert [(g["protocol_type"], g["group_state"]) for g in listed] == [("consumer", "Stable")]
        assert group_name in {g["group_id"] for g in admin.list_groups(states_filter=["Stable"])}
        assert group_name not in {g["group_id"] for g in admin.list_groups(states_filter=["Empty"])}

        desc = admin.describe_groups([group_name], include_authorized_operations=True)[group_name]
        assert (desc["error"], desc["group_state"], desc["protocol_type"], desc["protocol_data"]) == \
            (None, "Stable", "consumer", "range")
        assert sorted(desc["authorized_operations"]) == ["DELETE", "DESCRIBE", "READ"]
        assert {m["client_id"]: ({p for a in m["member_assignment"]["assigned_partitions"]
                                  for p in a["partitions"]}, m["client_host"], m["member_metadata"]["topics"])
                for m in desc["members"]} == \
            {w.name: (w.assignment, "/127.0.0.1", [kgw_topic]) for w in live}

        expected = {tp: OffsetAndMetadata(2 * PER_ERA, "", -1) for tp in tps}
        assert admin.list_group_offsets(group_name) == {group_name: expected}
        assert admin.delete_groups([group_name]) == {group_name: "NonEmptyGroupError"}
        # Offsets of a group with members cannot be set from outside it.
        altered = admin.alter_group_offsets(group_name, {tps[0]: OffsetAndMetadata(0, "", -1)})
        assert {tp: e.__name__ for tp, e in altered.items()} == {tps[0]: "UnknownMemberIdError"}
        # Nor deleted (OffsetDelete) while its members subscribe to the topic.
        deleted = admin.delete_group_offsets(group_name, [tps[0]])
        assert {tp: e.__name__ for tp, e in deleted.items()} == {tps[0]: "GroupSubscribedToTopicError"}
        assert admin.list_group_offsets(group_name) == {group_name: expected}

        for w in live:
            w.stop()
        desc = admin.describe_groups([group_name])[group_name]
        assert (desc["group_state"], desc["members"], desc["protocol_type"]) == ("Empty", [], "consumer")
        assert group_name in {g["group_id"] for g in admin.list_groups(states_filter=["Empty"])}

        # Reset to the earliest offsets, then to T1, each time resumed by a new member.
        reset = admin.reset_group_offsets(group_name, {tp: OffsetSpec.EARLIEST for tp in tps})
        assert {tp: (r["error"].__name__, r["offset"]) for tp, r in reset.items()} == \
            {tp: ("NoError", 0) for tp in tps}
        resume_from("kafka-python", kgw_bootstrap, group_name, kgw_topic, members,
                    {p: 0 for p in range(PARTITIONS)}, "after-earliest")
        reset = admin.reset_group_offsets(group_name, {tp: OffsetTimestamp(t1) for tp in tps})
        assert {tp: r["offset"] for tp, r in reset.items()} == {tp: PER_ERA for tp in tps}
        resume_from("kafka-python", kgw_bootstrap, group_name, kgw_topic, members,
                    {p: PER_ERA for p in range(PARTITIONS)}, "after-timestamp")

        # Explicit offsets with metadata.
        altered = admin.alter_group_offsets(group_name, {tps[0]: OffsetAndMetadata(1, "note", -1)})
        assert {tp: e.__name__ for tp, e in altered.items()} == {tps[0]: "NoError"}
        assert admin.list_group_offsets({group_name: [tps[0], tps[1]]})[group_name] == \
            {tps[0]: OffsetAndMetadata(1, "note", -1), tps[1]: OffsetAndMetadata(2 * PER_ERA, "", -1)}

        # A consumer that assign()s and commit()s without joining (generation
        # -1) sets the offsets of an empty group; a member resumes there.
        other = f"{group_name}-assign"
        consumer = KafkaConsumer(bootstrap_servers=kgw_bootstrap, group_id=other,
                                 enable_auto_commit=False, request_timeout_ms=5000)
        try:
            consumer.assign(tps)
            consumer.commit({tp: OffsetAndMetadata(3, "", -1) for tp in tps})
        finally:
            consumer.close()
        assert [(g["protocol_type"], g["group_state"]) for g in admin.list_groups()
                if g["group_id"] == other] == [("", "Empty")]
        resume_from("kafka-python", kgw_bootstrap, other, kgw_topic, members,
                    {p: 3 for p in range(PARTITIONS)}, "after-assign-commit")

        # Both groups' offsets in one batched OffsetFetch (v8, KIP-709).
        both = admin.list_group_offsets([group_name, other])
        assert both == {group_name: {**{tp: OffsetAndMetadata(2 * PER_ERA, "", -1) for tp in tps},
                                     tps[0]: OffsetAndMetadata(1, "note", -1)},
                        other: {tp: OffsetAndMetadata(2 * PER_ERA, "", -1) for tp in tps}}

        # The group is empty: OffsetDelete forgets the partitions named.
        deleted = admin.delete_group_offsets(other, [tps[1], tps[2]])
        assert {tp: e.__name__ for tp, e in deleted.items()} == {tps[1]: "NoError", tps[2]: "NoError"}
        assert admin.list_group_offsets(other) == {other: {
            tp: OffsetAndMetadata(2 * PER_ERA, "", -1) for tp in tps if tp not in (tps[1], tps[2])}}
        with pytest.raises(GroupIdNotFoundError):
            admin.delete_group_offsets(f"{group_name}-never", [tps[0]])

        assert admin.delete_groups([group_name]) == {group_name: "OK"}
        assert admin.delete_groups([group_name]) == {group_name: "GroupIdNotFoundError"}
        desc = admin.describe_groups([group_name])[group_name]
        assert (desc["error"], desc["group_state"], desc["members"]) == (None, "Dead", [])
        assert admin.list_group_offsets(group_name) == {group_name: {}}

    finally:
        admin.close()


# --- confluent-kafka: AdminClient -------------------------------------------------

@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_confluent_admin(kgw_bootstrap, kgw_topic, group_name, members):
    require_client("confluent")
    from confluent_kafka import (
        ConsumerGroupState, ConsumerGroupTopicPartitions, Consumer, KafkaError, KafkaException,
        Producer, TopicPartition,
    )
    from confluent_kafka.admin import AdminClient, OffsetSpec

    t0, t1 = eras()
    producer = Producer({"bootstrap.servers": kgw_bootstrap, "linger.ms": 5})
    for p, value, ts in era_messages(t0, t1):
        producer.produce(kgw_topic, value.encode(), partition=p, timestamp=ts)
    assert producer.flush(10) == 0
    live = start_live_group("confluent", kgw_bootstrap, group_name, kgw_topic, members)
    admin = AdminClient({"bootstrap.servers": kgw_bootstrap, "socket.timeout.ms": 5000})

    def error_code(future):
        with pytest.raises(KafkaException) as info:
            future.result()
        return info.value.args[0].code()

    def offsets(group, tps=None):
        request = ConsumerGroupTopicPartitions(group, tps)
        result = admin.list_consumer_group_offsets([request], request_timeout=10)[group].result()
        return {tp.partition: tp.offset for tp in result.topic_partitions}

    def alter(group, new: dict[int, int]):
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(kgw_topic, p, o) for p, o in new.items()])
        result = admin.alter_consumer_group_offsets([request], request_timeout=10)[group].result()
        assert {(tp.partition, tp.offset, tp.error) for tp in result.topic_partitions} == \
            {(p, o, None) for p, o in new.items()}

    listed = admin.list_consumer_groups(request_timeout=10).result()
    assert listed.errors == []
    assert [(g.is_simple_consumer_group, g.state) for g in listed.valid if g.group_id == group_name] == \
        [(False, ConsumerGroupState.STABLE)]
    stable = admin.list_consumer_groups(request_timeout=10, states={ConsumerGroupState.STABLE}).result()
    assert group_name in {g.group_id for g in stable.valid}

    desc = admin.describe_consumer_groups([group_name], request_timeout=10,
                                          include_authorized_operations=True)[group_name].result()
    assert (desc.group_id, desc.is_simple_consumer_group, desc.state, desc.partition_assignor) == \
        (group_name, False, ConsumerGroupState.STABLE, "range")
    assert sorted(op.name for op in desc.authorized_operations) == ["DELETE", "DESCRIBE", "READ"]
    assert {m.client_id: ({tp.partition for tp in m.assignment.topic_partitions}, m.host)
            for m in desc.members} == {w.name: (w.assignment, "/127.0.0.1") for w in live}

    assert offsets(group_name) == {p: 2 * PER_ERA for p in range(PARTITIONS)}
    assert error_code(admin.delete_consumer_groups([group_name], request_timeout=10)[group_name]) == \
        KafkaError.NON_EMPTY_GROUP
    # Offsets of a group with members cannot be set from outside it.
    request = ConsumerGroupTopicPartitions(group_name, [TopicPartition(kgw_topic, 0, 0)])
    result = admin.alter_consumer_group_offsets([request], request_timeout=10)[group_name].result()
    assert [(tp.partition, tp.error.code()) for tp in result.topic_partitions] == \
        [(0, KafkaError.UNKNOWN_MEMBER_ID)]
    assert offsets(group_name) == {p: 2 * PER_ERA for p in range(PARTITIONS)}

    for w in live:
        w.stop()
    desc = admin.describe_consumer_groups([group_name], request_timeout=10)[group_name].result()
    assert (desc.state, desc.members) == (ConsumerGroupState.EMPTY, [])

    # Reset to the earliest offsets and to T1: ListOffsets, then alter the group.
    def list_offsets(spec):
        found = admin.list_offsets({TopicPartition(kgw_topic, p): spec for p in range(PARTITIONS)},
                                   request_timeout=10)
        return {tp.partition: f.result().offset for tp, f in found.items()}

    earliest = list_offsets(OffsetSpec.earliest())
    assert earliest == {p: 0 for p in range(PARTITIONS)}
    alter(group_name, earliest)
    resume_from("confluent", kgw_bootstrap, group_name, kgw_topic, members, earliest, "after-earliest")
    at_t1 = list_offsets(OffsetSpec.for_timestamp(t1))
    assert at_t1 == {p: PER_ERA for p in range(PARTITIONS)}
    alter(group_name, at_t1)
    assert offsets(group_name, [TopicPartition(kgw_topic, p) for p in range(PARTITIONS)]) == at_t1
    resume_from("confluent", kgw_bootstrap, group_name, kgw_topic, members, at_t1, "after-timestamp")

    assert admin.delete_consumer_groups([group_name], request_timeout=10)[group_name].result() is None
    assert error_code(admin.delete_consumer_groups([group_name], request_timeout=10)[group_name]) == \
        KafkaError.GROUP_ID_NOT_FOUND
    desc = admin.describe_consumer_groups([group_name], request_timeout=10)[group_name].result()
    assert (desc.state, desc.members) == (ConsumerGroupState.DEAD, [])
    assert offsets(group_name) == {}

    # assign() + commit() without joining, then a member resumes there.
    other = f"{group_name}-assign"
    consumer = Consumer({"bootstrap.servers": kgw_bootstrap, "group.id": other,
                         "enable.auto.commit": False, "socket.timeout.ms": 5000})
    try:
        consumer.assign([TopicPartition(kgw_topic, p) for p in range(PARTITIONS)])
        result = consumer.commit(offsets=[TopicPartition(kgw_topic, p, 3) for p in range(PARTITIONS)],
                                 asynchronous=False)
        assert {(tp.partition, tp.offset, tp.error) for tp in result} == \
            {(p, 3, None) for p in range(PARTITIONS)}
    finally:
        consumer.close()
    listed = admin.list_consumer_groups(request_timeout=10).result()
    assert [(g.is_simple_consumer_group, g.state) for g in listed.valid if g.group_id == other] == \
        [(True, ConsumerGroupState.EMPTY)]
    resume_from("confluent", kgw_bootstrap, other, kgw_topic, members,
                {p: 3 for p in range(PARTITIONS)}, "after-assign-commit")


# --- aiokafka: AIOKafkaAdminClient (no delete, no alter) --------------------------

@pytest.mark.kgw_topic(partitions=PARTITIONS)
def test_aiokafka_admin(kgw_bootstrap, kgw_topic, group_name, members):
    require_client("aiokafka")
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import OffsetAndMetadata, TopicPartition

    t0, t1 = eras()

    async def produce():
        producer = AIOKafkaProducer(bootstrap_servers=kgw_bootstrap, linger_ms=5)
        await producer.start()
        try:
            for p, value, ts in era_messages(t0, t1):
                await producer.send(kgw_topic, value.encode(), partition=p, timestamp_ms=ts)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())
    live = start_live_group("aiokafka", kgw_bootstrap, group_name, kgw_topic, members)
    tps = [TopicPartition(kgw_topic, p) for p in range(PARTITIONS)]

    async def inspect():
        admin = AIOKafkaAdminClient(bootstrap_servers=kgw_bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            listed = [g for g in await admin.list_consumer_groups() if g[0] == group_name]
            (response,) = await admin.describe_consumer_groups([group_name])
            all_offsets = await admin.list_consumer_group_offsets(group_name)  # Topics=null
            some = await admin.list_consumer_group_offsets(
                group_name, partitions=[tps[0], TopicPartition(kgw_topic, PARTITIONS)])
            return listed, response, all_offsets, some
        finally:
            await admin.close()

    listed, response, all_offsets, some = asyncio.run(inspect())
    assert listed == [(group_name, "consumer")]
    (group,) = response.groups
    error_code, group_id, state, protocol_type, protocol, group_members = group[:6]
    assert (error_code, group_id, state, protocol_type, protocol) == \
        (0, group_name, "Stable", "consumer", "roundrobin")
    assert sorted((m[1], m[2]) for m in group_members) == sorted((w.name, "/127.0.0.1") for w in live)
    assert all_offsets == {tp: OffsetAndMetadata(2 * PER_ERA, "") for tp in tps}
    # A partition the group never committed: -1.
    assert some == {tps[0]: OffsetAndMetadata(2 * PER_ERA, ""),
                    TopicPartition(kgw_topic, PARTITIONS): OffsetAndMetadata(-1, "")}
    for w in live:
        w.stop()

    # Reset the empty group to T1 with a consumer that assign()s, looks the
    # offsets up by time and commit()s without joining.
    async def reset():
        consumer = AIOKafkaConsumer(bootstrap_servers=kgw_bootstrap, group_id=group_name,
                                    enable_auto_commit=False, request_timeout_ms=5000)
        await consumer.start()
        try:
            consumer.assign(tps)
            found = await consumer.offsets_for_times({tp: t1 for tp in tps})
            await consumer.commit({tp: found[tp].offset for tp in tps})
            return {tp.partition: found[tp].offset for tp in tps}
        finally:
            await consumer.stop()

    at_t1 = asyncio.run(reset())
    assert at_t1 == {p: PER_ERA for p in range(PARTITIONS)}
    resume_from("aiokafka", kgw_bootstrap, group_name, kgw_topic, members, at_t1, "after-timestamp")
