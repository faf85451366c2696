"""Helpers for driving the Streams apps of kgw.compat.streams.StreamsScenarios."""

from ..harness import create_topic

READ_WAIT_MS = 90_000


def app_args(bootstrap: str, app: str, app_id: str, state_dir, **topics_and_config) -> dict:
    return dict(bootstrap=bootstrap, app=app, appId=app_id, stateDir=str(state_dir), **topics_and_config)


def create_topics(bootstrap: str, partitions: int, *names: str) -> None:
    for name in names:
        create_topic(bootstrap, name, partitions)


def read_table(jvm, bootstrap: str, topic: str, expected: dict, value_type: str = "string") -> dict:
    """The output's latest value per key, read with read_committed once it
    equals `expected` (or after READ_WAIT_MS): the test asserts on it."""
    return jvm.call("streams_read", bootstrap=bootstrap, topic=topic, expected=expected, valueType=value_type,
                    waitMs=READ_WAIT_MS, timeout=READ_WAIT_MS / 1000 + 60)


def assert_counts_only_grew(history: dict, final: dict) -> None:
    """Each key's committed counts rise one update at a time to the final
    count and never past it: nothing was counted twice, even briefly."""
    for word, values in history.items():
        numbers = [int(v) for v in values]
        assert numbers == sorted(set(numbers)), (word, numbers)
        assert numbers[-1] == int(final[word]), (word, numbers)
