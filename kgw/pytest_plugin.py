"""kgw's pytest plugin (entry point `pytest11`): a broker for the session
and a fresh topic per test.

    def test_roundtrip(kgw_bootstrap, kgw_topic): ...

    @pytest.mark.kgw_topic(partitions=3)
    def test_keys_spread(kgw_bootstrap, kgw_topic): ...

Every pytest in an environment with kgw installed loads this module, so it
imports nothing heavy: the broker starts only when a test asks for it.
Overriding `kgw_bootstrap` in a conftest points the topics at any other
Kafka-compatible broker.
"""

import re
import uuid
from collections.abc import Iterator

import pytest

MARKER = "kgw_topic"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(partitions=1, configs=None): how the test's kgw_topic is created "
                   "(partition count; topic configs such as {'retention.ms': '1000'})")


@pytest.fixture(scope="session")
def kgw_broker():
    """An embedded kgw (`kgw.EmbeddedBroker`) running for the whole session,
    on a free port of 127.0.0.1 with a temporary data directory."""
    from kgw.embedded import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def kgw_bootstrap(kgw_broker) -> str:
    """The session broker's "host:port", for `bootstrap_servers`."""
    return kgw_broker.bootstrap


@pytest.fixture(scope="session")
def kgw_sasl(kgw_broker):
    """How `kgw_topic` authenticates (`kgw.tools.sasl.Credentials`), or None:
    PLAIN as the first of the session broker's `sasl_users`, if it has any.
    Override it for another broker that requires SASL."""
    from kgw.tools.sasl import Credentials

    users = getattr(getattr(kgw_broker, "config", None), "sasl_users", None)
    if not users:
        return None
    name, password = next(iter(users.items()))
    return Credentials("PLAIN", name, password)


@pytest.fixture
def kgw_topic(request, kgw_bootstrap, kgw_sasl) -> Iterator[str]:
    """The name of a topic created for this test alone and deleted after it:
    one partition unless `@pytest.mark.kgw_topic(partitions=N)` says more."""
    from kgw.topic_admin import TopicAdminError, create_topic, delete_topic
    from protocol.error_codes import ErrorCode

    partitions, configs = _topic_spec(request.node.get_closest_marker(MARKER))
    name = _topic_name(request.node.name)
    create_topic(kgw_bootstrap, name, partitions, configs, sasl=kgw_sasl)
    yield name
    # Deleted rather than left to the end of the session: each partition
    # holds open segment files, and a long suite would run out of them.
    try:
        delete_topic(kgw_bootstrap, name, sasl=kgw_sasl)
    except TopicAdminError as exc:
        if exc.code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            raise


def _topic_spec(marker) -> tuple[int, dict[str, str] | None]:
    if marker is None:
        return 1, None
    unknown = sorted(set(marker.kwargs) - {"partitions", "configs"})
    if marker.args or unknown:
        pytest.fail(f"@pytest.mark.{MARKER} takes only partitions= and configs=, "
                    f"not {', '.join([*map(repr, marker.args), *unknown])}", pytrace=False)
    return marker.kwargs.get("partitions", 1), marker.kwargs.get("configs")


def _topic_name(test_name: str) -> str:
    # Kafka's legal characters but '.', which Kafka treats as colliding
    # with '_'. The random suffix keeps names apart across runs against a
    # broker whose data outlives the session.
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")[:200]
    return f"{base}-{uuid.uuid4().hex[:12]}"
