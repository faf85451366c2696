"""`kgw health` against peers that are not healthy brokers (a healthy one:
tests/test_dockerfile.py)."""

import socket
import threading

from click.testing import CliRunner

from kgw.cli import main


def _peer(behaviour):
    """A listening socket whose one accepted connection gets `behaviour`."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = listener.accept()
        behaviour(conn)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def _health(*args, env=None):
    return CliRunner(env=env).invoke(main, ["health", *args], prog_name="kgw")


def test_a_peer_that_hangs_up_is_unhealthy():
    # Reading the request first: closing with it unread would send a reset.
    port = _peer(lambda conn: (conn.recv(1024), conn.close()))
    result = _health("-b", f"127.0.0.1:{port}")
    assert (result.exit_code, result.output) == (
        1, f"Error: 127.0.0.1:{port} is not healthy: the broker closed the connection without answering\n")


def test_a_peer_that_never_answers_is_unhealthy_after_the_timeout():
    done = threading.Event()
    port = _peer(lambda conn: (done.wait(), conn.close()))
    result = _health("-b", f"127.0.0.1:{port}", "--timeout", "0.2")
    done.set()
    assert (result.exit_code, result.output) == (1, f"Error: 127.0.0.1:{port} is not healthy: timed out\n")


def test_a_malformed_address_is_a_usage_error():
    result = _health("-b", "localhost")
    assert (result.exit_code, result.output) == (
        2, "Error: Invalid value for '-b' / '--bootstrap-server' (env var: 'KGW_BOOTSTRAP'): "
           "'localhost' is not HOST:PORT (see 'kgw health --help')\n")


def test_nothing_listening_is_said_without_errno_and_with_where_the_address_came_from():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for env, origin in (({"KGW_PORT": str(port)}, " (from KGW_PORT)"),
                        ({"KGW_BOOTSTRAP": f"127.0.0.1:{port}"}, " (from KGW_BOOTSTRAP)")):
        result = _health(env=env)
        assert (result.exit_code, result.output) == (
            1, f"Error: 127.0.0.1:{port}{origin} is not healthy: Connection refused\n")
