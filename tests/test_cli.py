"""`kgw serve` as a process: environment variables, readiness, signals."""

import contextlib
import errno
import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compat.harness import READY
from kgw.cli import main
from kgw.startup_errors import data_dir_error
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


def test_a_second_sigterm_during_the_graceful_stop_does_not_cut_it_short(tmp_path):
    # As `make serve` stopped by SIGTERM sends it twice: to its process
    # group and, from make, to kgw again.
    proc = _serve({"KGW_PORT": "0", "KGW_DATA_DIR": str(tmp_path / "d")})
    try:
        _ready_line(proc)
        proc.send_signal(signal.SIGTERM)
        for line in proc.stderr:
            if "shutting down" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert (tmp_path / "d" / ".kgw-clean-shutdown").is_file()


def test_bad_flush_setting_is_one_error_line():
    result = CliRunner().invoke(main, ["serve", "--flush", "sometimes"], prog_name="kgw")
    assert (result.exit_code, result.output) == (
        2, "Error: Invalid value for '--flush' (env var: 'KGW_FLUSH'): use acks, always, never or "
           "interval:<ms> (see 'kgw serve --help')\n")


@pytest.mark.parametrize("args, message", [
    (["tpoics"], "No such command 'tpoics'. Did you mean 'topics'? (see 'kgw --help')"),
    (["topics", "lst"], "No such command 'lst'. Did you mean 'list'? (see 'kgw topics --help')"),
    (["serve", "--flsh", "never"], "No such option '--flsh'. Did you mean '--flush'? (see 'kgw serve --help')"),
    (["--log-level", "loud", "serve"],
     "Invalid value for '--log-level' (env var: 'KGW_LOG_LEVEL'): 'loud' is not one of 'debug', "
     "'info', 'warning', 'error'. (see 'kgw --help')"),
])
def test_usage_mistakes_are_one_line_with_click_suggestion(args, message):
    result = CliRunner().invoke(main, args, prog_name="kgw")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_version():
    result = CliRunner().invoke(main, ["--version"], prog_name="kgw")
    assert (result.exit_code, result.stdout) == (0, f"kgw {importlib.metadata.version('kgw')}\n")


@pytest.mark.parametrize("args", [[], ["serve"], ["health"], ["topics"], ["topics", "create"],
                                  ["produce"], ["consume"], ["groups", "reset-offsets"], ["log", "dump"],
                                  ["transactions", "list"]], ids=" ".join)
def test_dash_h_is_help_everywhere(args):
    short = CliRunner().invoke(main, [*args, "-h"], prog_name="kgw")
    long = CliRunner().invoke(main, [*args, "--help"], prog_name="kgw")
    assert short.exit_code == 0 and short.stdout.startswith(f"Usage: {' '.join(['kgw', *args])} ")
    assert short.stdout == long.stdout


def test_the_commands_load_only_what_they_use():
    """Importing the command line loads neither the broker nor the tools, and
    a tool does not load the broker."""
    script = textwrap.dedent("""
        import sys
        import kgw.cli
        after_import = set(sys.modules)
        from click.testing import CliRunner
        CliRunner().invoke(kgw.cli.main, ["topics", "list", "-b", "127.0.0.1:1"])
        after_tool = set(sys.modules)
        print(" ".join(sorted(after_import)))
        print(" ".join(sorted(after_tool)))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    after_import, after_tool = (set(line.split()) for line in run.stdout.splitlines())
    heavy = {"trio", "kgw.server", "kgw.broker", "kgw.tools.client", "kgw.healthcheck",
             "protocol.messages", "crc32c", "cramjam"}
    assert not heavy & after_import
    assert "kgw.tools.topics" in after_tool
    assert not {"trio", "kgw.server", "kgw.broker", "kgw.tools.consume"} & after_tool


def test_serve_imports_no_tool_and_no_codec_library(tmp_path):
    """What `kgw serve` imports before it answers, as `python -X importtime`
    lists it: not the tools, not crc32c (whose import loads importlib.metadata
    and argparse) and not cramjam, which a start needs none of."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "kgw", "serve", "--port", "0",
                             "--data-dir", str(tmp_path / "d")], stderr=subprocess.PIPE, text=True)
    try:
        imported = set()
        for line in proc.stderr:
            if line.startswith("import time:"):
                imported.add(line.rsplit("|", 1)[1].strip())
            elif READY.search(line):
                break
        assert _api_versions(_address_in(line)).error_code == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert {"kgw.server", "kgw.handlers.metadata", "trio"} <= imported
    assert not {m for m in imported if m.startswith("kgw.tools") or m.split(".")[0] in (
        "crc32c", "cramjam", "prometheus_client") or m in ("kgw.healthcheck", "importlib.metadata")}


def _address_in(line: str):
    match = READY.search(line)
    return match.group(1), int(match.group(2))


def test_a_port_in_use_names_the_port_and_its_option(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", port, "--data-dir", tmp_path])
        metrics = CliRunner().invoke(main, ["serve", "--port", 0, "--metrics-port", port,
                                            "--data-dir", tmp_path])
    assert (result.exit_code, result.stderr) == (
        1, f"Error: cannot listen on 127.0.0.1:{port}: the port is in use (--port, KGW_PORT)\n")
    assert (metrics.exit_code, metrics.stderr) == (
        1, f"Error: cannot serve metrics on 127.0.0.1:{port}: the port is in use "
           "(--metrics-port, KGW_METRICS_PORT)\n")


def test_an_address_not_of_this_machine_names_the_host_option(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
    result = CliRunner().invoke(main, ["serve", "--host", "192.0.2.1", "--port", 0, "--data-dir", tmp_path])
    assert (result.exit_code, result.stderr) == (
        1, "Error: cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine "
           "(--host, KGW_HOST)\n")


def test_a_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    for data_dir, what in ((tmp_path / "file", "is a file"),
                           (tmp_path / "file" / "d", f"is under {tmp_path / 'file'}, which is a file")):
        result = CliRunner().invoke(main, ["serve", "--port", 0], env={"KGW_DATA_DIR": str(data_dir)})
        assert (result.exit_code, result.output) == (
            1, f"Error: data dir {data_dir} {what}, not a directory (--data-dir, KGW_DATA_DIR)\n")


def test_an_unwritable_data_dir_is_said_without_errno():
    # As root (where tests may run) permissions cannot be made to fail, so
    # the message is checked from the error the broker would get.
    error = data_dir_error(PermissionError(errno.EACCES, "Permission denied", "/srv/kgw/topics"),
                           Path("/srv/kgw"))
    assert (str(error), error.setting) == (
        "cannot open data dir /srv/kgw: permission denied (/srv/kgw/topics)", "data_dir")


def test_a_second_broker_on_a_data_dir_names_the_pid_holding_it(tmp_path):
    proc = _serve({"KGW_PORT": "0", "KGW_DATA_DIR": str(tmp_path)})
    try:
        _ready_line(proc)
        second = CliRunner().invoke(main, ["serve", "--port", 0, "--data-dir", tmp_path])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert (second.exit_code, second.output) == (
        1, f"Error: data dir {tmp_path} is in use by another kgw (PID {proc.pid}) "
           "(--data-dir, KGW_DATA_DIR)\n")


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
    result = CliRunner().invoke(main, ["serve", "--sasl-user", value])
    assert result.exit_code == 2 and "use NAME:PASSWORD" in result.output
    assert "pw" not in result.output.split("Error")[-1]


def test_a_stop_that_could_not_flush_everything_exits_3(monkeypatch, tmp_path):
    import kgw.server

    async def stopped_but_not_flushed(config):
        return False
    monkeypatch.setattr(kgw.server, "serve_until_signalled", stopped_but_not_flushed)
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 3


def test_make_serve_honours_the_kgw_variables(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(["make", "-s", "-C", str(repo), "serve"], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KGW_PORT": "0", "KGW_DATA_DIR": str(tmp_path / "d"),
                                 "KGW_NUM_PARTITIONS": "3"},
                            start_new_session=True)
    try:
        host, port = _ready_address(proc)
        assert port != 9092
        assert _api_versions((host, port)).error_code == 0
        # make and kgw both get it, as from Ctrl-C at a terminal; make may
        # be gone before kgw has finished its graceful stop.
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        marker = tmp_path / "d" / ".kgw-clean-shutdown"
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.is_file()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_serve_gives_the_callers_signal_handlers_back(tmp_path):
    # Ignored signals are inherited: a process that served and then starts
    # a child must not hand it SIGINT or SIGTERM ignored.
    import trio

    from kgw.config import BrokerConfig
    from kgw.server import serve_until_signalled

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    async def serve_then_stop():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_until_signalled, BrokerConfig(port=0, data_dir=tmp_path / "d"))
            # The receiver is in place before serve's first checkpoint.
            await trio.sleep(0.2)
            os.kill(os.getpid(), signal.SIGTERM)

    trio.run(serve_then_stop)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert (tmp_path / "d" / ".kgw-clean-shutdown").is_file()
