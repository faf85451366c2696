"""`kgw health`: does a broker answer ApiVersions? For container HEALTHCHECKs.

It asks what a client asks first, over a plain socket, so it works against
any Kafka-compatible broker and needs nothing of the broker's own.
"""

import socket

import click

from protocol.connection import CLOSED, NEED_DATA, ClientConnection
from protocol.errors import ProtocolError
from protocol.messages import API_VERSIONS

# Every broker answers v0, from Kafka 0.10 to 4.x (which still serves it).
API_VERSIONS_VERSION = 0


class Unhealthy(Exception):
    pass


def api_versions(host: str, port: int, timeout: float) -> int:
    """The number of APIs the broker at host:port says it serves.

    Raises Unhealthy when it cannot be reached, does not answer in time, or
    answers with an error.
    """
    client = ClientConnection("kgw-health")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(client.send_request(API_VERSIONS.key, API_VERSIONS_VERSION,
                                             API_VERSIONS.Request())[1])
            while (response := client.next_response()) is NEED_DATA:
                client.receive_data(sock.recv(65536))
    except (OSError, ProtocolError) as exc:
        raise Unhealthy(str(exc) or type(exc).__name__) from None
    if response is CLOSED:
        raise Unhealthy("the broker closed the connection without answering")
    if response.body.error_code:
        raise Unhealthy(f"ApiVersions answered error code {response.body.error_code}")
    return len(response.body.api_keys)


def _address(ctx, param, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


@click.command()
@click.option("-b", "--bootstrap-server", "address", default="127.0.0.1:9092", show_default=True,
              callback=_address, envvar="KGW_BOOTSTRAP", show_envvar=True,
              help="The broker to ask, as HOST:PORT.")
@click.option("--timeout", default=3.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for the connection and for the answer.")
def health(address, timeout):
    """Exit 0 if a broker answers ApiVersions, else 1."""
    host, port = address
    try:
        count = api_versions(host, port, timeout)
    except Unhealthy as exc:
        raise click.ClickException(f"{host}:{port} is not healthy: {exc}") from None
    click.echo(f"{host}:{port} is healthy: it serves {count} APIs")
