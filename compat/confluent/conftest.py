import pytest

from ..harness import require


@pytest.fixture(autouse=True)
def _confluent_kafka():
    """Every test here needs confluent-kafka (a failure in CI, a skip elsewhere)."""
    return require("confluent_kafka")
