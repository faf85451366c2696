"""`kgw serve` as a process: environment variables, readiness, signals."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from compat.harness import READY
from kgw.cli import main
from protocol.connection import CLOSED, NEED_DATA, ClientConnection
from protocol.messages import API_VERSIONS


# Kafka refuses ApiVersions v3+ without a client software name and version (KIP-511).
NAMED_API_VERSIONS = API_VERSIONS.Request(client_software_name="kgw-tests", client_software_version="1")


def _serve(env):
    return subprocess.Popen([sys.executable, "-m", "kgw", "serve"], env={**os.environ, **env},
                            stderr=subprocess.PIPE, text=True)


def _ready_line(proc) -> str:
    for line in proc.stderr:
        if READY.search(line):
            return line
    raise AssertionError("kgw never said it was ready")


def _ready_address(proc):
    match = READY.search(_ready_line(proc))
    return match.group(1), int(match.group(2))


def _api_versions(address):
    client = ClientConnection()
    with socket.create_connection(address, timeout=10) as sock:
        _, data = client.send_request(API_VERSIONS.key, 3, NAMED_API_VERSIONS)
        sock.sendall(data)
        while True:
            response = client.next_response()
            assert response is not CLOSED
            if response is not NEED_DATA:
                return response.body
            client.receive_data(sock.recv(65536))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_reads_kgw_variables_and_stops_cleanly_on_signals(tmp_path, signum):
    proc = _serve({"KGW_PORT": "0", "KGW_DATA_DIR": str(tmp_path / "d"), "KGW_NUM_PARTITIONS": "3"})
    try:
        host, port = _ready_address(proc)
        assert host == "127.0.0.1" and port != 9092
        assert _api_versions((host, port)).error_code == 0
        proc.send_signal(signum)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert (tmp_path / "d").is_dir()
    assert any(name.startswith(".kgw-clean") for name in os.listdir(tmp_path / "d"))


def test_bad_flush_setting_is_refused():
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["serve", "--flush", "sometimes"])
    assert result.exit_code == 2 and "acks, always, never or interval:<ms>" in result.output


def test_a_port_in_use_is_one_line_not_a_traceback(tmp_path):
    from click.testing import CliRunner

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot serve:" in result.output and "Traceback" not in result.output


def test_sasl_users_come_from_options_or_kgw_sasl_users(tmp_path):
    proc = _serve({"KGW_PORT": "0", "KGW_DATA_DIR": str(tmp_path / "d"),
                   "KGW_SASL_USERS": "alice:s3cret bob:p:w"})
    try:
        assert "SASL required (2 user(s))" in _ready_line(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize("value", ["alice", "alice:", ":pw"])
def test_a_sasl_user_without_a_password_is_refused(value):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["serve", "--sasl-user", value])
    assert result.exit_code == 2 and "use NAME:PASSWORD" in result.output
    assert "pw" not in result.output.split("Error")[-1]


def test_a_stop_that_could_not_flush_everything_exits_3(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import kgw.server

    async def stopped_but_not_flushed(config):
        return False
    monkeypatch.setattr(kgw.server, "serve_until_signalled", stopped_but_not_flushed)
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 3
