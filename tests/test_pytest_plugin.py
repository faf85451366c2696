"""kgw's pytest plugin, in a pytest run of its own (pytester)."""

import pytest

from kgw.pytest_plugin import _topic_name

pytest_plugins = ["pytester"]

# The inner run's tests: they look at the broker through kafka-python, so
# they check what any client would see.
FIXTURE_TESTS = """
import pytest
from kafka import KafkaConsumer

from kgw.embedded import EmbeddedBroker

topics = []


def _client(bootstrap):
    return KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000)


def test_broker_and_bootstrap(kgw_broker, kgw_bootstrap):
    assert isinstance(kgw_broker, EmbeddedBroker)
    assert kgw_bootstrap == kgw_broker.bootstrap


def test_one_partition_by_default(kgw_bootstrap, kgw_topic):
    topics.append(kgw_topic)
    assert kgw_topic.startswith("test_one_partition_by_default-")
    client = _client(kgw_bootstrap)
    assert client.partitions_for_topic(kgw_topic) == {0}
    client.close()


@pytest.mark.kgw_topic(partitions=3, configs={"retention.ms": "60000"})
def test_marker(kgw_bootstrap, kgw_topic):
    topics.append(kgw_topic)
    client = _client(kgw_bootstrap)
    assert client.partitions_for_topic(kgw_topic) == {0, 1, 2}
    client.close()


def test_each_test_had_its_own_topic_and_it_is_gone(kgw_bootstrap):
    assert len(set(topics)) == 2
    client = _client(kgw_bootstrap)
    assert set(topics) & client.topics() == set()
    client.close()


@pytest.mark.kgw_topic(partitons=3)
def test_misspelt_marker(kgw_topic):
    pass
"""


def test_fixtures_and_marker_in_a_fresh_run(pytester):
    pytester.makepyfile(FIXTURE_TESTS)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["@pytest.mark.kgw_topic takes only partitions= and configs=, not partitons"])


def test_the_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.kgw_topic(partitions=1, configs=None): *"])


@pytest.mark.parametrize("test_name, base", [
    ("test_plain", "test_plain"),
    ("test_case[a.b_c/d]", "test_case-a-b_c-d"),
    ("x" * 300, "x" * 200),
])
def test_topic_names_are_legal_and_unique(test_name, base):
    first, second = _topic_name(test_name), _topic_name(test_name)
    assert first != second
    assert first.rsplit("-", 1)[0] == base
    assert len(first) <= 249


SASL_CONFTEST = """
import pytest

from kgw.embedded import EmbeddedBroker


@pytest.fixture(scope="session")
def kgw_broker():
    with EmbeddedBroker(sasl_users={"alice": "s3cret", "bob": "pw"}) as broker:
        yield broker
"""

SASL_TESTS = """
from kafka import KafkaConsumer

from kgw.tools.sasl import Credentials


def test_topics_on_a_broker_that_requires_sasl(kgw_bootstrap, kgw_topic, kgw_sasl):
    assert kgw_sasl == Credentials("PLAIN", "alice", "s3cret")
    client = KafkaConsumer(bootstrap_servers=kgw_bootstrap, security_protocol="SASL_PLAINTEXT",
                           sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="bob",
                           sasl_plain_password="pw", request_timeout_ms=5000)
    assert client.partitions_for_topic(kgw_topic) == {0}
    client.close()
"""


def test_kgw_topic_authenticates_to_a_broker_that_requires_sasl(pytester):
    pytester.makeconftest(SASL_CONFTEST)
    pytester.makepyfile(SASL_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
