"""Every failure is one line on stderr and a non-zero exit, never a traceback."""

import socket
import struct
import threading

import pytest
from click.testing import CliRunner

from kgw.cli import main
from kgw.tools.client import Connection
from kgw.cli_errors import ToolError
from kgw.tools.command import default_bootstrap, parse_address
from protocol.connection import NEED_DATA, ServerConnection
from protocol.error_codes import ErrorCode
from protocol.messages import API_VERSIONS, FETCH, METADATA, PRODUCE, RESPONSE_CODECS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NETWORK_COMMANDS = [
    ["topics", "list"], ["topics", "create", "t"], ["topics", "describe"], ["topics", "delete", "t"],
    ["produce", "t"], ["consume", "t"], ["groups", "list"], ["groups", "describe", "g"],
    ["groups", "delete", "g"], ["groups", "reset-offsets", "g", "--all-topics", "--to-earliest"],
]


@pytest.mark.parametrize("args", NETWORK_COMMANDS, ids=" ".join)
def test_unreachable_broker(args):
    port = _free_port()
    result = CliRunner().invoke(main, [*args, "-b", f"127.0.0.1:{port}"], input="a\n")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", f"Error: cannot connect to 127.0.0.1:{port}: Connection refused\n")


def test_bootstrap_from_the_environment():
    port = _free_port()
    result = CliRunner(env={"KGW_BOOTSTRAP": f"localhost:{port}", "KGW_PORT": "1"}).invoke(
        main, ["topics", "list"])
    assert result.stderr == f"Error: cannot connect to localhost:{port} (from KGW_BOOTSTRAP): Connection refused\n"


UNSET = {name: None for name in ("KGW_BOOTSTRAP", "KGW_HOST", "KGW_PORT", "KGW_ADVERTISED_HOST",
                                 "KGW_ADVERTISED_PORT")}


@pytest.mark.parametrize("env, expected", [
    ({}, ("127.0.0.1", 9092, "the default address; choose another with -b or KGW_BOOTSTRAP")),
    ({"KGW_PORT": "19092"}, ("127.0.0.1", 19092, "from KGW_PORT")),
    ({"KGW_HOST": "localhost", "KGW_PORT": "19092"}, ("localhost", 19092, "from KGW_HOST and KGW_PORT")),
    ({"KGW_HOST": "0.0.0.0", "KGW_PORT": "9092", "KGW_ADVERTISED_PORT": "19092"},
     ("127.0.0.1", 9092, "from KGW_HOST and KGW_PORT")),
    ({"KGW_HOST": "::", "KGW_ADVERTISED_HOST": "kgw", "KGW_PORT": "0", "KGW_ADVERTISED_PORT": "19092"},
     ("kgw", 19092, "from KGW_HOST and KGW_ADVERTISED_HOST and KGW_PORT and KGW_ADVERTISED_PORT")),
    ({"KGW_ADVERTISED_PORT": "19092"}, ("127.0.0.1", 19092, "from KGW_ADVERTISED_PORT")),
], ids=["nothing", "port", "host and port", "wildcard host", "advertised", "advertised port"])
def test_default_bootstrap_is_where_kgw_serve_listens(env, expected):
    assert default_bootstrap(env) == expected


def test_after_kgw_port_kgw_serve_the_tools_and_health_try_that_port():
    port = _free_port()
    env = {**UNSET, "KGW_PORT": str(port)}
    listed = CliRunner(env=env).invoke(main, ["topics", "list"])
    health = CliRunner(env=env).invoke(main, ["health"])
    assert (listed.exit_code, listed.stderr) == (
        1, f"Error: cannot connect to 127.0.0.1:{port} (from KGW_PORT): Connection refused\n")
    assert (health.exit_code, health.stderr) == (
        1, f"Error: 127.0.0.1:{port} (from KGW_PORT) is not healthy: Connection refused\n")


def test_a_kgw_port_that_is_no_port():
    result = CliRunner(env={**UNSET, "KGW_PORT": "ninety"}).invoke(main, ["topics", "list"], prog_name="kgw")
    assert (result.exit_code, result.stderr) == (
        2, "Error: KGW_PORT='ninety' is not a port number (see 'kgw topics list --help')\n")


def test_a_broker_that_closes_without_answering():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def hang_up():
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    result = CliRunner().invoke(main, ["topics", "list", "-b", f"127.0.0.1:{port}"])
    listener.close()
    assert (result.exit_code, result.stderr) == (
        1, f"Error: the broker at 127.0.0.1:{port} closed the connection instead of answering "
           "ApiVersions v4\n")


@pytest.mark.parametrize("args, message", [
    (["topics", "list", "-b", "nohost"],
     "Invalid value for '-b' / '--bootstrap-server' (env var: 'KGW_BOOTSTRAP'): 'nohost' is not "
     "HOST:PORT (see 'kgw topics list --help')"),
    (["topics", "create"], "Missing argument 'NAME'. (see 'kgw topics create --help')"),
    (["topics", "create", "t", "-p", "0"],
     "Invalid value for '-p' / '--partitions': 0 is not in the range x>=1. "
     "(see 'kgw topics create --help')"),
    (["topics", "create", "t", "-c", "novalue"],
     "Invalid value for '-c' / '--config': 'novalue' is not KEY=VALUE "
     "(see 'kgw topics create --help')"),
    (["topics", "frobnicate"], "No such command 'frobnicate'. (see 'kgw topics --help')"),
    (["produce", "t", "--acks", "2"],
     "Invalid value for '--acks': '2' is not one of 'all', '-1', '0', '1'. "
     "(see 'kgw produce --help')"),
    (["produce", "t", "--key-separator", ""],
     "Invalid value for '--key-separator': must not be empty (see 'kgw produce --help')"),
    (["consume", "t", "--count", "x"],
     "Invalid value for '-n' / '--count': 'x' is not a valid integer range. "
     "(see 'kgw consume --help')"),
    (["log", "dump", "/no/such/file"],
     "Invalid value for 'PATH': Path '/no/such/file' does not exist. (see 'kgw log dump --help')"),
])
def test_bad_arguments(args, message):
    result = CliRunner().invoke(main, args, prog_name="kgw")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_parse_address():
    assert parse_address("localhost:9092") == ("localhost", 9092)
    assert parse_address("[::1]:19092") == ("::1", 19092)
    for bad in ("localhost", "host:", ":9092", "host:0", "host:70000", "a b:1"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_version_negotiation_picks_the_highest_common_version():
    conn = Connection.__new__(Connection)
    conn.address = "broker:9092"
    conn.versions = {FETCH.key: (0, 11), PRODUCE.key: (0, 2)}
    assert conn.version(FETCH) == 11
    assert conn.version(PRODUCE) == 2
    with pytest.raises(ToolError) as refused:
        conn.version(PRODUCE, minimum=3)
    assert refused.value.message == ("the broker at broker:9092 supports versions 0-2 of Produce; "
                                     "kgw needs 3-10")
    conn.versions = {}
    with pytest.raises(ToolError) as missing:
        conn.version(FETCH)
    assert missing.value.message == ("the broker at broker:9092 supports no version of Fetch; "
                                     "kgw needs 4-16")


def test_an_older_broker_gets_its_own_apiversions_version():
    """A broker below ApiVersions v4 answers UNSUPPORTED_VERSION with its range
    in a v0 body (KIP-511); the client asks again within that range."""
    listener = socket.create_server(("127.0.0.1", 0))
    asked = []

    def old_broker():
        conn, _ = listener.accept()
        server = ServerConnection()
        for answer in (API_VERSIONS.Response(error_code=ErrorCode.UNSUPPORTED_VERSION, api_keys=[
                           _range(API_VERSIONS, 0, 2)]),
                       API_VERSIONS.Response(error_code=0, api_keys=[
                           _range(API_VERSIONS, 0, 2), _range(METADATA, 0, 8)])):
            request = NEED_DATA
            while request is NEED_DATA:
                server.receive_data(conn.recv(65536))
                request = server.next_request()
            asked.append(request.api_version)
            version = 0 if answer.error_code else request.api_version
            body = RESPONSE_CODECS[API_VERSIONS.key, version].to_bytes(answer)
            conn.sendall(struct.pack(">ii", 4 + len(body), request.correlation_id) + body)
        conn.close()

    threading.Thread(target=old_broker, daemon=True).start()
    conn = Connection(*listener.getsockname()[:2])
    listener.close()
    assert asked == [4, 2]
    assert conn.version(METADATA) == 8
    conn.close()


def _range(api, lo, hi):
    return API_VERSIONS.Response.ApiVersion(api_key=api.key, min_version=lo, max_version=hi)


def test_a_broker_advertising_an_unreachable_address(tmp_path):
    """The bootstrap answers, but the address it advertises for the leader
    does not (a container's port mapped without KGW_ADVERTISED_PORT, say):
    the error says which address that was and where it came from."""
    from .conftest import ThreadedBroker, tool_runner

    dead = _free_port()
    with ThreadedBroker(tmp_path, flush="never", advertised_port=dead) as broker:
        result = tool_runner(broker.bootstrap)("produce", "t", input="a\n")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: cannot connect to 127.0.0.1:{dead} (broker 0, as the cluster's metadata "
           "advertises it): Connection refused\n")
