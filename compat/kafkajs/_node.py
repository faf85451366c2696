"""Running compat/kafkajs/scenarios.js with node: one-shot scenarios that
print one JSON document, and long-running ones (group members, producers)
that print JSON lines and take commands on stdin."""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest


from ..harness import require_program

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "scenarios.js"
TIMEOUT_S = 60
ENV = {**os.environ, "KAFKAJS_NO_PARTITIONER_WARNING": "1"}


def require_kafkajs() -> str:
    """node and the npm-installed kafkajs (a failure in CI, a skip elsewhere)."""
    node = require_program("node")
    if not (HERE / "node_modules" / "kafkajs" / "package.json").exists():
        message = "compat/kafkajs/node_modules is missing: run `npm ci` in compat/kafkajs"
        if os.environ.get("KGW_REQUIRE_CLIENTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return node


def run(scenario: str, bootstrap: str, topic: str, *, check: bool = True, timeout: float = TIMEOUT_S,
        **options) -> dict:
    """Run one scenario to completion and return its JSON result."""
    cmd = ["node", str(SCRIPT), scenario, bootstrap, topic, json.dumps(options)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, cwd=HERE)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    if check:
        assert proc.returncode == 0 and "error" not in result, (
            f"{scenario} exited {proc.returncode}: {proc.stdout}\n{proc.stderr[-4000:]}")
    return result


class NodeProcess:
    """A long-running scenario: its stdout JSON lines are collected by a
    thread; `wait_for` blocks until a predicate over them holds."""

    def __init__(self, scenario: str, bootstrap: str, topic: str, **options):
        self.name = options.get("clientId", scenario)
        self.proc = subprocess.Popen(
            ["node", str(SCRIPT), scenario, bootstrap, topic, json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=ENV, cwd=HERE)
        self.lines: list[dict] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self):
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                item = {"unparsed": line}
            with self._cond:
                self.lines.append(item)
                self._cond.notify_all()
        with self._cond:
            self.lines.append({"event": "eof"})
            self._cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def snapshot(self) -> list[dict]:
        with self._cond:
            return list(self.lines)

    def wait_for(self, predicate, timeout: float = 30, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.lines)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: timed out waiting for {what}; last lines "
                                         f"{self.lines[-5:]}\nstderr:\n{''.join(self.stderr[-30:])}")
                self._cond.wait(min(remaining, 0.5))

    def send(self, command: str):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def kill(self):
        """SIGKILL: the process dies without leaving its group."""
        self.proc.kill()
        self.proc.wait()

    def close(self, timeout: float = 15):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(5)


def standard_messages(prefix: str, count: int, partition: int = 0, first_offset: int = 0) -> list[dict]:
    """What scenarios.js's standardMessages() sends, as the consumer prints
    it (without the timestamp)."""
    messages = []
    for i in range(count):
        headers = {"h": f"v{i}", "multi": ["a", "b"], "bin": "hex:00ff01", "empty": ""} if i % 2 == 0 else {}
        messages.append({
            "partition": partition,
            "offset": first_offset + i,
            "key": None if i % 3 == 0 else f"k{i}",
            "value": None if i % 5 == 3 else f"{prefix}-{i}-" + "abcd" * (50 if i % 4 == 0 else 1),
            "headers": headers,
        })
    return messages


def without_timestamps(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "timestamp"} for m in messages]


def now_ms() -> int:
    return int(time.time() * 1000)
