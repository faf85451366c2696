"""Fixtures of the log tests: a fake clock and managers on one data directory."""

import pytest

from kgw.log import LogManager

from .helpers import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def managers(tmp_path, clock):
    """Open managers on one data directory; all left open are closed at the end."""
    opened = []

    def open_manager(**kwargs) -> LogManager:
        kwargs.setdefault("clock", clock)
        manager = LogManager(tmp_path / "data", **kwargs)
        manager.open()
        opened.append(manager)
        return manager

    yield open_manager
    for manager in opened:
        if manager._lock is not None:
            manager.close()
