"""These tests are about the plugin's own broker: undo compat/conftest.py's
child-process override of `kgw_broker`."""

import pytest

from kgw import EmbeddedBroker

from ..harness import require_kgw


@pytest.fixture(scope="session")
def kgw_broker():
    require_kgw("the embedded kgw_broker")
    with EmbeddedBroker() as broker:
        yield broker
