"""What every `kgw` tool command shares: the broker option, where it points
by default, progress on a terminal.  Their errors are one line
(kgw.cli_errors)."""

import functools
import os
import re
import sys
from dataclasses import dataclass

import click

from ..sasl import MECHANISMS
from .sasl import Credentials

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9092
_ADDRESS = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s]+)):(?P<port>\d{1,5})")
# Listening hosts that are no address to connect to.
_WILDCARDS = ("0.0.0.0", "::")


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


def default_bootstrap(environ=os.environ) -> tuple[str, int, str]:
    """(host, port, where they came from) for a tool given neither -b nor
    KGW_BOOTSTRAP: the broker `kgw serve` starts with the same environment,
    so that `KGW_PORT=19092 kgw serve` and `kgw topics list` find each
    other.  Its listening host and port where a client can use them (not
    0.0.0.0, not port 0), else what it advertises, else 127.0.0.1:9092."""
    used: list[str] = []

    def first_usable(names: tuple[str, str], unusable: tuple[str, ...]) -> str | None:
        for name in names:
            value = environ.get(name, "").strip()
            if value:
                used.append(name)
                if value not in unusable:
                    return value
        return None

    host = first_usable(("KGW_HOST", "KGW_ADVERTISED_HOST"), _WILDCARDS) or DEFAULT_HOST
    port_text = first_usable(("KGW_PORT", "KGW_ADVERTISED_PORT"), ("0",))
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise click.UsageError(f"{used[-1]}={port_text!r} is not a port number")
    port = DEFAULT_PORT if port_text is None else int(port_text)
    origin = "from " + " and ".join(used) if used else "the default address; choose another with -b or KGW_BOOTSTRAP"
    return host, port, origin


def _default_address() -> str:
    host, port, _ = default_bootstrap()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_origin() -> str | None:
    """How the bootstrap address of the running command was chosen, for its
    connection errors; None when it was given on the command line."""
    ctx = click.get_current_context()
    source = ctx.get_parameter_source("bootstrap")
    if source is click.core.ParameterSource.ENVIRONMENT:
        return "from KGW_BOOTSTRAP"
    if source in (click.core.ParameterSource.DEFAULT, None):
        return default_bootstrap()[2]
    return None


@dataclass(frozen=True)
class Bootstrap:
    """Where a tool starts, how that address was chosen (None: it was given
    with -b), and how it authenticates to every broker."""

    host: str
    port: int
    sasl: Credentials | None = None
    origin: str | None = None


def address_option(help: str):
    """`-b/--bootstrap-server HOST:PORT`, as kcat and Kafka's own tools spell
    it, defaulting to KGW_BOOTSTRAP, then to what `kgw serve` would listen on
    (`default_bootstrap`); the command receives it as `bootstrap`."""
    return click.option("-b", "--bootstrap-server", "bootstrap", type=AddressType(),
                        default=_default_address,
                        show_default=f"KGW_HOST:KGW_PORT, else {DEFAULT_HOST}:{DEFAULT_PORT}",
                        envvar="KGW_BOOTSTRAP", show_envvar=True, help=help)


def bootstrap_option(command):
    """The broker option and the SASL settings, which the command receives
    together as a `Bootstrap`."""
    @functools.wraps(command)
    def with_bootstrap(*args, bootstrap, sasl_mechanism, sasl_username, sasl_password, **kwargs):
        sasl = None
        if sasl_mechanism is not None:
            if sasl_username is None or sasl_password is None:
                raise click.UsageError("--sasl-mechanism needs --sasl-username and --sasl-password")
            sasl = Credentials(sasl_mechanism, sasl_username, sasl_password)
        host, port = bootstrap
        return command(*args, bootstrap=Bootstrap(host, port, sasl, address_origin()), **kwargs)

    options = [
        address_option("A broker to start from; the others are found through it."),
        click.option("--sasl-mechanism", type=click.Choice(MECHANISMS), envvar="KGW_SASL_MECHANISM",
                     show_envvar=True, help="Authenticate with SASL (security.protocol SASL_PLAINTEXT)."),
        click.option("--sasl-username", envvar="KGW_SASL_USERNAME", show_envvar=True),
        click.option("--sasl-password", envvar="KGW_SASL_PASSWORD", show_envvar=True,
                     help="Better given through the environment than on the command line."),
    ]
    for option in reversed(options):
        with_bootstrap = option(with_bootstrap)
    return with_bootstrap


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text, as Kafka's own tools print it, or json.")


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
