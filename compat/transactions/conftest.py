"""Fixtures for the transaction compat tests."""

import pytest

# Plain asserts in the shared helpers explain themselves too.
pytest.register_assert_rewrite("compat.transactions._util")

from .. import harness  # noqa: E402
from ._util import unique  # noqa: E402


@pytest.fixture
def kp():
    """A factory of kafka-python clients (compat/kafka_python/_kp.py): every
    client it made is closed at teardown, and none of their threads may
    outlive the test."""
    harness.require("kafka")
    from ..kafka_python._kp import checked_clients

    yield from checked_clients()


@pytest.fixture
def output_topic(kgw_bootstrap, kgw_topic):
    """A second topic (1 partition) next to kgw_topic, for consume-transform-produce."""
    name = f"{kgw_topic}-out"
    harness.create_topic(kgw_bootstrap, name, 1)
    return name


@pytest.fixture
def txn_id(request):
    """A transactional id unique across the session and runs."""
    return unique(f"txn-{request.node.name[:40]}")


@pytest.fixture
def group_id(request):
    return unique(f"g-{request.node.name[:40]}")
