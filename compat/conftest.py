"""Fixtures shared by every client's compat tests, and the choice of the
broker under test: kgw, or Apache Kafka itself with KGW_BROKER=kafka."""

import itertools
import os

import pytest

from .harness import BROKER, CuttingProxy, KgwProcess, require_kgw

_names = itertools.count()
BROKERS = ("kgw", "kafka")


def pytest_configure(config):
    if BROKER not in BROKERS:
        raise pytest.UsageError(f"KGW_BROKER={BROKER!r}: the broker under test is one of {', '.join(BROKERS)}")


def pytest_collection_modifyitems(config, items):
    """Under Apache Kafka, skip the tests of what only kgw has, each with
    the reason its marker gives."""
    for item in items:
        marker = item.get_closest_marker("kgw_only")
        if marker is None:
            continue
        if len(marker.args) != 1 or not isinstance(marker.args[0], str) or marker.kwargs:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.kgw_only takes one reason string")
        if BROKER != "kgw":
            item.add_marker(pytest.mark.skip(reason=f"kgw only: {marker.args[0]}"))


@pytest.fixture(scope="session")
def kgw_broker(tmp_path_factory):
    """The pytest plugin's session broker, overridden here with the broker
    under test in a child process: `kgw serve`, or Apache Kafka
    (KGW_BROKER=kafka). The clients under test then share no interpreter
    with the broker, as in production."""
    if BROKER == "kafka":
        from .reference.apache_kafka import STOPPED_BY_SIGTERM, ApacheKafka

        kafka = ApacheKafka(tmp_path_factory.mktemp("kafka-data")).start()
        yield kafka
        assert kafka.stop() == STOPPED_BY_SIGTERM, f"see {kafka.log_path}"
        return
    server = KgwProcess(tmp_path_factory.mktemp("kgw-data")).start()
    yield server
    assert server.stop() == 0


@pytest.fixture
def own_kgw(tmp_path):
    """A broker of the test's own, free to be restarted or killed."""
    require_kgw("own_kgw")
    server = KgwProcess(tmp_path / "data").start()
    yield server
    if server.proc is not None:
        server.kill()


@pytest.fixture
def kgw_behind_proxy(tmp_path):
    """A broker that advertises a proxy in front of it, so that every client
    connection goes through the proxy and `proxy.cut()` severs them all."""
    require_kgw("kgw_behind_proxy")
    # The proxy needs the broker's port and the broker the proxy's: start
    # the broker once to learn a free port, then again advertising the proxy.
    probe = KgwProcess(tmp_path / "data").start()
    port = probe.port
    probe.stop()
    proxy = CuttingProxy("127.0.0.1", port)
    server = KgwProcess(tmp_path / "data", "--advertised-port", str(proxy.port), port=port).start()
    yield server, proxy
    proxy.close()
    server.kill()


@pytest.fixture
def topic_name(request):
    """A topic name unique across the session (and across parallel runs)."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:80]
    return f"{base}-{os.getpid()}-{next(_names)}"
