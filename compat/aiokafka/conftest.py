"""Every aiokafka test needs the client: a skip locally, a failure in CI."""

import pytest

from ..harness import require


@pytest.fixture(autouse=True)
def _aiokafka_installed():
    require("aiokafka")
