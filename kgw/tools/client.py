"""A small blocking Kafka client for the command-line tools.

It speaks through protocol.connection.ClientConnection over plain sockets,
so the tools work against any Kafka-compatible broker.  Each connection
starts with ApiVersions and then uses, for every API, the highest version
both sides support (Kafka's own clients negotiate the same way, KIP-35).
Requests for a partition go to its leader and group requests to the
group's coordinator, so a multi-broker cluster works as well as kgw.
"""

import socket
import time
import uuid
from dataclasses import dataclass, field

from protocol.connection import CLOSED, NEED_DATA, ClientConnection
from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.messages import API_VERSIONS, FIND_COORDINATOR, METADATA, SASL_AUTHENTICATE, SASL_HANDSHAKE
from protocol.schema import Api

from ..cli_errors import ToolError
from .command import Bootstrap
from .sasl import Credentials, ServerNotTrusted, conversation

CLIENT_ID = "kgw-cli"
SOFTWARE_NAME = "kgw-cli"
SOFTWARE_VERSION = "0.1.0"
DEFAULT_TIMEOUT_S = 30.0
# Leadership settles within moments of a topic's creation or a leader
# change; waiting longer than this means something else is wrong.
_METADATA_RETRIES = 20
_METADATA_RETRY_PAUSE_S = 0.1
# How long a topic asked to be created may stay unknown: Kafka answers the
# Metadata request that creates it UNKNOWN_TOPIC_OR_PARTITION (KRaft), as it
# answers when it will not create it, and knows it once its controller has.
_CREATION_WAIT_S = 5.0
RETRIABLE_COORDINATOR_ERRORS = {ErrorCode.COORDINATOR_NOT_AVAILABLE,
                                ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR}
_RETRIABLE = {ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_LEADER_OR_FOLLOWER,
              *RETRIABLE_COORDINATOR_ERRORS}


def coordinator_retries():
    """The pauses between the tries of a coordinator request, None with the last."""
    for _ in range(_METADATA_RETRIES - 1):
        yield _METADATA_RETRY_PAUSE_S
    yield None
GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"


def check(code: int, what: str, message: str | None = None) -> None:
    """Raise `refusal` unless `code` is NONE."""
    if code != ErrorCode.NONE:
        raise refusal(code, what, message)


def refusal(code: int, what: str, message: str | None = None) -> ToolError:
    """A ToolError naming Kafka's error, with the broker's message when it gave one."""
    name = error_name(code)
    if message:
        message = message.removeprefix(f"{name}: ")
    detail = f" ({message})" if message and message != name else ""
    return ToolError(f"{what}: {name}{detail}")


class Connection:
    """One blocking connection to one broker."""

    def __init__(self, host: str, port: int, timeout: float = DEFAULT_TIMEOUT_S,
                 sasl: Credentials | None = None, origin: str | None = None):
        """`origin` says how the address was chosen, for the error if it
        cannot be reached."""
        self.address = f"{host}:{port}"
        self._sasl = sasl
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            where = f"{self.address} ({origin})" if origin else self.address
            raise ToolError(f"cannot connect to {where}: {connection_failure(exc)}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._protocol = ClientConnection(CLIENT_ID)
        try:
            self.versions = self._negotiate()
            if sasl is not None:
                self._authenticate(sasl)
        except BaseException:
            self._sock.close()
            raise

    def close(self) -> None:
        self._sock.close()

    def _negotiate(self) -> dict[int, tuple[int, int]]:
        request = API_VERSIONS.Request(client_software_name=SOFTWARE_NAME,
                                       client_software_version=SOFTWARE_VERSION)
        body = self._call(API_VERSIONS, API_VERSIONS.max_version, request)
        if body.error_code == ErrorCode.UNSUPPORTED_VERSION:
            # The broker answered with its own ApiVersions range (KIP-511).
            theirs = {k.api_key: k.max_version for k in body.api_keys}
            version = min(theirs.get(API_VERSIONS.key, 0), API_VERSIONS.max_version)
            body = self._call(API_VERSIONS, version, request)
        check(body.error_code, f"ApiVersions to {self.address}")
        return {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}

    def _authenticate(self, credentials: Credentials) -> None:
        handshake = self._call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism=credentials.mechanism))
        offered = ", ".join(handshake.mechanisms) or "none"
        check(handshake.error_code, f"SASL {credentials.mechanism} with {self.address} "
                                    f"(it offers {offered})")
        version = self.version(SASL_AUTHENTICATE)
        steps = conversation(credentials)
        token = next(steps)
        while True:
            body = self._call(SASL_AUTHENTICATE, version, SASL_AUTHENTICATE.Request(auth_bytes=token))
            check(body.error_code, f"SASL authentication with {self.address}", body.error_message)
            try:
                token = steps.send(bytes(body.auth_bytes))
            except StopIteration:
                return
            except ServerNotTrusted as exc:
                raise ToolError(f"SASL authentication with {self.address}: {exc}") from None

    def _closed_hint(self, api: Api) -> str:
        """A broker that requires SASL closes the connection on any request
        but ApiVersions and SASL's own before authentication (Kafka and kgw
        alike)."""
        if self._sasl is not None or api.key in (API_VERSIONS.key, SASL_HANDSHAKE.key, SASL_AUTHENTICATE.key):
            return ""
        return ("; it probably requires SASL authentication: give --sasl-mechanism, "
                "--sasl-username and --sasl-password (or KGW_SASL_MECHANISM, "
                "KGW_SASL_USERNAME and KGW_SASL_PASSWORD)")

    def version(self, api: Api, minimum: int = 0) -> int:
        """The highest version of `api` that both kgw's codec and the broker
        speak, and at least `minimum`."""
        lowest = max(api.min_version, minimum)
        theirs = self.versions.get(api.key)
        if theirs is None or max(theirs[0], lowest) > min(theirs[1], api.max_version):
            named = "no version" if theirs is None else f"versions {theirs[0]}-{theirs[1]}"
            raise ToolError(f"the broker at {self.address} supports {named} of {api.name}; "
                            f"kgw needs {lowest}-{api.max_version}")
        return min(theirs[1], api.max_version)

    def call(self, api: Api, body, version: int | None = None):
        """Send a request and wait for its answer's body."""
        return self._call(api, self.version(api) if version is None else version, body)

    def send(self, api: Api, body, version: int) -> None:
        """Send a request that gets no answer (a Produce with acks=0)."""
        _, data = self._protocol.send_request(api.key, version, body)
        self._write(api, data)

    def _call(self, api: Api, version: int, body):
        correlation_id, data = self._protocol.send_request(api.key, version, body)
        self._write(api, data)
        while True:
            try:
                response = self._protocol.next_response()
            except ProtocolError as exc:
                raise ToolError(
                    f"unreadable {api.name} answer from {self.address}: {exc}") from None
            if response is CLOSED:
                raise ToolError(f"the broker at {self.address} closed the connection "
                                f"instead of answering {api.name} v{version}{self._closed_hint(api)}")
            if response is not NEED_DATA:
                if response.correlation_id == correlation_id:
                    return response.body
                # Otherwise the answer to a request given up on (a fetch
                # interrupted by Ctrl-C, say).
                continue
            try:
                self._protocol.receive_data(self._sock.recv(1 << 20))
            except TimeoutError:
                raise ToolError(f"the broker at {self.address} did not answer {api.name} "
                                f"within {self._sock.gettimeout():g} s") from None
            except OSError as exc:
                raise ToolError(f"lost the connection to {self.address}: {connection_failure(exc)}") from None

    def _write(self, api: Api, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ToolError(f"cannot send {api.name} to {self.address}: {connection_failure(exc)}") from None


def connection_failure(exc: OSError) -> str:
    """Why a connection failed, without errno numbers."""
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


@dataclass
class PartitionInfo:
    index: int
    leader: int
    replicas: list[int]
    isr: list[int]
    error_code: int


@dataclass
class TopicInfo:
    name: str
    topic_id: uuid.UUID
    is_internal: bool
    error_code: int
    partitions: dict[int, PartitionInfo] = field(default_factory=dict)


@dataclass
class Metadata:
    brokers: dict[int, tuple[str, int]]
    cluster_id: str | None
    controller_id: int
    topics: dict[str, TopicInfo]

    def topic(self, name: str, *, creation_asked: bool = False) -> TopicInfo:
        """The topic, with every partition led; ToolError if it does not
        exist (`creation_asked`: although the broker was asked to create it)."""
        info = self.topics.get(name)
        if info is None or info.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            if creation_asked:
                raise ToolError(f"unknown topic {name!r}: the broker did not create it (its "
                                "auto.create.topics.enable may be off): create it with "
                                f"kgw topics create {name}")
            raise ToolError(f"unknown topic {name!r}")
        check(info.error_code, f"topic {name!r}")
        for partition in info.partitions.values():
            check(partition.error_code, f"partition {partition.index} of topic {name!r}")
        return info


class Cluster:
    """Connections to the brokers of one cluster, opened as they are needed."""

    def __init__(self, bootstrap: Bootstrap, timeout: float = DEFAULT_TIMEOUT_S):
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._any: Connection | None = None
        self._nodes: dict[int, Connection] = {}
        self._brokers: dict[int, tuple[str, int]] = {}
        self._coordinators: dict[tuple[str, int], int] = {}

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for conn in {id(c): c for c in [self._any, *self._nodes.values()] if c}.values():
            conn.close()
        self._any = None
        self._nodes.clear()
        self._coordinators.clear()

    def any(self) -> Connection:
        """The bootstrap broker: for requests any broker answers (metadata, admin)."""
        if self._any is None:
            self._any = Connection(self.bootstrap.host, self.bootstrap.port, timeout=self.timeout,
                                   sasl=self.bootstrap.sasl, origin=self.bootstrap.origin)
        return self._any

    def node(self, node_id: int) -> Connection:
        if node_id not in self._nodes:
            if node_id not in self._brokers:
                self.metadata([])
            if node_id not in self._brokers:
                raise ToolError(f"broker {node_id} is not in the cluster's metadata")
            self._nodes[node_id] = Connection(
                *self._brokers[node_id], timeout=self.timeout, sasl=self.bootstrap.sasl,
                origin=f"broker {node_id}, as the cluster's metadata advertises it")
        return self._nodes[node_id]

    def metadata(self, topics: list[str] | None, *, wait_for_leaders: bool = True,
                 create: bool = False) -> Metadata:
        """Metadata for `topics` (None: every topic); with `create`, asking the
        broker to create the missing ones, as producers do (Metadata's
        allow_auto_topic_creation, which the broker's auto.create.topics.enable
        may refuse), else never creating one.

        With `wait_for_leaders`, asks again for a while when a partition has
        no leader yet, as happens for a moment after a topic is created.  With
        `create`, a topic still unknown is asked for again for a few seconds,
        as a producer waits for the topic it asked to be created.
        """
        deadline = time.monotonic() + _CREATION_WAIT_S
        tries = 0
        while True:
            meta = self._fetch_metadata(topics, create)
            tries += 1
            unknown = any(t.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION for t in meta.topics.values())
            waiting = ((wait_for_leaders and _leaderless(meta) and tries < _METADATA_RETRIES)
                       or (create and unknown and time.monotonic() < deadline))
            if not waiting:
                return meta
            time.sleep(_METADATA_RETRY_PAUSE_S)

    def _fetch_metadata(self, topics: list[str] | None, create: bool = False) -> Metadata:
        conn = self.any()
        version = conn.version(METADATA)
        requested = None if topics is None else [
            METADATA.Request.MetadataRequestTopic(name=name) for name in topics]
        if requested is None and version == 0:
            requested = []  # v0 spells "every topic" as an empty list
        body = conn.call(METADATA, METADATA.Request(
            topics=requested, allow_auto_topic_creation=create), version)
        self._brokers = {b.node_id: (b.host, b.port) for b in body.brokers}
        infos = {}
        for t in body.topics:
            info = TopicInfo(t.name, t.topic_id, t.is_internal, t.error_code)
            for p in t.partitions:
                info.partitions[p.partition_index] = PartitionInfo(
                    p.partition_index, p.leader_id, list(p.replica_nodes), list(p.isr_nodes),
                    p.error_code)
            info.partitions = dict(sorted(info.partitions.items()))
            infos[t.name] = info
        return Metadata(dict(self._brokers), body.cluster_id, body.controller_id, infos)

    def leader(self, info: TopicInfo, partition: int) -> int:
        leader = info.partitions[partition].leader
        if leader < 0:
            raise ToolError(f"partition {partition} of topic {info.name!r} has no leader")
        return leader

    def coordinator(self, group: str, key_type: int = GROUP_KEY_TYPE) -> Connection:
        """The connection to the coordinator of `group`, or of the
        transactional id it names with TRANSACTION_KEY_TYPE."""
        return self.node(self.coordinator_id(group, key_type))

    def forget_coordinator(self, group: str, key_type: int = GROUP_KEY_TYPE) -> None:
        """Look the coordinator up again next time (it said it is not it)."""
        self._coordinators.pop((group, key_type), None)

    def coordinator_id(self, group: str, key_type: int = GROUP_KEY_TYPE) -> int:
        """The node id of that coordinator (looked up once)."""
        if (group, key_type) not in self._coordinators:
            self._coordinators[group, key_type] = self._find_coordinator(group, key_type)
        return self._coordinators[group, key_type]

    def _find_coordinator(self, group: str, key_type: int) -> int:
        what = "group" if key_type == GROUP_KEY_TYPE else "transactional id"
        for _ in range(_METADATA_RETRIES):
            conn = self.any()
            version = conn.version(FIND_COORDINATOR)
            body = conn.call(FIND_COORDINATOR, FIND_COORDINATOR.Request(
                key=group, key_type=key_type, coordinator_keys=[group]), version)
            if version >= 4:
                found = body.coordinators[0]
                error, message, node, host, port = (found.error_code, found.error_message,
                                                    found.node_id, found.host, found.port)
            else:
                error, message, node, host, port = (body.error_code, body.error_message,
                                                    body.node_id, body.host, body.port)
            if error not in _RETRIABLE:
                check(error, f"finding the coordinator of {what} {group!r}", message)
                self._brokers[node] = (host, port)
                return node
            time.sleep(_METADATA_RETRY_PAUSE_S)
        raise refusal(error, f"finding the coordinator of {what} {group!r}", message)


def _leaderless(meta: Metadata) -> bool:
    known = [t for t in meta.topics.values()
             if t.error_code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    return any(t.error_code == ErrorCode.LEADER_NOT_AVAILABLE
               or any(p.error_code == ErrorCode.LEADER_NOT_AVAILABLE or p.leader < 0
                      for p in t.partitions.values())
               for t in known)
