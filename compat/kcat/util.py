"""Driving kcat (Debian's 1.7.1 on librdkafka 2.0.2) as a subprocess, and a
few direct protocol calls (kgw's own client) for what kcat cannot do."""

import json
import subprocess

from ..harness import Wire

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


def advertised(bootstrap: str) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 as kgw answers it: {api_key: (min, max)}."""
    with Wire(bootstrap) as wire:
        body = wire.call(18, 0)
    assert body.error_code == 0
    return {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}
