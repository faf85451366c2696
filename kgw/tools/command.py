"""What every `kgw` tool command shares: the broker option, one-line errors,
progress on a terminal.

A tool fails with `ToolError` (click prints it as one `Error: ...` line on
stderr and exits 1).  Network and decoding failures that escape a command
are turned into the same kind of line by `ToolCommand`/`ToolGroup`, so no
expected failure ever shows a traceback.
"""

import errno
import functools
import os
import re
import sys
from dataclasses import dataclass

import click
from click.exceptions import NoArgsIsHelpError

from protocol.errors import ProtocolError

from ..sasl import MECHANISMS
from .sasl import Credentials

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
_ADDRESS = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s]+)):(?P<port>\d{1,5})")


class ToolError(click.ClickException):
    """A failure the user can act on; its message is one line."""


class UsageProblem(ToolError):
    """Bad arguments, said in one line (click's own usage errors take three)."""

    exit_code = 2

    @classmethod
    def of(cls, exc: click.UsageError) -> "UsageProblem":
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return cls(exc.format_message() + hint)


def _one_line_errors(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except NoArgsIsHelpError:
            raise  # `kgw topics` alone: the help is the answer
        except click.UsageError as exc:
            raise UsageProblem.of(exc) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click exits quietly when the reader of stdout went away
            raise ToolError(describe_os_error(exc)) from None
        except ProtocolError as exc:
            raise ToolError(f"unreadable answer from the broker: {exc}") from None
    return wrapper


class ToolCommand(click.Command):
    make_context = _one_line_errors(click.Command.make_context)
    invoke = _one_line_errors(click.Command.invoke)


class ToolGroup(click.Group):
    command_class = ToolCommand
    make_context = _one_line_errors(click.Group.make_context)
    invoke = _one_line_errors(click.Group.invoke)


def describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def parse_address(value: str) -> tuple[str, int]:
    """HOST:PORT (or [IPv6]:PORT) as kcat and Kafka's tools take it."""
    match = _ADDRESS.fullmatch(value.strip())
    if not match or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return match["ipv6"] or match["host"], int(match["port"])


class AddressType(click.ParamType):
    name = "HOST:PORT"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_address(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@dataclass(frozen=True)
class Bootstrap:
    """Where a tool starts, and how it authenticates to every broker."""

    host: str
    port: int
    sasl: Credentials | None = None


def bootstrap_option(command):
    """`-b/--bootstrap-server`, as kcat and Kafka's own tools spell it, and
    the SASL settings, which the command receives together as `bootstrap`."""
    @functools.wraps(command)
    def with_bootstrap(*args, bootstrap, sasl_mechanism, sasl_username, sasl_password, **kwargs):
        sasl = None
        if sasl_mechanism is not None:
            if sasl_username is None or sasl_password is None:
                raise click.UsageError("--sasl-mechanism needs --sasl-username and --sasl-password")
            sasl = Credentials(sasl_mechanism, sasl_username, sasl_password)
        host, port = bootstrap
        return command(*args, bootstrap=Bootstrap(host, port, sasl), **kwargs)

    options = [
        click.option("-b", "--bootstrap-server", "bootstrap", type=AddressType(), default=DEFAULT_BOOTSTRAP,
                     show_default=True, envvar="KGW_BOOTSTRAP", show_envvar=True,
                     help="A broker to start from; the others are found through it."),
        click.option("--sasl-mechanism", type=click.Choice(MECHANISMS), envvar="KGW_SASL_MECHANISM",
                     show_envvar=True, help="Authenticate with SASL (security.protocol SASL_PLAINTEXT)."),
        click.option("--sasl-username", envvar="KGW_SASL_USERNAME", show_envvar=True),
        click.option("--sasl-password", envvar="KGW_SASL_PASSWORD", show_envvar=True,
                     help="Better given through the environment than on the command line."),
    ]
    for option in reversed(options):
        with_bootstrap = option(with_bootstrap)
    return with_bootstrap


def key_value(ctx, param, values) -> list[tuple[str, str]]:
    """Repeated `k=v` options, split at the first '='."""
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", ctx, param)
        pairs.append((key, value))
    return pairs


def progress(length: int | None, label: str, *, stdout_busy: bool = True):
    """A progress bar on stderr towards `length` (None: no known end, no bar),
    shown only when a person is watching it.

    Hidden when stderr is not a terminal, and, for a command whose output is
    `stdout_busy` (a stream of records), when stdout is one too: records on
    the same screen are progress enough and would tear the bar.
    """
    shown = (length is not None and _is_tty(sys.stderr)
             and not (stdout_busy and _is_tty(sys.stdout)))
    return click.progressbar(length=max(length or 0, 1), label=label, file=sys.stderr,
                             hidden=not shown, show_pos=True, show_percent=True)


def _is_tty(stream) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def table(headers: list[str], rows: list[list]) -> str:
    """Left-aligned columns two spaces apart, as Kafka's tools print them."""
    cells = [headers] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)
