"""Fixtures for the kafka-python compat tests."""

import pytest

from ..harness import require


@pytest.fixture
def clients():
    """A factory of kafka-python clients; every client it made is closed at
    teardown and none of their threads may outlive the test."""
    require("kafka")
    from ._kp import Clients

    made = Clients()
    yield made
    errors = made.close_all()
    assert not errors, f"closing kafka-python clients failed: {errors}"
    lingering = made.lingering_threads()
    assert not lingering, f"kafka-python threads still running after close: {lingering}"


@pytest.fixture
def admin(kgw_bootstrap, clients):
    return clients.admin(kgw_bootstrap)

