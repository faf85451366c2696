"""A real Apache Kafka for tests and benchmarks: the release pom.xml pins,
fetched by Maven into build/, run as one combined broker+controller (KRaft)
on free ports of 127.0.0.1 with settings matched to kgw's defaults.

    with ApacheKafka(tmp_dir) as kafka:
        use(kafka.bootstrap)

    python -m compat.reference.apache_kafka fetch
    python -m compat.reference.apache_kafka serve --port 9092 --data-dir build/kafka-data
"""

import argparse
import base64
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from kgw.tools.client import Connection
from kgw.cli_errors import ToolError
from kgw.tools.sasl import Credentials
from protocol.messages import METADATA

from . import scram_users

POM = Path(__file__).with_name("pom.xml")
BUILD = Path(__file__).resolve().parents[2] / "build"
NODE_ID = 0
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30
PROBE_TIMEOUT_S = 2
# What the JVM exits with once Kafka's shutdown hook has run after SIGTERM.
STOPPED_BY_SIGTERM = 128 + signal.SIGTERM
BIND_ATTEMPTS = 3

# kgw's defaults, where Kafka's differ, and what a one-node cluster needs:
# every internal topic with one replica, and no wait before a new group's
# first rebalance (kgw has none). Nothing that equals Kafka's default
# (num.partitions=1, auto-creation on, ...): DescribeConfigs would call it
# STATIC_BROKER_CONFIG where kgw, started with its defaults, says
# DEFAULT_CONFIG.
SETTINGS = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
}

# The JVM options of Kafka's own start script, with a smaller heap.
JVM_OPTIONS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
               "-XX:+ExplicitGCInvokesConcurrent", "-XX:+ExitOnOutOfMemoryError",
               "-Djava.awt.headless=true"]
# The storage tool runs for a second: compiling it well would cost more.
TOOL_JVM_OPTIONS = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]

# Kafka stops the JVM itself; log4j's own shutdown hook would only warn
# that it came too late.
LOG4J2 = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = file
appender.file.fileName = {path}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
"""


class KafkaError(RuntimeError):
    pass


def kafka_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns).text


def kafka_lib() -> Path:
    """The folder of jars Kafka runs from, fetched by Maven on first use
    (and again whenever pom.xml changes)."""
    home = BUILD / f"kafka-{kafka_version()}"
    lib = home / "lib"
    stamp = home / "fetched-from-pom.sha256"
    wanted = hashlib.sha256(POM.read_bytes()).hexdigest()
    home.mkdir(parents=True, exist_ok=True)
    # Two test sessions may start at once: one fetches, the other waits.
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return lib
        shutil.rmtree(lib, ignore_errors=True)
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaError("Maven (mvn) is needed to fetch Apache Kafka and is not on PATH")
        command = [mvn, "-B", "-q", "-f", str(POM), f"-Dmaven.repo.local={BUILD / 'm2'}",
                   "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={lib}"]
        fetched = subprocess.run(command, capture_output=True, text=True)
        if fetched.returncode != 0:
            raise KafkaError(f"fetching Apache Kafka failed:\n{fetched.stdout}{fetched.stderr}")
        stamp.write_text(wanted)
    return lib


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home, "bin", "java")) if home else "java"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _cluster_id() -> str:
    """Kafka's Uuid as its tools print it: URL-safe base64 without padding,
    and never starting with "-" (Uuid.randomUuid draws again: the storage
    tool would read such an id as an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def _die_with_parent() -> None:
    # A test session killed outright must not leave a JVM behind on a
    # shared machine: PR_SET_PDEATHSIG sends SIGTERM when the parent dies.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _jaas_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ApacheKafka:
    """One KRaft node, broker and controller, node id 0. `data_dir` is its
    log dir (partitions in `<topic>-<partition>/`, as kgw's); its config,
    its log (`kafka.log`) and the JVM's output (`kafka.out`) sit there too.

    With `sasl_users` ({name: password}) its port requires SASL, as
    `kgw serve --sasl-user` does: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
    The broker then also listens, without SASL, on `internal_port`, which
    it uses itself and which is never advertised to clients."""

    def __init__(self, data_dir: Path, *, port: int = 0, heap: str = "512m",
                 sasl_users: dict[str, str] | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.host = "127.0.0.1"
        self.port = port
        self.controller_port = 0
        self.internal_port = 0
        self.heap = heap
        self.sasl_users = dict(sasl_users or {})
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    def __enter__(self) -> "ApacheKafka":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ApacheKafka":
        """Format `data_dir` (absent or empty) and start the node; returns
        once it answers Metadata."""
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise KafkaError(f"{self.data_dir} is not empty: Apache Kafka needs a fresh log dir")
        lib = kafka_lib()
        wanted_port = self.port
        for attempt in range(BIND_ATTEMPTS):
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir.mkdir(parents=True)
            ports = _free_ports(3)
            self.controller_port = ports[0]
            self.internal_port = ports[1] if self.sasl_users else 0
            self.port = wanted_port or ports[2]
            try:
                self._format(lib)
                self._launch(lib)
                return self
            except BaseException as exc:
                self.kill()  # whatever failed, no JVM is left behind
                # Another process took a port between our probe and Kafka's
                # bind: pick new ones (unless the caller chose the port).
                lost_race = isinstance(exc, KafkaError) and "Address already in use" in self._log_tail()
                if wanted_port or not lost_race or attempt == BIND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _listener_settings(self) -> dict[str, str]:
        controller = f"CONTROLLER://{self.host}:{self.controller_port}"
        if not self.sasl_users:
            return {
                "listeners": f"PLAINTEXT://{self.host}:{self.port},{controller}",
                "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }
        client, internal = f"CLIENT://{self.host}:{self.port}", f"INTERNAL://{self.host}:{self.internal_port}"
        # A JAAS option name is one word: a user whose name is not (say
        # "ops,eu=1") gets SCRAM only.
        plain_users = " ".join(f"user_{name}={_jaas_quoted(password)}" for name, password in self.sasl_users.items()
                               if name.replace("_", "").replace("-", "").replace(".", "").isalnum())
        return {
            "listeners": f"{client},{internal},{controller}",
            # Kafka answers Metadata with the endpoints of the listener asked.
            "advertised.listeners": f"{client},{internal}",
            "inter.broker.listener.name": "INTERNAL",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "listener.name.client.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.client.plain.sasl.jaas.config":
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
            "listener.name.client.scram-sha-256.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.client.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        }

    def _write_config(self) -> Path:
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            **self._listener_settings(),
            "log.dirs": str(self.data_dir),
            **SETTINGS,
        }
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        (self.data_dir / "log4j2.properties").write_text(LOG4J2.format(path=self.log_path))
        return config

    def _format(self, lib: Path) -> None:
        # --standalone makes this node the quorum's one voter (KIP-853).
        config = self._write_config()
        command = [_java(), *TOOL_JVM_OPTIONS, "-cp", f"{lib}/*", "kafka.tools.StorageTool", "format",
                   "--cluster-id", _cluster_id(), "--config", str(config), "--standalone"]
        formatted = subprocess.run(command, capture_output=True, text=True)
        if formatted.returncode != 0:
            raise KafkaError(f"formatting {self.data_dir} failed:\n{formatted.stdout}{formatted.stderr}")

    def _launch(self, lib: Path) -> None:
        command = [_java(), f"-Xmx{self.heap}", *JVM_OPTIONS,
                   f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                   "-cp", f"{lib}/*", "kafka.Kafka", str(self.data_dir / "server.properties")]
        with open(self.data_dir / "kafka.out", "wb") as out:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise KafkaError(f"Apache Kafka exited while starting:\n{self._log_tail()}")
            if self._answers():
                break
            time.sleep(0.1)
        else:
            raise KafkaError(f"Apache Kafka did not answer within {START_TIMEOUT_S} s:\n{self._log_tail()}")
        if self.sasl_users:
            self._add_scram_users(deadline)

    def _add_scram_users(self, deadline: float) -> None:
        scram_users.upsert(self.host, self.internal_port, self.sasl_users)
        # The credentials reach the broker through the metadata log: ready
        # once the last user can log in.
        name, password = list(self.sasl_users.items())[-1]
        while time.monotonic() < deadline:
            try:
                Connection(self.host, self.port, timeout=PROBE_TIMEOUT_S,
                           sasl=Credentials("SCRAM-SHA-512", name, password)).close()
                return
            except ToolError:
                time.sleep(0.1)
        raise KafkaError(f"SCRAM users were not usable within {START_TIMEOUT_S} s:\n{self._log_tail()}")

    def _answers(self) -> bool:
        """Ready once Metadata lists this node: the broker has joined the
        quorum and been unfenced, so topics can be created."""
        port = self.internal_port if self.sasl_users else self.port
        try:
            conn = Connection(self.host, port, timeout=PROBE_TIMEOUT_S)
        except ToolError:
            return False
        try:
            body = conn.call(METADATA, METADATA.Request(topics=[], allow_auto_topic_creation=False))
        except ToolError:
            return False
        finally:
            conn.close()
        return [(b.node_id, b.port) for b in body.brokers] == [(NODE_ID, port)]

    def _log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("kafka.out", "kafka.log"):
            path = self.data_dir / name
            if path.exists():
                text += "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
        return text

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM and wait for Kafka's orderly shutdown, SIGKILL if it takes
        longer than `timeout`. Returns the exit code (STOPPED_BY_SIGTERM for
        an orderly shutdown), None if it was not running."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _serve(port: int, data_dir: Path) -> None:
    # Each run starts afresh; the last run's dir is kept until then for its
    # log. A dir this module did not make (no server.properties) is refused.
    if (data_dir / "server.properties").exists():
        shutil.rmtree(data_dir)
    kafka = ApacheKafka(data_dir, port=port)
    started = time.monotonic()
    kafka.start()
    print(f"Apache Kafka {kafka_version()} ready on {kafka.bootstrap} in "
          f"{time.monotonic() - started:.1f} s (log: {kafka.log_path})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        kafka.proc.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        kafka.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m compat.reference.apache_kafka",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="fetch Apache Kafka into build/ and print where its jars are")
    serve = commands.add_parser("serve", help="run one node in the foreground until Ctrl-C")
    serve.add_argument("--port", type=int, default=9092)
    serve.add_argument("--data-dir", type=Path, default=BUILD / "kafka-data",
                       help="wiped at start, kept after exit for its log")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(kafka_lib())
    else:
        _serve(args.port, args.data_dir)


if __name__ == "__main__":
    main()
