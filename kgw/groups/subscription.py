"""The topics a consumer group subscribes to, read from its members'
JoinGroup metadata (Kafka's ConsumerProtocolSubscription: a version, the
topics, then fields kgw does not need), for OffsetDelete and the expiry of
offsets of topics a stable group no longer reads (KIP-496)."""

from protocol import primitives as p
from protocol.errors import DecodeError

from .group import Group

CONSUMER_PROTOCOL_TYPE = "consumer"


def subscribed_topics(group: Group) -> set[str] | None:
    """The union of the members' subscriptions; None, as Kafka's
    computeSubscribedTopics leaves it unknown, for a group that is not a
    consumer group, has no member or no protocol chosen, or has a member
    whose metadata does not parse."""
    if (group.protocol_type != CONSUMER_PROTOCOL_TYPE or group.protocol_name is None
            or not group.members):
        return None
    topics: set[str] = set()
    for member in group.members.values():
        view = memoryview(member.metadata(group.protocol_name))
        try:
            _, pos = p.read_int16(view, 0)
            count, pos = p.read_int32(view, pos)
            # Each topic takes at least two bytes: a huge count runs out of
            # data after a few reads, never allocates.
            for _ in range(max(count, 0)):
                topic, pos = p.read_string(view, pos)
                topics.add(topic)
        except DecodeError:
            return None
    return topics
