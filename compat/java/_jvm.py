"""Building compat/java's Maven project and driving its scenario runner
(kgw.compat.Runner) from pytest.

The build is Maven's: `compile` and `dependency:build-classpath`, with the
downloaded artifacts in build/m2 and the classes in build/java (both under
the repository's ignored build/ folder), skipped while neither pom.xml nor
anything under src/ changed since the last one. A `JavaRunner` is one JVM that runs
scenarios on command: a JSON line in, a JSON line out."""

import collections
import json
import queue
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from ..harness import require_program

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
POM = HERE / "pom.xml"
BUILD = ROOT / "build" / "java"
M2 = ROOT / "build" / "m2"
STAMP = BUILD / ".built"
BUILD_TIMEOUT_S = 900
CALL_TIMEOUT_S = 120
START_TIMEOUT_S = 60
# Small, quick-starting JVMs: the tests share two cores with the broker
# (and, in development, with other suites).
TEST_JVM_OPTIONS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m"]


class JavaError(AssertionError):
    """A scenario failed inside the JVM: its exception, trace and the JVM's log."""

    def __init__(self, scenario: str, answer: dict, stderr: str):
        super().__init__(f"{scenario}: {answer.get('error')}: {answer.get('message')}\n"
                         f"{answer.get('trace', '')}\n--- JVM stderr (last lines) ---\n{stderr}")


def _newest_source() -> float:
    paths = [POM, *(HERE / "src").rglob("*")]
    return max(p.stat().st_mtime for p in paths if p.is_file())


def build() -> list[str]:
    """Compiles the scenarios if needed; returns `java -cp CLASSPATH`, to
    which the caller adds JVM options and the main class (a failure in CI,
    a skip elsewhere, when java or mvn is missing)."""
    java = require_program("java")
    if not STAMP.exists() or STAMP.stat().st_mtime < _newest_source():
        mvn = require_program("mvn")
        proc = subprocess.run(
            [mvn, "-B", "-q", f"-Dmaven.repo.local={M2}", "-f", str(POM), "compile", "dependency:build-classpath"],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        if proc.returncode != 0:
            pytest.fail(f"mvn failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
        STAMP.touch()
    classpath = f"{BUILD / 'classes'}:{(BUILD / 'classpath.txt').read_text().strip()}"
    return [java, "-cp", classpath]


class JavaRunner:
    """One JVM running scenarios on command. A call that times out dumps the
    JVM's threads to its stderr (SIGQUIT), kills it and fails."""

    def __init__(self, java_command: list[str], *, options: list[str] = TEST_JVM_OPTIONS, name: str = "java"):
        self.name = name
        self.proc = subprocess.Popen(
            [*java_command[:1], *options, *java_command[1:], "kgw.compat.Runner"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self._answers: queue.Queue = queue.Queue()
        self._stderr: collections.deque = collections.deque(maxlen=300)
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()
        ready = self._next_answer(START_TIMEOUT_S, "start")
        assert ready == {"ready": True}, ready

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                self._answers.put(line)
        self._answers.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr(self, lines: int = 80) -> str:
        return "".join(list(self._stderr)[-lines:])

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _next_answer(self, timeout: float, what: str) -> dict:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            self._dump_and_kill()
            raise AssertionError(
                f"{self.name}: no answer to {what} within {timeout} s\n{self.stderr(400)}") from None
        if line is None:
            self.proc.wait(10)
            raise AssertionError(f"{self.name}: the JVM exited ({self.proc.returncode}) during {what}\n"
                                 f"{self.stderr()}")
        return json.loads(line)

    def _dump_and_kill(self):
        if self.alive:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        for t in self._threads:
            t.join(5)

    def call(self, scenario: str, *, timeout: float = CALL_TIMEOUT_S, **args):
        """Runs a scenario and returns its result; a Java exception fails
        the test with its stack trace (a JavaError)."""
        self.proc.stdin.write(json.dumps({"scenario": scenario, "args": args}) + "\n")
        self.proc.stdin.flush()
        answer = self._next_answer(timeout, scenario)
        if "error" in answer:
            raise JavaError(scenario, answer, self.stderr())
        return answer["result"]

    def kill(self):
        if self.alive:
            self.proc.kill()
        self.proc.wait()

    def close(self, timeout: float = 60):
        if self.alive:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        for t in self._threads:
            t.join(5)


def standard_records(prefix: str, count: int, partition: int = 0, first_offset: int = 0) -> list[dict]:
    """What Clients.standardRecords() sends, as Clients.record() reports it
    (without the timestamp)."""
    records = []
    for i in range(count):
        headers = ([["h", f"v{i}"], ["multi", "a"], ["multi", "b"], ["bin", "hex:00ff01"], ["empty", ""],
                    ["null", None]] if i % 2 == 0 else [])
        records.append({
            "partition": partition,
            "offset": first_offset + i,
            "key": None if i % 3 == 0 else f"k{i}",
            "value": None if i % 5 == 3 else f"{prefix}-{i}-" + "abcd" * (50 if i % 4 == 0 else 1),
            "headers": headers,
        })
    return records


def without_timestamps(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "timestamp"} for r in records]


