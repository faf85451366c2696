"""Running a real kgw for the compat tests: a `kgw serve` child process on an
ephemeral port, and a TCP proxy that can cut every connection on demand."""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from protocol.connection import NEED_DATA, ClientConnection
from protocol.error_codes import ErrorCode
from protocol.messages import APIS, CREATE_TOPICS, LIST_OFFSETS, OFFSET_FETCH
from protocol.records import iter_batches

WIRE_TIMEOUT_S = 30
# How long a compat test waits for something a client or kgw should get to.
WAIT_S = 30
# The broker under test: "kgw", or "kafka" for Apache Kafka (compat/conftest.py).
BROKER = os.environ.get("KGW_BROKER", "kgw")
READY = re.compile(r"kgw ready on ([\d.]+):(\d+)")
START_TIMEOUT_S = 20


def require(module_name: str):
    """Import a client library; in CI (KGW_REQUIRE_CLIENTS=1) its absence is
    a failure, elsewhere a skip."""
    try:
        return __import__(module_name)
    except ImportError as exc:
        if os.environ.get("KGW_REQUIRE_CLIENTS") == "1":
            pytest.fail(f"client {module_name} is required but missing: {exc}")
        pytest.skip(f"client {module_name} not installed")


def require_program(name: str) -> str:
    path = subprocess.run(["which", name], capture_output=True, text=True).stdout.strip()
    if not path:
        if os.environ.get("KGW_REQUIRE_CLIENTS") == "1":
            pytest.fail(f"program {name} is required but missing")
        pytest.skip(f"program {name} not installed")
    return path


# How long a read may take to show an admin change: Kafka answers
# CreateTopics, AlterConfigs and the like once its controller has the
# change, and its broker applies it from the metadata log a moment later
# (seconds on a loaded machine); kgw applies it before answering.
SETTLE_TIMEOUT_S = 30


def eventually(read, expected):
    """`read()` once it returns `expected`, or what it last returned after
    SETTLE_TIMEOUT_S: a read after an admin change, as a client retries it."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while (got := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def require_kgw(fixture: str) -> None:
    """A fixture that starts a kgw of its own would quietly test kgw when
    Apache Kafka is the broker under test: its tests must be kgw_only."""
    if BROKER != "kgw":
        pytest.fail(f"{fixture} runs a kgw of its own: mark the test @pytest.mark.kgw_only(reason)",
                    pytrace=False)


class KgwProcess:
    """`kgw serve` in a child process; `restart()` keeps the data dir."""

    def __init__(self, data_dir: Path, *extra_args: str, port: int = 0):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self.log_lines: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "KgwProcess":
        cmd = [sys.executable, "-m", "kgw", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), *self.extra_args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        # A thread owns the pipe: select() on a buffered text pipe can miss
        # a line that arrived together with the previous one.
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_log, args=(self.proc, lines), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line is None:
                break
            match = READY.search(line)
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                return self
        self.kill()
        raise RuntimeError("kgw did not start:\n" + "".join(self.log_lines))

    def _read_log(self, proc, lines):
        for line in proc.stderr:
            self.log_lines.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait: the graceful path. Returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to the data dir."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self, *, crash: bool = False) -> "KgwProcess":
        """Stop (or kill) and start again on the same port and data dir."""
        if crash:
            self.kill()
        else:
            assert self.stop() == 0, "".join(self.log_lines[-20:])
        return self.start()


def run_scenario(command: list[str], *, check: bool = True, timeout: float = 60, **popen) -> dict:
    """Run a scenario program (compat/go's binary, scenarios.js, ...) to
    completion and return the JSON document its last line prints."""
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **popen)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    if check:
        assert proc.returncode == 0 and "error" not in result, (
            f"{command[1:2]} exited {proc.returncode}: {proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return result


class ScenarioProcess:
    """A long-running scenario program (a group member, a producer) that
    prints JSON lines and takes commands on stdin: a thread collects the
    lines; `wait_for` blocks until a predicate over them holds.  With
    `fail_fast`, a line naming an error or the program's end stops the wait
    at once."""

    def __init__(self, command: list[str], name: str, *, fail_fast: bool = False, **popen):
        self.name = name
        self.fail_fast = fail_fast
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, **popen)
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

    def wait_for(self, predicate, timeout: float = 60, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.lines)
                if result:
                    return result
                if self.fail_fast and (any("error" in x for x in self.lines)
                                       or self.lines[-1:] == [{"event": "eof"}]):
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


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a target and can cut every connection."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
                self.connections += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> int:
        """Reset every open connection; returns how many sockets were cut."""
        with self._lock:
            victims = list(self._sockets)
            self._sockets.clear()
        for s in victims:
            try:
                # Linger 0 makes close() send a reset; shutting down the
                # read side first wakes the pump thread blocked in recv(),
                # without which Linux delays the reset until recv returns.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.shutdown(socket.SHUT_RD)
                s.close()
            except OSError:
                pass
        return len(victims)

    def close(self):
        self._closed = True
        self._listener.close()
        self.cut()


class Wire:
    """A blocking connection speaking kgw's own protocol/ client codec, for
    what a client under test cannot ask (or should not be trusted to)."""

    def __init__(self, bootstrap: str, client_id: str = "compat"):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=WIRE_TIMEOUT_S)
        self.conn = ClientConnection(client_id)

    def send(self, api_key: int, version: int, **fields) -> None:
        """Send a request without waiting for its answer."""
        _, data = self.conn.send_request(api_key, version, APIS[api_key].Request(**fields))
        self.sock.sendall(data)

    def call(self, api_key: int, version: int, **fields):
        self.send(api_key, version, **fields)
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


def wait_until(predicate, what: str, timeout: float = WAIT_S, interval: float = 0.05,
               details: Callable[[], str] | None = None):
    """Poll `predicate` until it returns something true, and return that; on
    timeout, fail naming `what`, with `details()` when given (where a group
    or a transaction got stuck)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"timed out waiting for {what}{extra}")
        time.sleep(interval)


def end_offsets(bootstrap: str, topic: str, partitions: int, isolation: int = 0) -> dict[int, int]:
    """ListOffsets v2, latest: {partition: offset}, the high watermark, or
    with isolation 1 (read_committed) the last stable offset."""
    Topic = LIST_OFFSETS.Request.ListOffsetsTopic
    with Wire(bootstrap) as wire:
        body = wire.call(LIST_OFFSETS.key, 2, replica_id=-1, isolation_level=isolation, topics=[
            Topic(name=topic, partitions=[Topic.ListOffsetsPartition(partition_index=p, timestamp=-1)
                                          for p in range(partitions)])])
    out = {}
    for t in body.topics:
        for p in t.partitions:
            assert p.error_code == 0, p
            out[p.partition_index] = p.offset
    return out


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 1) -> dict[int, int]:
    """OffsetFetch v7 for explicit partitions: {partition: committed offset},
    -1 where the group never committed.  With require_stable, a partition
    whose transactional commit is still pending answers
    UNSTABLE_OFFSET_COMMIT, which is retried as clients do."""
    Topic = OFFSET_FETCH.Request.OffsetFetchRequestTopic

    def fetch():
        with Wire(bootstrap) as wire:
            body = wire.call(OFFSET_FETCH.key, 7, group_id=group, require_stable=True,
                             topics=[Topic(name=topic, partition_indexes=list(range(partitions)))])
        assert body.error_code in (0, ErrorCode.UNSTABLE_OFFSET_COMMIT), body
        out = {}
        for t in body.topics:
            for p in t.partitions:
                if p.error_code == ErrorCode.UNSTABLE_OFFSET_COMMIT:
                    return None
                assert p.error_code == 0, p
                out[p.partition_index] = p.committed_offset
        return out if body.error_code == 0 else None

    return wait_until(fetch, f"stable offsets of group {group}")


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """CreateTopics v4, for clients without an admin API."""
    with Wire(bootstrap) as wire:
        topic = CREATE_TOPICS.Request.CreatableTopic(name=name, num_partitions=partitions,
                                                     replication_factor=1)
        body = wire.call(CREATE_TOPICS.key, 4, topics=[topic], timeout_ms=5000)
    assert [(t.name, t.error_code) for t in body.topics] == [(name, 0)]


def stored_batches(data_dir, topic: str, partition: int = 0) -> list:
    """RecordBatch views of what kgw stored in the partition's segment files
    (kgw writes with pwritev, so the files are current while it runs; a batch
    being written may be cut short, so a partial tail is skipped)."""
    batches = []
    for path in sorted(Path(data_dir, f"{topic}-{partition}").glob("*.log")):
        batches.extend(iter_batches(path.read_bytes(), allow_partial_tail=True))
    return batches
