import pytest

from ..harness import require_program
from ._go import build


@pytest.fixture(scope="session")
def kgwgo_binary():
    """The scenario binary, built once per session (a missing `go` fails in
    CI and skips elsewhere)."""
    return build(require_program("go"))


@pytest.fixture(autouse=True)
def kgwgo(kgwgo_binary):
    return kgwgo_binary
