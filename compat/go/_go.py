"""Building and running compat/go's scenario binary (kgwgo): one-shot
scenarios print one JSON document; long-running ones (group members,
producers) print JSON lines and take commands on stdin.

The module and build caches live under the repository's ignored build/
folder, so that CI and local runs reuse them; `python -m compat.go._go`
builds the binary, as `.ci/run` does before the suite."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[1] / "build" / "go"
BINARY = BUILD / "kgwgo"
TIMEOUT_S = 120


def go_env() -> dict:
    return {**os.environ, "GOMODCACHE": str(BUILD / "mod"), "GOCACHE": str(BUILD / "cache"),
            "GOFLAGS": "-mod=mod -buildvcs=false", "CGO_ENABLED": "0"}


def build(go: str = "go") -> Path:
    """`go build` the scenarios (a no-op when nothing changed)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([go, "build", "-o", str(BINARY), "."], cwd=HERE, env=go_env(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed:\n{proc.stdout}{proc.stderr}")
    return BINARY


def _command(scenario: str, bootstrap: str, topic: str, options: dict) -> list[str]:
    return [str(BINARY), scenario, bootstrap, topic, json.dumps(options)]


def run(scenario: str, bootstrap: str, topic: str = "", *, check: bool = True, timeout: float = TIMEOUT_S,
        **options) -> dict:
    """Run one scenario to completion and return its JSON result."""
    proc = subprocess.run(_command(scenario, bootstrap, topic, options), capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    if check:
        assert proc.returncode == 0 and "error" not in result, (
            f"{scenario} exited {proc.returncode}: {proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return result


class GoProcess:
    """A long-running scenario: a thread collects its stdout JSON lines;
    `wait_for` blocks until a predicate over them holds."""

    def __init__(self, scenario: str, bootstrap: str, topic: str = "", name: str = "", **options):
        self.name = name or scenario
        self.proc = subprocess.Popen(_command(scenario, bootstrap, topic, options), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
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

    def wait_for(self, predicate, timeout: float = 60, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.lines)
                if result:
                    return result
                if any("error" in x for x in self.lines) or self.lines[-1:] == [{"event": "eof"}]:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
        raise AssertionError(f"{self.name}: no {what}; last lines {self.lines[-5:]}\n"
                             f"stderr:\n{''.join(self.stderr[-30:])}")

    def event(self, name: str, timeout: float = 60) -> dict:
        """The first line with this event, waiting for it."""
        return self.wait_for(lambda lines: next((x for x in lines if x.get("event") == name), None),
                             timeout, what=f"event {name!r}")

    def result(self, key: str, timeout: float = 60) -> dict:
        """The first line that has `key`, waiting for it."""
        return self.wait_for(lambda lines: next((x for x in lines if key in x), None), timeout, what=key)

    def send(self, command: str):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def kill(self):
        """SIGKILL: the process dies without leaving its group."""
        self.proc.kill()
        self.proc.wait()

    def close(self, timeout: float = 30) -> int:
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
        return self.proc.returncode


if __name__ == "__main__":
    started = time.monotonic()
    print(f"built {build()} in {time.monotonic() - started:.1f}s", file=sys.stderr)
