"""`kgw health`: does a broker answer ApiVersions? For container HEALTHCHECKs.

It asks what a client asks first, over a plain socket, so it works against
any Kafka-compatible broker and needs nothing of the broker's own.
"""

import socket

import click

from protocol.connection import CLOSED, NEED_DATA, ClientConnection
from protocol.errors import ProtocolError
from protocol.messages import API_VERSIONS

from .tools.client import connection_failure
from .tools.command import address_option, address_origin

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
    except OSError as exc:
        raise Unhealthy(connection_failure(exc)) from None
    except ProtocolError as exc:
        raise Unhealthy(str(exc)) from None
    if response is CLOSED:
        raise Unhealthy("the broker closed the connection without answering")
    if response.body.error_code:
        raise Unhealthy(f"ApiVersions answered error code {response.body.error_code}")
    return len(response.body.api_keys)


@click.command()
@address_option("The broker to ask.")
@click.option("--timeout", default=3.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for the connection and for the answer.")
def health(bootstrap, timeout):
    """Exit 0 if a broker answers ApiVersions, else 1."""
    host, port = bootstrap
    try:
        count = api_versions(host, port, timeout)
    except Unhealthy as exc:
        origin = address_origin()
        where = f"{host}:{port}" + (f" ({origin})" if origin else "")
        raise click.ClickException(f"{where} is not healthy: {exc}") from None
    click.echo(f"{host}:{port} is healthy: it serves {count} APIs")
