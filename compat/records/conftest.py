import pytest

from ..harness import require


@pytest.fixture(autouse=True)
def _clients():
    """Every test here reads with kafka-python and confluent-kafka (a failure
    in CI, a skip elsewhere)."""
    require("kafka")
    require("confluent_kafka")
