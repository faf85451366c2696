"""kgw's command line. Every option of `kgw serve` also reads a KGW_*
environment variable (`--data-dir` from KGW_DATA_DIR, and so on).

Only click is imported up front: `kgw serve` loads the broker, and each
tool command its own module, when it runs, so neither pays for the other.
"""

import importlib
import re
import sys
from pathlib import Path

import click
from click.exceptions import NoSuchCommand

from .cli_errors import ToolError, ToolGroup, describe_os_error

# `kgw serve`'s status after a graceful stop that could not flush everything.
EXIT_NOT_FLUSHED = 3


def _flush_mode(ctx, param, value: str) -> str:
    if value in ("acks", "always", "never") or re.fullmatch(r"interval:\d+", value):
        return value
    raise click.BadParameter("use acks, always, never or interval:<ms>")


def _sasl_users(ctx, param, values) -> dict[str, str]:
    users = {}
    for item in values:
        name, sep, password = item.partition(":")
        if not sep or not name or not password:
            # Never the item itself: it may hold a password.
            raise click.BadParameter(f"{name!r}: use NAME:PASSWORD" if name else
                                     "an empty name: use NAME:PASSWORD")
        users[name] = password
    return users


class KgwGroup(ToolGroup):
    """The `kgw` command: `serve` defined here, the others imported from
    their modules when they are run (or listed with their help)."""

    lazy_commands = {
        "health": "kgw.healthcheck:health",
        "topics": "kgw.tools.topics:topics",
        "produce": "kgw.tools.produce:produce",
        "consume": "kgw.tools.consume:consume",
        "groups": "kgw.tools.groups:groups",
        "transactions": "kgw.tools.transactions:transactions",
        "log": "kgw.tools.logfiles:log",
    }

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except NoSuchCommand as exc:
            # click suggests among the commands it holds: the lazy ones too.
            raise NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def get_command(self, ctx, name):
        if name not in self.lazy_commands:
            return super().get_command(ctx, name)
        module, _, attribute = self.lazy_commands[name].partition(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=KgwGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kgw", prog_name="kgw", message="%(prog)s %(version)s")
@click.option("--log-level", default="info", show_default=True, envvar="KGW_LOG_LEVEL",
              show_envvar=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--log-format", default="text", show_default=True, envvar="KGW_LOG_FORMAT",
              show_envvar=True, type=click.Choice(["text", "json"]),
              help="Log lines as text, or as one JSON object each.")
def main(log_level, log_format):
    """kgw: a Kafka-wire-compatible broker."""
    from .observability.logs import configure_logging

    configure_logging(log_level, log_format)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.",
              envvar="KGW_HOST", show_envvar=True)
@click.option("--port", default=9092, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.",
              envvar="KGW_PORT", show_envvar=True)
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path),
              help="Where topics, offsets and metadata are kept.",
              envvar="KGW_DATA_DIR", show_envvar=True)
@click.option("--advertised-host", default=None,
              help="Host clients are told to connect to. [default: the listening host]",
              envvar="KGW_ADVERTISED_HOST", show_envvar=True)
@click.option("--advertised-port", default=None, type=click.IntRange(1, 65535),
              help="Port clients are told to connect to. [default: the bound port]",
              envvar="KGW_ADVERTISED_PORT", show_envvar=True)
@click.option("--num-partitions", default=1, show_default=True, type=click.IntRange(1, 10_000),
              help="Partitions of auto-created topics and of CreateTopics asking for -1.",
              envvar="KGW_NUM_PARTITIONS", show_envvar=True)
@click.option("--auto-create-topics/--no-auto-create-topics", default=True, show_default=True,
              help="Create unknown topics when a client's Metadata request allows it.",
              envvar="KGW_AUTO_CREATE_TOPICS", show_envvar=True)
@click.option("--max-request-size", default=100 * 1024 * 1024, show_default=True,
              type=click.IntRange(1024), help="Largest request frame accepted, in bytes.",
              envvar="KGW_MAX_REQUEST_SIZE", show_envvar=True)
@click.option("--queued-max-request-bytes", default=256 * 1024 * 1024, show_default=True,
              type=click.IntRange(1024),
              help="Request bytes held in memory across all connections; past it kgw stops "
                   "reading from sockets until memory is released.",
              envvar="KGW_QUEUED_MAX_REQUEST_BYTES", show_envvar=True)
@click.option("--connections-max-idle-ms", default=600_000, show_default=True,
              type=click.IntRange(1), help="Close a connection idle for this long.",
              envvar="KGW_CONNECTIONS_MAX_IDLE_MS", show_envvar=True)
@click.option("--max-partitions", default=100_000, show_default=True, type=click.IntRange(0),
              help="Partitions of all topics together; a creation beyond is refused with "
                   "POLICY_VIOLATION.",
              envvar="KGW_MAX_PARTITIONS", show_envvar=True)
@click.option("--max-open-files", default=None, type=click.IntRange(1),
              help="Descriptors the log keeps open for segments and indexes; the least "
                   "recently used are closed first. [default: half the open-file limit "
                   "(ulimit -n), at most 10000]",
              envvar="KGW_MAX_OPEN_FILES", show_envvar=True)
@click.option("--flush", default="acks", show_default=True, callback=_flush_mode,
              help="When to fsync: acks (before acknowledging acks=all, group commit), "
                   "always, never, or interval:<ms>.",
              envvar="KGW_FLUSH", show_envvar=True)
@click.option("--retention-check-interval-ms", default=300_000, show_default=True,
              type=click.IntRange(1), help="How often retention deletes old segments.",
              envvar="KGW_RETENTION_CHECK_INTERVAL_MS", show_envvar=True)
@click.option("--group-initial-rebalance-delay-ms", default=0, show_default=True,
              type=click.IntRange(0), help="How long a new group waits for more members to join.",
              envvar="KGW_GROUP_INITIAL_REBALANCE_DELAY_MS", show_envvar=True)
@click.option("--offsets-retention-minutes", default=10_080, show_default=True,
              type=click.IntRange(1), help="How long an empty group's committed offsets are kept.",
              envvar="KGW_OFFSETS_RETENTION_MINUTES", show_envvar=True)
@click.option("--transaction-max-timeout-ms", default=900_000, show_default=True,
              type=click.IntRange(1), help="Longest transaction timeout a producer may ask for.",
              envvar="KGW_TRANSACTION_MAX_TIMEOUT_MS", show_envvar=True)
@click.option("--transaction-abort-check-interval-ms", default=10_000, show_default=True,
              type=click.IntRange(1),
              help="How often transactions open longer than their timeout are aborted.",
              envvar="KGW_TRANSACTION_ABORT_CHECK_INTERVAL_MS", show_envvar=True)
@click.option("--metrics-port", default=None, type=click.IntRange(0, 65535),
              help="Serve Prometheus metrics at http://HOST:PORT/metrics; 0 picks a free port. "
                   "[default: no metrics]",
              envvar="KGW_METRICS_PORT", show_envvar=True)
@click.option("--sasl-user", "sasl_users", multiple=True, callback=_sasl_users, metavar="NAME:PASSWORD",
              help="Require SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and accept this user; "
                   "repeatable. KGW_SASL_USERS holds several, separated by spaces. "
                   "[default: no authentication]",
              envvar="KGW_SASL_USERS", show_envvar=True)
def serve(host, port, data_dir, advertised_host, advertised_port, num_partitions,
          auto_create_topics, max_request_size, queued_max_request_bytes, connections_max_idle_ms,
          max_partitions, max_open_files, flush, retention_check_interval_ms,
          group_initial_rebalance_delay_ms, offsets_retention_minutes, transaction_max_timeout_ms,
          transaction_abort_check_interval_ms, metrics_port, sasl_users):
    """Run the broker until SIGINT or SIGTERM."""
    import trio

    from .config import BrokerConfig
    from .log import LogError
    from .server import serve_until_signalled
    from .startup_errors import StartupError

    if advertised_host is None and host in ("0.0.0.0", "::"):
        advertised_host = "127.0.0.1"
    config = BrokerConfig(
        host=host, port=port, data_dir=data_dir, advertised_host=advertised_host,
        advertised_port=advertised_port, num_partitions=num_partitions,
        auto_create_topics=auto_create_topics, max_request_size=max_request_size,
        queued_max_request_bytes=queued_max_request_bytes,
        connections_max_idle_ms=connections_max_idle_ms, max_partitions=max_partitions,
        max_open_files=max_open_files,
        flush=flush,
        retention_check_interval_ms=retention_check_interval_ms,
        group_initial_rebalance_delay_ms=group_initial_rebalance_delay_ms,
        offsets_retention_minutes=offsets_retention_minutes,
        transaction_max_timeout_ms=transaction_max_timeout_ms,
        transaction_abort_check_interval_ms=transaction_abort_check_interval_ms,
        metrics_port=metrics_port, sasl_users=sasl_users)
    try:
        flushed = trio.run(serve_until_signalled, config)
    except (StartupError, OSError, LogError, ExceptionGroup) as exc:
        # A port in use or a data dir that cannot be opened: one line, not
        # a traceback (trio wraps the error in exception groups).
        error = _first_startup_error(exc, (StartupError, OSError, LogError))
        if error is None:
            raise
        raise ToolError(_startup_message(error)) from None
    if not flushed:
        # Stopped as asked, but the disk refused some of the flush (full, or
        # read-only): the next start recovers what it could not write.
        sys.exit(EXIT_NOT_FLUSHED)


def _first_startup_error(exc: BaseException, kinds: tuple[type[BaseException], ...]
                         ) -> BaseException | None:
    while isinstance(exc, BaseExceptionGroup):
        matched = exc.subgroup(kinds)
        if matched is None:
            return None
        exc = matched.exceptions[0]
    return exc if isinstance(exc, kinds) else None


def _startup_message(error: BaseException) -> str:
    """One line: what failed, and the option and variable that change it."""
    setting = getattr(error, "setting", None)
    option = next((param for param in serve.params if param.name == setting), None)
    if option is not None:
        names = [max(option.opts, key=len), *([option.envvar] if isinstance(option.envvar, str) else [])]
        return f"{error} ({', '.join(names)})"
    if isinstance(error, OSError):
        return f"cannot serve: {describe_os_error(error)}"
    return f"cannot serve: {getattr(error, 'message', error)}"
