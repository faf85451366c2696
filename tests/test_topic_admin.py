"""The pytest plugin's topic creation over the Kafka protocol, against a
broker that lists a new topic a moment after creating it, as Apache Kafka
does."""

import pytest
import trio

from kgw.config import BrokerConfig
from kgw.handlers import HANDLERS, Handler, load_all
from kgw.server import Server
from kgw.topic_admin import TopicAdminError, create_topic
from protocol.error_codes import ErrorCode
from protocol.messages import METADATA

pytestmark = pytest.mark.trio


def lagging_metadata(answers_before_listing: int):
    """A Metadata handler that calls new topics unknown `answers_before_listing`
    times, as a Kafka broker does until its metadata log catches up."""
    asked = []

    async def metadata(broker, request, context):
        body = await HANDLERS[METADATA.key].fn(broker, request, context)
        asked.append([t.name for t in body.topics])
        if len(asked) <= answers_before_listing:
            for topic in body.topics:
                topic.error_code, topic.partitions = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []
        return body

    return metadata, asked


@pytest.mark.parametrize("lag, listed", [(0, True), (3, True), (10_000, False)])
async def test_create_topic_returns_once_metadata_lists_it(tmp_path, lag, listed):
    load_all()
    metadata, asked = lagging_metadata(lag)
    table = dict(HANDLERS)
    table[METADATA.key] = Handler(METADATA, METADATA.min_version, METADATA.max_version, metadata)
    server = Server(BrokerConfig(port=0, data_dir=tmp_path, auto_create_topics=False), handlers=table)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        bootstrap = "%s:%d" % server.address
        if listed:
            await trio.to_thread.run_sync(lambda: create_topic(bootstrap, "t", 2, timeout=5))
            assert asked == [["t"]] * (lag + 1)
        else:
            with pytest.raises(TopicAdminError) as err:
                await trio.to_thread.run_sync(lambda: create_topic(bootstrap, "t", 2, timeout=0.5))
            assert err.value.code == ErrorCode.REQUEST_TIMED_OUT
        server.shutdown()
