import pytest

from ..java._jvm import JavaRunner, build


@pytest.fixture(scope="session")
def java_command():
    return build()


@pytest.fixture
def streams_jvm(java_command):
    """A JVM of the test's own for its Kafka Streams instances (closed, and
    with it every instance still running, at the end of the test)."""
    runner = JavaRunner(java_command, name="streams")
    yield runner
    runner.close()
