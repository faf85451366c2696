"""Creating and deleting topics over the Kafka protocol, blocking.

The pytest plugin's topics go through the network rather than into an
embedded broker's state, so they work against whatever `kgw_bootstrap`
points at: kgw in this process, a `kgw serve`, or an Apache Kafka.
"""

import time
from contextlib import closing

from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_TOPICS, DELETE_TOPICS, METADATA

from .tools.client import Connection
from .tools.sasl import Credentials

# The oldest versions that take -1 for "the broker's default" partitions and
# replication factor (KIP-464, Kafka 2.4); above them the broker's and kgw's
# highest common version is used.
CREATE_TOPICS_MIN_VERSION = 4
DELETE_TOPICS_BY_ID_VERSION = 6
LISTED_POLL_S = 0.05


class TopicAdminError(Exception):
    """The broker refused; `code` is the Kafka error code it answered."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code


def create_topic(bootstrap: str, name: str, partitions: int = 1, configs: dict[str, str] | None = None,
                 *, timeout: float = 10.0, sasl: Credentials | None = None) -> None:
    Topic = CREATE_TOPICS.Request.CreatableTopic
    Config = Topic.CreatableTopicConfig
    request = CREATE_TOPICS.Request(
        topics=[Topic(name=name, num_partitions=partitions, replication_factor=-1, assignments=[],
                      configs=[Config(name=k, value=v) for k, v in (configs or {}).items()])],
        timeout_ms=int(timeout * 1000), validate_only=False)
    deadline = time.monotonic() + timeout
    with _connect(bootstrap, timeout, sasl) as connection:
        version = connection.version(CREATE_TOPICS, minimum=CREATE_TOPICS_MIN_VERSION)
        (result,) = connection.call(CREATE_TOPICS, request, version).topics
        _check(result.error_code, f"creating topic {name}", result.error_message)
        _wait_until_listed(connection, name, deadline)


def _wait_until_listed(connection: Connection, name: str, deadline: float) -> None:
    """Apache Kafka answers CreateTopics once its controller has the topic;
    its broker lists it in Metadata a moment later, and until then a test
    would find it unknown.  kgw lists it at once."""
    request = METADATA.Request(topics=[METADATA.Request.MetadataRequestTopic(topic_id=None, name=name)],
                               allow_auto_topic_creation=False)
    while True:
        (topic,) = connection.call(METADATA, request).topics
        if topic.error_code == ErrorCode.NONE and topic.partitions and all(
                p.leader_id >= 0 for p in topic.partitions):
            return
        if time.monotonic() > deadline:
            raise TopicAdminError(ErrorCode.REQUEST_TIMED_OUT,
                                  f"topic {name} was created but Metadata does not list it")
        time.sleep(LISTED_POLL_S)


def delete_topic(bootstrap: str, name: str, *, timeout: float = 10.0,
                 sasl: Credentials | None = None) -> None:
    with _connect(bootstrap, timeout, sasl) as connection:
        version = connection.version(DELETE_TOPICS)
        request = DELETE_TOPICS.Request(timeout_ms=int(timeout * 1000))
        if version >= DELETE_TOPICS_BY_ID_VERSION:
            request.topics = [DELETE_TOPICS.Request.DeleteTopicState(name=name)]
        else:
            request.topic_names = [name]
        (result,) = connection.call(DELETE_TOPICS, request, version).responses
    _check(result.error_code, f"deleting topic {name}", None)


def _check(code: int, doing: str, message: str | None) -> None:
    if code != ErrorCode.NONE:
        code = ErrorCode(code)
        raise TopicAdminError(code, f"{doing}: {code.name}" + (f" ({message})" if message else ""))


def _connect(bootstrap: str, timeout: float, sasl: Credentials | None) -> "closing[Connection]":
    """The tools' version-negotiating connection, closed when the block ends."""
    host, _, port = bootstrap.rpartition(":")
    return closing(Connection(host, int(port), timeout, sasl))
