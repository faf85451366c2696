"""Fixtures for the consumer-group compat tests."""

import pytest

# Plain asserts in the shared scenario code explain themselves too.
pytest.register_assert_rewrite("compat.groups._scenarios", "compat.groups._util")

from ..harness import require, require_program  # noqa: E402
from ._util import KcatMember, PythonMember  # noqa: E402

# Which library each member kind needs.
NEEDS = {"kafka-python": "kafka", "aiokafka": "aiokafka", "confluent": "confluent_kafka"}


def require_client(client: str):
    if client == "kcat":
        require_program("kcat")
    else:
        require(NEEDS[client])


@pytest.fixture
def members():
    """A factory of group members in child processes; any member still
    running at teardown is killed, and all pipes are closed."""
    made = []

    def make(name, client, bootstrap, group, topic, **kw):
        if client == "kcat":
            member = KcatMember(name, bootstrap, group, topic, **kw)
        else:
            member = PythonMember(name, client, bootstrap, group, topic, **kw)
        made.append(member)
        return member

    yield make
    for member in made:
        member.cleanup()


@pytest.fixture
def group_name(topic_name):
    return f"g-{topic_name}"
