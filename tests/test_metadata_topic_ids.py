"""Metadata v12 asked for topics by id, as the Java admin client asks."""

import uuid

import pytest

from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_TOPICS, METADATA

from .server_harness import Client, running_server

pytestmark = pytest.mark.trio

Topic = METADATA.Request.MetadataRequestTopic


def by_id(topic_id, name):
    return METADATA.Request(topics=[Topic(topic_id=topic_id, name=name)], allow_auto_topic_creation=False)


@pytest.mark.parametrize("name", [None, ""])
async def test_a_topic_id_wins_over_the_name(tmp_path, name):
    # describeTopics(TopicCollection.ofTopicIds(...)) sends the name as ""
    # (the field's default), not null: Kafka goes by the id all the same.
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        CreatableTopic = CREATE_TOPICS.Request.CreatableTopic
        created = await client.call(CREATE_TOPICS, 7, CREATE_TOPICS.Request(
            topics=[CreatableTopic(name="t", num_partitions=2, replication_factor=1)], timeout_ms=1000))
        topic_id = created.topics[0].topic_id
        (found,) = (await client.call(METADATA, 12, by_id(topic_id, name))).topics
        assert (found.error_code, found.name, found.topic_id, len(found.partitions)) == (0, "t", topic_id, 2)
        missing = uuid.UUID(int=12345)
        (unknown,) = (await client.call(METADATA, 12, by_id(missing, name))).topics
        assert (unknown.error_code, unknown.name, unknown.topic_id) == (ErrorCode.UNKNOWN_TOPIC_ID, None, missing)
