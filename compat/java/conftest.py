import pytest

from ._jvm import JavaRunner, build


@pytest.fixture(scope="session")
def java_command():
    return build()


@pytest.fixture(scope="session")
def _session_runner(java_command):
    holder = {}
    yield holder
    if "runner" in holder:
        holder["runner"].close()


@pytest.fixture
def java(java_command, _session_runner) -> JavaRunner:
    """The session's scenario JVM, started again if a failed test killed it."""
    runner = _session_runner.get("runner")
    if runner is None or not runner.alive:
        runner = _session_runner["runner"] = JavaRunner(java_command)
    return runner
