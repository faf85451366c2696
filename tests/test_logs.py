"""Log output: `--log-format json` lines, and what kgw serve logs at debug."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys

from kgw.observability.logs import JsonFormatter
from protocol.connection import NEED_DATA, ClientConnection
from protocol.messages import API_VERSIONS, METADATA


# Kafka refuses ApiVersions v3+ without a client software name and version (KIP-511).
NAMED_API_VERSIONS = API_VERSIONS.Request(client_software_name="kgw-tests", client_software_version="1")


def _json_lines(proc, until):
    """Parse stderr lines (each must be one JSON object) up to the first matching `until`."""
    lines = []
    for raw in proc.stderr:
        entry = json.loads(raw)
        assert {"time", "level", "name", "message"} <= entry.keys(), raw
        lines.append(entry)
        if until(entry):
            return lines
    raise AssertionError(f"stderr ended before the expected line; got {lines}")


def _call(sock, client, api, version, body):
    sock.sendall(client.send_request(api.key, version, body)[1])
    while (response := client.next_response()) is NEED_DATA:
        client.receive_data(sock.recv(65536))
    return response.body


def test_json_lines_carry_connection_events_errors_and_summaries(tmp_path):
    env = {**os.environ, "KGW_LOG_FORMAT": "json", "KGW_LOG_LEVEL": "debug", "KGW_PORT": "0",
           "KGW_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "kgw", "serve"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = _json_lines(proc, lambda e: e["message"].startswith("kgw ready on"))
        ready = lines[-1]
        assert ready["level"] == "info" and ready["name"] == "kgw.server"
        port = int(ready["message"].split()[3].split(":")[1])
        assert ready["message"] == (f"kgw ready on 127.0.0.1:{port} (advertised as 127.0.0.1:{port}): "
                                    "0 topic(s), 0 consumer group(s), flush acks")

        client = ClientConnection("json-test")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            assert _call(sock, client, API_VERSIONS, 3, NAMED_API_VERSIONS).error_code == 0
            Topic = METADATA.Request.MetadataRequestTopic
            _call(sock, client, METADATA, 12, METADATA.Request(
                topics=[Topic(name="missing")], allow_auto_topic_creation=False))
            peer = "127.0.0.1:%d" % sock.getsockname()[1]
        lines = _json_lines(proc, lambda e: "closed" in e["message"])
        opened, error, closed = lines[-3:]
        assert opened == {**opened, "level": "debug", "name": "kgw.server", "peer": peer,
                          "message": f"connection from {peer} opened"}
        assert error == {**error, "level": "debug", "peer": peer, "client_id": "json-test",
                         "api": "Metadata", "api_version": 12,
                         "message": f"Metadata v12 from {peer} (client 'json-test') answered with "
                                    "UNKNOWN_TOPIC_OR_PARTITION"}
        assert closed["message"] == f"connection from {peer} (client 'json-test') closed by the client"

        proc.send_signal(signal.SIGTERM)
        lines = _json_lines(proc, lambda e: e["message"].startswith("kgw stopped"))
        assert "1 connection(s), 2 request(s) answered" in lines[-1]["message"]
        assert proc.wait(20) == 0
        assert proc.stderr.read() == ""
    finally:
        proc.kill()
        proc.stderr.close()


def test_json_formatter_keeps_the_traceback_in_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("kgw.x", logging.ERROR, __file__, 1, "failed %s", ("here",),
                                   sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["name"], entry["message"]) == ("error", "kgw.x", "failed here")
    assert entry["exception"].splitlines()[-1] == "ValueError: boom"
    assert "peer" not in entry
