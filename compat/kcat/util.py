"""Driving kcat (Debian's 1.7.1 on librdkafka 2.0.2) as a subprocess, and a
few direct protocol calls (kgw's own client) for what kcat cannot do."""

import glob
import json
import os
import socket
import subprocess

from protocol.connection import NEED_DATA, ClientConnection
from protocol.messages import APIS
from protocol.records import iter_batches

TIMEOUT_S = 20
# Short client timeouts.
COMMON = ["-m", "5", "-X", "socket.timeout.ms=5000"]
# For -C: bounds how long `-e` waits for the empty fetch that tells it it
# is at the end (the default long-poll is 500 ms).
CONSUMER = ["-X", "fetch.wait.max.ms=100"]


def kcat(bootstrap: str, *args: str, input: bytes | None = None, check: bool = True,
         timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run kcat once; stdout and stderr as bytes."""
    cmd = ["kcat", "-b", bootstrap, *COMMON, *(CONSUMER if "-C" in args else []), *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{cmd} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}"
    return proc


def produce(bootstrap: str, topic: str, lines: list[bytes], *args: str) -> None:
    """Produce newline-delimited messages from stdin (kcat waits for every
    delivery report before it exits, and exits non-zero on failure)."""
    proc = kcat(bootstrap, "-P", "-t", topic, *args, input=b"".join(line + b"\n" for line in lines))
    assert b"ERROR" not in proc.stderr and b"Failed" not in proc.stderr, proc.stderr


def consume_json(bootstrap: str, topic: str, *args: str) -> list[dict]:
    """`-C -e -J`: every message as kcat's JSON envelope."""
    proc = kcat(bootstrap, "-C", "-t", topic, "-e", "-J", "-q", *args)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def essentials(messages: list[dict]) -> list[tuple]:
    """(partition, offset, key, payload, headers) of each JSON message."""
    return [(m["partition"], m["offset"], m["key"], m["payload"], m.get("headers")) for m in messages]


def stored_batches(data_dir, topic: str, partition: int = 0) -> list:
    """The RecordBatches in the partition's segment files as kgw stored them
    (kgw writes with pwritev, so the files are current while it runs)."""
    batches = []
    for path in sorted(glob.glob(os.path.join(str(data_dir), f"{topic}-{partition}", "*.log"))):
        with open(path, "rb") as f:
            batches.extend(iter_batches(f.read()))
    return batches


class Wire:
    """A blocking connection speaking kgw's protocol/ client codec."""

    def __init__(self, bootstrap: str):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT_S)
        self.conn = ClientConnection("compat-kcat")

    def call(self, api_key: int, version: int, **fields):
        api = APIS[api_key]
        _, data = self.conn.send_request(api_key, version, api.Request(**fields))
        self.sock.sendall(data)
        while True:
            response = self.conn.next_response()
            if response is not NEED_DATA:
                return response.body
            chunk = self.sock.recv(1 << 20)
            assert chunk, "kgw closed the connection"
            self.conn.receive_data(chunk)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """CreateTopics v4 (kcat has no admin mode)."""
    api = APIS[19]
    with Wire(bootstrap) as wire:
        topic = api.Request.CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)
        body = wire.call(19, 4, topics=[topic], timeout_ms=5000)
    assert [(t.name, t.error_code) for t in body.topics] == [(name, 0)]


def advertised(bootstrap: str) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 as kgw answers it: {api_key: (min, max)}."""
    with Wire(bootstrap) as wire:
        body = wire.call(18, 0)
    assert body.error_code == 0
    return {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}
