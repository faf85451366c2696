"""Shared machinery for the consumer-group compat tests.

- Checks made through kgw's own protocol/ codec (compat.harness.Wire),
  independently of the client under test: end offsets, the offsets a group
  has committed, its description.
- `Member`: one group member in a child process (compat/groups/worker.py
  for the Python clients, kcat itself for kcat), whose events are collected
  by reader threads; `stop()` leaves cleanly, `kill()` is SIGKILL.
- `Producer`: writes bursts across the partitions from a thread while the
  group churns.
- `check_processing`: the exactly-once / at-least-once bookkeeping.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable


from ..harness import Wire, committed_offsets, end_offsets, wait_until

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 30
# kgw's group.min.session.timeout.ms is Kafka's 6000: the shortest session
# a member may ask for, and what makes a killed member's partitions move.
SESSION_MS = 6000
HEARTBEAT_MS = 1000


# --- through kgw's own protocol client (compat.harness.Wire) -------------------------

def describe_group(bootstrap: str, group: str):
    """DescribeGroups v4 for one group, as kgw answers it."""
    with Wire(bootstrap) as wire:
        body = wire.call(15, 4, groups=[group])
    (described,) = body.groups
    return described


def states(members) -> Callable[[], str]:
    """Each member's state, for a failure to say where the group got stuck."""
    return lambda: "\n".join(m.describe() for m in members)


# --- group members in child processes ---------------------------------------------

class Member:
    """A group member in a child process; events arrive through reader threads."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.argv = argv
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=REPO, env=env)
        self.lock = threading.Lock()
        self.events: list[dict] = []
        self.stderr: list[str] = []
        self.killed = False
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    # Subclasses turn output lines into events.
    def parse_stdout(self, line: str):
        return json.loads(line)

    def parse_stderr(self, line: str):
        return None

    def _read_stdout(self):
        for raw in self.proc.stdout:
            event = self.parse_stdout(raw.decode(errors="replace").rstrip("\n"))
            if event is not None:
                event["t"] = time.monotonic()
                with self.lock:
                    self.events.append(event)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            event = self.parse_stderr(line)
            if event is not None:
                event["t"] = time.monotonic()
            with self.lock:
                self.stderr.append(line)
                if event is not None:
                    self.events.append(event)

    def of(self, kind: str) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["ev"] == kind]

    @property
    def assignment(self) -> set[int] | None:
        """The member's latest whole assignment (None before the first)."""
        with self.lock:
            for event in reversed(self.events):
                if event["ev"] == "assignment":
                    return set(event["parts"])
        return None

    @property
    def processed(self) -> list[tuple[int, int, str, float]]:
        """(partition, offset, value, when the parent read the line)."""
        return [(e["p"], e["o"], e["v"], e["t"]) for e in self.of("p")]

    def processings(self) -> list[tuple[float, int, int, str, bool]]:
        """(when, partition, offset, value, commit acknowledged) for each
        processing: the worker follows each "p" with the "c" or "cf" of that
        same message before it processes another."""
        with self.lock:
            events = [e for e in self.events if e["ev"] in ("p", "c", "cf")]
        out = []
        for i, e in enumerate(events):
            if e["ev"] != "p":
                continue
            nxt = events[i + 1] if i + 1 < len(events) else None
            acked = nxt is not None and nxt["ev"] == "c" and (nxt["p"], nxt["o"]) == (e["p"], e["o"])
            out.append((e["t"], e["p"], e["o"], e["v"], acked))
        return out

    @property
    def commits(self) -> set[tuple[int, int]]:
        return {(e["p"], e["o"]) for e in self.of("c")}

    def describe(self) -> str:
        with self.lock:
            kinds = defaultdict(int)
            for e in self.events:
                kinds[e["ev"]] += 1
            tail = self.stderr[-8:]
        return (f"  {self.name}: rc={self.proc.poll()} assignment={self.assignment} "
                f"events={dict(kinds)} stderr tail={tail}")

    def wait_started(self):
        wait_until(lambda: self.of("started") or self.proc.poll() is not None, f"{self.name} to start",
                   details=states([self]))
        assert self.proc.poll() is None, self.describe()

    def request_stop(self):
        self.proc.stdin.write(b"stop\n")
        self.proc.stdin.flush()

    def stop(self, timeout: float = TIMEOUT_S) -> None:
        """Close cleanly (LeaveGroup) and wait for a zero exit."""
        if self.proc.poll() is None:
            try:
                self.request_stop()
            except BrokenPipeError:
                pass
        rc = self.proc.wait(timeout)
        self.join_readers()
        assert rc == 0, f"{self.name} exited {rc}: {self.describe()}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.killed = True
        self.join_readers()

    def join_readers(self):
        for t in self._threads:
            t.join(5)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class PythonMember(Member):
    """compat/groups/worker.py running CLIENT."""

    def __init__(self, name: str, client: str, bootstrap: str, group: str, topic: str, *,
                 assignor: str | None = None, instance_id: str | None = None,
                 session_ms: int = SESSION_MS, heartbeat_ms: int = HEARTBEAT_MS):
        argv = [sys.executable, "-m", "compat.groups.worker", client, bootstrap, group, topic,
                "--client-id", name, "--session-ms", str(session_ms), "--heartbeat-ms", str(heartbeat_ms)]
        if assignor:
            argv += ["--assignor", assignor]
        if instance_id:
            argv += ["--instance-id", instance_id]
        self.client = client
        super().__init__(name, argv)

    def describe(self) -> str:
        failures = self.of("cf")[:3] + self.of("error")[:3]
        return super().describe() + (f" failures={failures}" if failures else "")


# kcat -G prints "% Group G rebalanced (memberid M): assigned: T [0], T [3]"
# and "...: revoked: T [0], T [3]" on stderr (nothing after the colon for none).
_KCAT_REBALANCE = re.compile(r"^% Group \S+ rebalanced \(memberid [^)]*\): (assigned|revoked): ?(.*)$")
_KCAT_PARTITION = re.compile(r"\[(\d+)\]")


class KcatMember(Member):
    """`kcat -G`: kcat's balanced consumer, with librdkafka's auto-commit.

    kcat stores a message's offset when librdkafka hands the message over
    (before it is printed); librdkafka commits the stored offsets every
    auto.commit.interval.ms (5 s: kcat cannot change it, see FINDINGS.md),
    when partitions are revoked, and on close (SIGTERM). It cannot commit
    after processing, so it gives at-least-once: a SIGKILL loses up to 5 s
    of commits. -E keeps it running while kgw restarts."""

    def __init__(self, name: str, bootstrap: str, group: str, topic: str, *, assignor: str | None = None,
                 session_ms: int = SESSION_MS, heartbeat_ms: int = HEARTBEAT_MS, extra=()):
        argv = ["kcat", "-b", bootstrap, "-G", group, "-E", "-u", "-f", "M %p %o %s\\n",
                "-X", f"client.id={name}", "-X", f"session.timeout.ms={session_ms}",
                "-X", f"heartbeat.interval.ms={heartbeat_ms}", "-X", "auto.offset.reset=earliest",
                "-X", "fetch.wait.max.ms=100",
                "-X", "socket.timeout.ms=5000", *extra]
        if assignor:
            argv += ["-X", f"partition.assignment.strategy={assignor}"]
        argv.append(topic)
        self._owned: set[int] = set()
        super().__init__(name, argv)
        # kcat has subscribed once it runs; there is no "started" line.
        with self.lock:
            self.events.append({"ev": "started"})

    def parse_stdout(self, line: str):
        kind, p, o, value = line.split(" ", 3)
        assert kind == "M", line
        return {"ev": "p", "p": int(p), "o": int(o), "v": value}

    def parse_stderr(self, line: str):
        match = _KCAT_REBALANCE.match(line)
        if not match:
            return None
        parts = {int(p) for p in _KCAT_PARTITION.findall(match.group(2))}
        if match.group(1) == "assigned":
            self._owned |= parts
        else:
            self._owned -= parts
        return {"ev": "assignment", "parts": sorted(self._owned)}

    def request_stop(self):
        self.proc.send_signal(signal.SIGTERM)


# --- producing while the group works ------------------------------------------------

def key_for_partition(partition: int, partitions: int) -> str:
    """A key librdkafka's default (consistent_random: CRC-32 of the key)
    partitioner sends to `partition`."""
    i = 0
    while zlib.crc32(f"k{i}".encode()) % partitions != partition:
        i += 1
    return f"k{i}"


class Producer:
    """Writes `per_burst` messages to every partition each `interval` seconds
    from a thread, until `stop()`. `send(partition, value)` queues one
    message, `flush()` waits for all, `close()` releases the client."""

    def __init__(self, send, flush, close, partitions: int, tag: str, interval: float = 0.1,
                 per_burst: int = 1):
        self.send, self.flush, self.close = send, flush, close
        self.partitions, self.tag, self.interval, self.per_burst = partitions, tag, interval, per_burst
        self.values: list[str] = []
        self._stop = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Producer":
        self._thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.is_set():
                for _ in range(self.per_burst):
                    for p in range(self.partitions):
                        value = f"{self.tag}-{len(self.values)}"
                        self.send(p, value)
                        self.values.append(value)
                self._stop.wait(self.interval)
        except Exception as exc:  # reported by stop()
            self._error = exc

    def stop(self) -> list[str]:
        """Stop, flush, close; returns every value sent."""
        self._stop.set()
        self._thread.join(TIMEOUT_S)
        try:
            self.flush()
        finally:
            self.close()
        assert self._error is None, f"producer failed: {self._error!r}"
        return list(self.values)

    def burst(self, count_per_partition: int) -> list[str]:
        """Synchronously send `count_per_partition` to each partition (no thread)."""
        sent = []
        for _ in range(count_per_partition):
            for p in range(self.partitions):
                value = f"{self.tag}-{len(self.values)}"
                self.send(p, value)
                self.values.append(value)
                sent.append(value)
        self.flush()
        return sent


def kafka_python_producer(bootstrap, topic, partitions, tag, **kw) -> Producer:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=f"{tag}-producer", linger_ms=5,
                             request_timeout_ms=5000, retry_backoff_ms=50, reconnect_backoff_ms=20,
                             reconnect_backoff_max_ms=200)
    return Producer(lambda p, v: producer.send(topic, v.encode(), partition=p),
                    lambda: producer.flush(TIMEOUT_S), lambda: producer.close(10), partitions, tag, **kw)


def confluent_producer(bootstrap, topic, partitions, tag, **kw) -> Producer:
    from confluent_kafka import Producer as CkProducer

    producer = CkProducer({"bootstrap.servers": bootstrap, "client.id": f"{tag}-producer",
                           "linger.ms": 5, "message.timeout.ms": 20000, "socket.timeout.ms": 5000,
                           "enable.idempotence": True})
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(str(err))

    def send(p, v):
        producer.produce(topic, v.encode(), partition=p, on_delivery=report)
        producer.poll(0)

    def flush():
        assert producer.flush(TIMEOUT_S) == 0, "confluent producer: messages left after flush"
        assert not failures, failures

    return Producer(send, flush, producer.close, partitions, tag, **kw)


def aiokafka_producer(bootstrap, topic, partitions, tag, **kw) -> Producer:
    """An AIOKafkaProducer on its own event loop in a helper thread."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(TIMEOUT_S)

    async def make():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=f"{tag}-producer", linger_ms=5,
                             request_timeout_ms=5000, retry_backoff_ms=50, enable_idempotence=True)
        await p.start()
        return p

    producer = run(make())
    pending = []

    def send(p, v):
        pending.append(run(producer.send(topic, v.encode(), partition=p)))

    async def wait_all(futures):
        return await asyncio.gather(*futures)

    def flush():
        futures, pending[:] = list(pending), []
        run(wait_all(futures))

    def close():
        try:
            run(producer.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            loop_thread.join(10)
            loop.close()

    return Producer(send, flush, close, partitions, tag, **kw)


class KcatProducer:
    """A long-lived `kcat -P -K :` fed through stdin; each line goes to the
    partition its key hashes to."""

    def __init__(self, bootstrap, topic, partitions):
        self.keys = [key_for_partition(p, partitions) for p in range(partitions)]
        self.proc = subprocess.Popen(
            ["kcat", "-b", bootstrap, "-P", "-E", "-t", topic, "-K", ":", "-X", "linger.ms=5",
             "-X", "enable.idempotence=true"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lock = threading.Lock()

    def send(self, p, v):
        with self.lock:
            self.proc.stdin.write(f"{self.keys[p]}:{v}\n".encode())
            self.proc.stdin.flush()

    def close(self):
        """Closing stdin makes kcat deliver everything and exit."""
        self.proc.stdin.close()
        rc = self.proc.wait(TIMEOUT_S)
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        # With -E, kcat reports the broker's restart on stderr and carries
        # on; what it delivered is checked against what the group read.
        assert rc == 0, f"kcat -P exited {rc}: {err}"


def kcat_producer(bootstrap, topic, partitions, tag, **kw) -> Producer:
    kp = KcatProducer(bootstrap, topic, partitions)
    # kcat delivers on exit only: flush() is close() for the threaded run;
    # burst() is not available.
    return Producer(kp.send, kp.close, lambda: None, partitions, tag, **kw)


def kcat_burst(bootstrap, topic, partitions, per_partition, tag) -> list[str]:
    """One `kcat -P` run writing `per_partition` messages to each partition."""
    keys = [key_for_partition(p, partitions) for p in range(partitions)]
    values = [f"{tag}-{i}-{p}" for i in range(per_partition) for p in range(partitions)]
    lines = "".join(f"{keys[int(v.rsplit('-', 1)[1])]}:{v}\n" for v in values).encode()
    proc = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-K", ":", "-X", "linger.ms=5"],
                          input=lines, capture_output=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0 and b"ERROR" not in proc.stderr, proc.stderr
    return values


PRODUCERS = {"kafka-python": kafka_python_producer, "confluent": confluent_producer,
             "aiokafka": aiokafka_producer, "kcat": kcat_producer}


# --- assignments and processing -------------------------------------------------

def balanced(members, partitions: int) -> bool:
    """Every member holds some partitions, no two hold the same one, and
    together they hold them all."""
    assignments = [m.assignment for m in members]
    if any(not a for a in assignments):
        return False
    union = set().union(*assignments)
    return union == set(range(partitions)) and sum(len(a) for a in assignments) == partitions


def wait_balanced(members, partitions: int, what: str, timeout: float = TIMEOUT_S):
    wait_until(lambda: balanced(members, partitions), what, timeout, details=states(members))


def wait_each_processes(members, what: str, timeout: float = TIMEOUT_S):
    """Wait until every member processed at least one more message."""
    before = {id(m): len(m.of("p")) for m in members}
    wait_until(lambda: all(len(m.of("p")) > before[id(m)] for m in members), what, timeout,
               details=states(members))


def wait_all_processed(members, bootstrap, topic, partitions, group, timeout: float = TIMEOUT_S,
                       since: dict[int, int] | None = None):
    """Wait until the group is done with everything in the topic; returns
    the end offsets. Members that commit after processing: the group's
    committed offsets reached the end of every partition. kcat members
    (which commit every 5 s, on a revoke and on close): `members` (all the
    group's members so far) processed every message from `since` (default:
    the start) up to the end offsets; the caller stops them to commit."""
    ends = end_offsets(bootstrap, topic, partitions)
    if any(isinstance(m, KcatMember) for m in members):
        since = since or {}
        expected = {(p, o) for p, end in ends.items() for o in range(since.get(p, 0), end)}

        def done():
            return expected <= {(p, o) for m in members for p, o, _, _ in m.processed}

        def what():
            missing = sorted(expected - {(p, o) for m in members for p, o, _, _ in m.processed})
            return f"{len(missing)} messages never processed, e.g. {missing[:12]}"
    else:
        def done():
            return committed_offsets(bootstrap, group, topic, partitions) == ends

        def what():
            return f"committed {committed_offsets(bootstrap, group, topic, partitions)}"

    try:
        wait_until(done, f"group {group} to be done up to {ends}", timeout,
                   details=states(members))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n  {what()}") from None
    return ends


def check_processing(members, ends: dict[int, int], produced: list[str], *, redelivery_ok=()):
    """The group's processing, message by message.

    Every (partition, offset) below `ends` was processed, and every produced
    value was processed, with the same value at the same position whenever a
    message was processed twice. A message is processed more than once only
    where all its processings but one were by members in `redelivery_ok` (a
    SIGKILLed or fenced member, or one that lost its membership) that never
    saw their commit of it acknowledged: the classic at-least-once tail.
    Returns those extra processings as [((partition, offset), member)]."""
    seen = defaultdict(list)  # (p, o) -> [(when, member, value, commit acknowledged)]
    for m in members:
        for t, p, o, v, acked in m.processings():
            seen[p, o].append((t, m.name, v, acked))
    expected = {(p, o) for p, end in ends.items() for o in range(end)}
    missing = sorted(expected - set(seen))
    extra = sorted(set(seen) - expected)
    assert not missing, f"never processed: {missing[:20]} ({len(missing)} in all)"
    assert not extra, f"processed past the end offsets: {extra[:20]}"
    redeliveries = []
    allowed = {m.name for m in redelivery_ok}
    for key, runs in sorted(seen.items()):
        runs.sort()
        assert len({v for _, _, v, _ in runs}) == 1, f"{key} processed with different values: {runs}"
        # Every processing but (at most) one is an unacknowledged one by an
        # allowed member; order does not matter (a fenced zombie may still
        # process its buffered messages after its successor did).
        excused = [r for r in runs if r[1] in allowed and not r[3]]
        assert len(runs) - len(excused) <= 1, f"{key} processed more than once: {runs}"
        redeliveries.extend((key, name) for _, name, _, _ in (excused if len(excused) < len(runs)
                                                               else excused[:-1]))
    values = Counter(runs[0][2] for runs in seen.values())
    wanted = Counter(produced)
    assert values == wanted, (f"the log holds other values than those produced: "
                              f"missing {sorted(wanted - values)[:10]}, extra {sorted(values - wanted)[:10]}")
    return redeliveries
