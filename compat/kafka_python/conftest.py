"""Fixtures for the kafka-python compat tests."""

import pytest

from ..harness import require


@pytest.fixture
def clients():
    """A factory of kafka-python clients; every client it made is closed at
    teardown and none of their threads may outlive the test."""
    require("kafka")
    from ._kp import checked_clients

    yield from checked_clients()


@pytest.fixture
def admin(kgw_bootstrap, clients):
    return clients.admin(kgw_bootstrap)

