"""Fixtures shared by every client's compat tests."""

import itertools
import os

import pytest

from .harness import CuttingProxy, KgwProcess

_names = itertools.count()


@pytest.fixture(scope="session")
def kgw_broker(tmp_path_factory):
    """The pytest plugin's session broker, here a `kgw serve` child process
    (as the README shows, overriding it points the plugin's fixtures at
    another broker): the clients under test then share no interpreter
    with the broker, as in production."""
    server = KgwProcess(tmp_path_factory.mktemp("kgw-data")).start()
    yield server
    assert server.stop() == 0


@pytest.fixture
def own_kgw(tmp_path):
    """A broker of the test's own, free to be restarted or killed."""
    server = KgwProcess(tmp_path / "data").start()
    yield server
    if server.proc is not None:
        server.kill()


@pytest.fixture
def kgw_behind_proxy(tmp_path):
    """A broker that advertises a proxy in front of it, so that every client
    connection goes through the proxy and `proxy.cut()` severs them all."""
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
