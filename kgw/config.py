"""The broker's settings, as `kgw serve` and the embedding API pass them."""

from dataclasses import dataclass, field
from pathlib import Path

from protocol.connection import DEFAULT_MAX_FRAME_SIZE

from .log import BrokerDefaults


@dataclass
class BrokerConfig:
    # Kafka's node.id: what Metadata, FindCoordinator and DescribeCluster name.
    node_id: int = 0
    host: str = "127.0.0.1"
    port: int = 9092
    data_dir: Path = Path("./data")
    # What clients are told to connect to; None means the bound address.
    advertised_host: str | None = None
    advertised_port: int | None = None
    num_partitions: int = 1
    auto_create_topics: bool = True
    max_request_size: int = DEFAULT_MAX_FRAME_SIZE
    # "acks" (fsync before acknowledging acks=all, group commit), "always",
    # "interval:<ms>" or "never": see the README's durability section.
    flush: str = "acks"
    # False for a data directory that does not outlive the broker (the
    # embedded broker's temporary one): committed offsets, transaction state
    # and kgw's own metadata are then never fsynced either.
    durable: bool = True
    retention_check_interval_ms: int = 300_000
    # How long in-flight requests may run after SIGTERM before being cut.
    shutdown_grace_s: float = 5.0
    max_connections: int = 10_000
    # Kafka's connections.max.idle.ms: a connection with nothing in flight
    # that sends nothing for this long is closed.
    connections_max_idle_ms: int = 600_000
    # Kafka's queued.max.request.bytes: request bytes held in memory across
    # all connections, beyond which kgw stops reading from sockets.
    queued_max_request_bytes: int = 256 * 1024 * 1024
    # Kafka's group.initial.rebalance.delay.ms is 3000; 0 gives a new
    # consumer its first message without waiting (the choice).
    group_initial_rebalance_delay_ms: int = 0
    offsets_retention_minutes: int = 10_080
    # Kafka's group.max.size (unbounded in Kafka): members per group, the
    # member ids handed out but not yet joined with included.
    group_max_size: int | None = 10_000
    # Kafka's transaction.max.timeout.ms, and how often transactions open
    # longer than their timeout are aborted (its
    # transaction.abort.timed.out.transaction.cleanup.interval.ms).
    transaction_max_timeout_ms: int = 900_000
    transaction_abort_check_interval_ms: int = 10_000
    # Descriptors the log keeps open (segments and indexes, least recently
    # used closed first); None: half the process's RLIMIT_NOFILE, at most
    # 10,000.
    max_open_files: int | None = None
    # Partitions of all topics together; creations beyond are refused with
    # POLICY_VIOLATION (Kafka has no such limit; KIP-578 proposed one).
    max_partitions: int = 100_000
    # Port of the Prometheus endpoint (on `host`); None: no metrics kept.
    metrics_port: int | None = None
    # SASL users by name, with their passwords; empty: no authentication
    # (Kafka's PLAINTEXT listener), else every client must authenticate
    # (SASL_PLAINTEXT) with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    sasl_users: dict[str, str] = field(default_factory=dict)

    def log_defaults(self) -> BrokerDefaults:
        return BrokerDefaults(num_partitions=self.num_partitions,
                              retention_check_interval_ms=self.retention_check_interval_ms,
                              flush=self.flush, max_open_files=self.max_open_files,
                              max_partitions=self.max_partitions)
