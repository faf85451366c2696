"""Creating and deleting topics over the Kafka protocol, blocking.

The pytest plugin's topics go through the network rather than into an
embedded broker's state, so they work against whatever `kgw_bootstrap`
points at: kgw in this process, a `kgw serve`, or an Apache Kafka.
"""

import socket

from protocol.connection import CLOSED, NEED_DATA, ClientConnection
from protocol.error_codes import ErrorCode
from protocol.messages import CREATE_TOPICS, DELETE_TOPICS

# The oldest versions that take -1 for "the broker's default" (KIP-464,
# Kafka 2.4), which every kgw and Kafka 4 serve.
CREATE_TOPICS_VERSION = 5
DELETE_TOPICS_VERSION = 4
CLIENT_ID = "kgw-topic-admin"


class TopicAdminError(Exception):
    """The broker refused; `code` is the Kafka error code it answered."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code


def create_topic(bootstrap: str, name: str, partitions: int = 1, configs: dict[str, str] | None = None,
                 *, timeout: float = 10.0) -> None:
    Topic = CREATE_TOPICS.Request.CreatableTopic
    Config = Topic.CreatableTopicConfig
    request = CREATE_TOPICS.Request(
        topics=[Topic(name=name, num_partitions=partitions, replication_factor=-1, assignments=[],
                      configs=[Config(name=k, value=v) for k, v in (configs or {}).items()])],
        timeout_ms=int(timeout * 1000), validate_only=False)
    (result,) = _call(bootstrap, CREATE_TOPICS, CREATE_TOPICS_VERSION, request, timeout).topics
    _check(result.error_code, f"creating topic {name}", result.error_message)


def delete_topic(bootstrap: str, name: str, *, timeout: float = 10.0) -> None:
    request = DELETE_TOPICS.Request(topic_names=[name], timeout_ms=int(timeout * 1000))
    (result,) = _call(bootstrap, DELETE_TOPICS, DELETE_TOPICS_VERSION, request, timeout).responses
    _check(result.error_code, f"deleting topic {name}", None)


def _check(code: int, doing: str, message: str | None) -> None:
    if code != ErrorCode.NONE:
        code = ErrorCode(code)
        raise TopicAdminError(code, f"{doing}: {code.name}" + (f" ({message})" if message else ""))


def _call(bootstrap: str, api, version: int, body, timeout: float):
    host, _, port = bootstrap.rpartition(":")
    connection = ClientConnection(CLIENT_ID)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        _, data = connection.send_request(api.key, version, body)
        sock.sendall(data)
        while (response := connection.next_response()) is NEED_DATA:
            connection.receive_data(sock.recv(65536))
    if response is CLOSED:
        raise ConnectionError(f"{bootstrap} closed the connection instead of answering {api.name}")
    return response.body
