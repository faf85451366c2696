"""These tests are about the plugin's own broker: undo compat/conftest.py's
child-process override of `kgw_broker`."""

import pytest

from kgw import EmbeddedBroker


@pytest.fixture(scope="session")
def kgw_broker():
    with EmbeddedBroker() as broker:
        yield broker
