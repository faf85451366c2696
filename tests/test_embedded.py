"""kgw.EmbeddedBroker: a broker on a thread of the test process."""

import gc
import os
import re
import subprocess
import sys
import tempfile
import threading

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

import kgw
from kgw.embedded import EmbeddedBroker
from kgw.topic_admin import create_topic

CYCLES = 20


# Leaks are what appears: threads and descriptors that earlier tests left to
# the collector or to trio's idle-thread timeout may vanish meanwhile.
def _open_fds() -> dict[int, str]:
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:
            pass  # the descriptor listdir itself used, closed by now
    return fds


def _threads() -> set[tuple[int, str]]:
    return {(t.ident, t.name) for t in threading.enumerate()}


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """Where the brokers' temporary data directories go, to see them go."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_started_and_stopped_many_times_leaves_no_thread_fd_or_file(temp_root):
    threads, fds = _threads(), _open_fds()
    ports = set()
    for cycle in range(CYCLES):
        with EmbeddedBroker() as broker:
            host, port = broker.bootstrap.split(":")
            assert (host, int(port)) == (broker.host, broker.port)
            assert host == "127.0.0.1"
            assert broker.data_dir.parent == temp_root
            # One request served, so a connection is accepted and closed.
            create_topic(broker.bootstrap, f"t{cycle}", partitions=2)
            assert sorted(p.name for p in broker.data_dir.glob("t*-*")) == [f"t{cycle}-0", f"t{cycle}-1"]
            ports.add(port)
        assert os.listdir(temp_root) == []
        assert _threads() - threads == set()
        assert _open_fds().items() - fds.items() == set()
    assert len(ports) > 1  # a fresh ephemeral port each time, not a fixed one


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    try:
        for value in values:
            producer.send(topic, value=value)
        producer.flush(10)
    finally:
        producer.close()


def _consume(bootstrap: str, topic: str, count: int) -> list[tuple[int, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=50, consumer_timeout_ms=10_000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        records = []
        for record in consumer:
            records.append((record.offset, record.value))
            if len(records) == count:
                break
        return records
    finally:
        consumer.close()


def test_a_given_data_dir_is_kept_and_reopened(tmp_path):
    data = tmp_path / "data"
    with EmbeddedBroker(data) as broker:
        assert broker.data_dir == data
        _produce(broker.bootstrap, "events", [b"a", b"b", b"c"])
        assert _consume(broker.bootstrap, "events", 3) == [(0, b"a"), (1, b"b"), (2, b"c")]
    assert (data / "events-0").is_dir()
    with EmbeddedBroker(data) as broker:
        _produce(broker.bootstrap, "events", [b"d"])
        assert _consume(broker.bootstrap, "events", 4) == [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]
    assert (data / "events-0").is_dir()


def test_settings_reach_the_broker(temp_root):
    with EmbeddedBroker(num_partitions=4, auto_create_topics=False) as broker:
        assert broker.config.num_partitions == 4
        assert broker.config.auto_create_topics is False
        # The temporary directory is not worth an fsync...
        assert broker.config.flush == "never"
    with EmbeddedBroker(temp_root / "kept") as broker:
        # ...a kept one keeps kgw serve's default.
        assert broker.config.flush == "acks"


def test_a_broker_that_cannot_start_raises_and_leaves_nothing(tmp_path, temp_root):
    data = tmp_path / "data"
    with EmbeddedBroker(data):
        threads, fds = _threads(), _open_fds()
        second = EmbeddedBroker(data)
        with pytest.raises(RuntimeError, match=re.escape(
                f"failed: data dir {data} is in use by another kgw (PID {os.getpid()}, this process)")):
            second.start()
        # The lock file's descriptor belongs to an object in the failure's
        # traceback, whose frames form cycles: it goes with the collector.
        gc.collect()
        assert _threads() - threads == set()
        assert _open_fds().items() - fds.items() == set()
        with pytest.raises(RuntimeError, match="not running"):
            second.bootstrap


def test_misuse_is_refused_at_once():
    with pytest.raises(TypeError, match="no_such_setting"):
        EmbeddedBroker(no_such_setting=1)
    broker = EmbeddedBroker()
    with pytest.raises(RuntimeError, match="not running"):
        broker.bootstrap
    broker.stop()  # stopping a broker never started does nothing
    with broker:
        with pytest.raises(RuntimeError, match="already running"):
            broker.start()


def test_import_kgw_stays_light():
    code = ("import sys, kgw, kgw.pytest_plugin; "
            "print(sorted(m for m in ('trio', 'kgw.server', 'protocol') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"
    assert kgw.EmbeddedBroker is EmbeddedBroker


def test_a_first_start_imports_nothing():
    """Everything a broker runs is imported with kgw.embedded, so that the
    first start in a process costs what later ones do (the start-up figure
    is in the README; bench/embedded_startup.py)."""
    script = (
        "import sys\n"
        "from kgw.embedded import EmbeddedBroker\n"
        "before = set(sys.modules)\n"
        "EmbeddedBroker().start().stop()\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.split() == []


def test_a_temporary_data_dir_is_started_and_committed_to_without_fsync(monkeypatch, tmp_path):
    """It is deleted at stop: fsync would only cost time (the files of a new
    data directory, every offset commit). A kept one is fsynced as by kgw
    serve."""
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    with EmbeddedBroker() as broker:
        assert calls == []
        create_topic(broker.bootstrap, "t")
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="g", enable_auto_commit=False)
        consumer.assign([TopicPartition("t", 0)])
        calls.clear()
        consumer.commit({TopicPartition("t", 0): OffsetAndMetadata(0, "", -1)})
        assert consumer.committed(TopicPartition("t", 0)) == 0
        consumer.close()
        assert calls == []
    with EmbeddedBroker(tmp_path / "kept"):
        assert calls != []
