import pytest

from ..harness import require_program


@pytest.fixture(autouse=True)
def kcat_path():
    """Every test here runs kcat (a failure in CI, a skip elsewhere)."""
    return require_program("kcat")
