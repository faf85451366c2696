"""The broker's shared state: what every handler reaches through `broker`."""

import base64
import logging
import uuid
from pathlib import Path
from typing import TypeVar

import trio

from protocol.error_codes import ErrorCode

from .config import BrokerConfig
from .errors import KafkaError
from .groups import GroupCoordinator
from .log import LogManager
from .log.durability import Flusher
from .log.files import read_metadata, write_metadata
from .log.partition import AppendResult, PartitionLog
from .log.producer_state import AppendOrigin
from .log.scan import BatchHeader
from .observability.metrics import NO_METRICS, Metrics
from .producers import ProducerIds
from .topic_changes import TopicChanges
from .startup_errors import data_dir_error
from .transactions import MarkerWriter, TransactionCoordinator

log = logging.getLogger("kgw.broker")

CLUSTER_FILE = "cluster.json"
CLUSTER_FILE_FORMAT = 1
T = TypeVar("T")


class AppendNotifier:
    """Wakes long-polling fetches when a partition they wait on grows.

    A waiter registers one event under every partition it reads; an append
    sets the events registered under its partition and forgets them, so an
    idle partition costs nothing and a busy one wakes each waiter once.
    """

    def __init__(self):
        self._waiting: dict[tuple[str, int], list[trio.Event]] = {}

    def register(self, keys, event: trio.Event) -> None:
        for key in keys:
            self._waiting.setdefault(key, []).append(event)

    def unregister(self, keys, event: trio.Event) -> None:
        for key in keys:
            events = self._waiting.get(key)
            if events and event in events:
                events.remove(event)
                if not events:
                    del self._waiting[key]

    def appended(self, topic: str, partition: int) -> None:
        for event in self._waiting.pop((topic, partition), ()):
            event.set()


class Broker:
    def __init__(self, config: BrokerConfig):
        self.config = config
        self.node_id = config.node_id
        data_dir = Path(config.data_dir)
        self.cluster_id = ""  # read by open(), under the data directory's lock
        self.log = LogManager(data_dir, config.log_defaults())
        self.topics = TopicChanges(self.log)
        self.flusher = Flusher(config.flush, self.log)
        # Made by open(), under the data directory's lock.
        self._producer_ids: ProducerIds | None = None
        self._groups: GroupCoordinator | None = None
        self._transactions: TransactionCoordinator | None = None
        self.notifier = AppendNotifier()
        self.markers = MarkerWriter(self.log, self.flusher)
        self.metrics = Metrics() if config.metrics_port is not None else NO_METRICS
        self.log.hooks.appended = self._appended
        self.log.hooks.verify_transaction = self._verify_transaction
        # Set by the server once it has bound its socket.
        self.listen_host, self.listen_port = config.host, config.port
        self.advertised_host = config.advertised_host or config.host
        self.advertised_port = config.advertised_port or config.port

    def open(self) -> None:
        try:
            self.log.open()
        except OSError as exc:
            raise data_dir_error(exc, self.log.data_dir) from exc
        # Only under the directory lock that log.open() takes: replaying the
        # offsets journal may truncate or compact it, which would corrupt
        # the journal of another kgw already serving this directory.
        try:
            self.cluster_id = _load_or_create_cluster_id(self.log.data_dir, self.config.durable)
            self._producer_ids = ProducerIds(self.log.data_dir)
            self._groups = GroupCoordinator(
                self.log.data_dir,
                initial_rebalance_delay_ms=self.config.group_initial_rebalance_delay_ms,
                offsets_retention_minutes=self.config.offsets_retention_minutes,
                group_max_size=self.config.group_max_size, durable=self.config.durable)
            self._transactions = TransactionCoordinator(
                self.log.data_dir, new_producer_id=self._producer_ids.new_producer_id,
                write_markers=self.markers,
                end_group_transaction=self._groups.end_transaction,
                max_timeout_ms=self.config.transaction_max_timeout_ms,
                abort_check_interval_ms=self.config.transaction_abort_check_interval_ms,
                durable=self.config.durable)
        except BaseException:
            self.close()
            raise

    def close(self) -> bool:
        """Close everything; whether the log was flushed and marked clean."""
        if self._transactions is not None:
            self._transactions.close()
        if self._groups is not None:
            self._groups.close()
        return self.log.close()

    @property
    def producer_ids(self) -> ProducerIds:
        return _opened(self._producer_ids)

    @property
    def groups(self) -> GroupCoordinator:
        return _opened(self._groups)

    @property
    def transactions(self) -> TransactionCoordinator:
        return _opened(self._transactions)

    def _appended(self, partition: PartitionLog, result: AppendResult,
                  origin: AppendOrigin) -> None:
        """Every append, whoever made it: wake the fetches waiting on the
        partition (a marker can move the LSO they wait for), count a client's."""
        self.notifier.appended(partition.topic.name, partition.index)
        if origin is AppendOrigin.CLIENT:
            self.metrics.produced(partition.topic.name, result.size,
                                  result.last_offset + 1 - result.base_offset)

    def _verify_transaction(self, transactional_id: str | None, header: BatchHeader,
                            partition: PartitionLog) -> None:
        if transactional_id is None:
            # Kafka asks for the transactional id's authorization first.
            raise KafkaError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                             "a transactional batch needs the producer's transactional id")
        self.transactions.check_produce(transactional_id, header.producer_id,
                                        header.producer_epoch,
                                        (partition.topic.name, partition.index))

    def bound(self, host: str, port: int) -> None:
        self.listen_host, self.listen_port = host, port
        self.advertised_host = self.config.advertised_host or host
        self.advertised_port = self.config.advertised_port or port

    async def topic_or_create(self, name: str, allow_auto_create: bool):
        """The topic, auto-creating it as Metadata may; None if unknown.

        Raises LogError for a name Kafka would refuse, or a creation the
        broker's limits refuse (POLICY_VIOLATION).
        """
        topic = self.log.topic(name)
        if topic is None and allow_auto_create and self.config.auto_create_topics:
            topic = await self.topics.topic_or_create(name, self.config.num_partitions)
        return topic


def _opened(part: T | None) -> T:
    if part is None:
        raise RuntimeError("the broker is not open")
    return part


def new_cluster_id() -> str:
    """A random UUID in URL-safe base64 without padding, never starting with
    "-", as Kafka's Uuid.randomUuid draws them: command-line tools would
    read such an id as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _load_or_create_cluster_id(data_dir: Path, durable: bool) -> str:
    path = data_dir / CLUSTER_FILE
    meta = read_metadata(path, CLUSTER_FILE_FORMAT)
    if meta is not None:
        return meta["cluster_id"]
    cluster_id = new_cluster_id()
    write_metadata(path, CLUSTER_FILE_FORMAT, {"cluster_id": cluster_id}, sync=durable)
    return cluster_id
