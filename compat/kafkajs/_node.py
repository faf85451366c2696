"""Running compat/kafkajs/scenarios.js with node: one-shot scenarios that
print one JSON document, and long-running ones (group members, producers)
that print JSON lines and take commands on stdin."""

import json
import os
import time
from pathlib import Path

import pytest

from ..harness import ScenarioProcess, require_program, run_scenario

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "scenarios.js"
TIMEOUT_S = 60
ENV = {**os.environ, "KAFKAJS_NO_PARTITIONER_WARNING": "1"}


def require_kafkajs() -> str:
    """node and the npm-installed kafkajs (a failure in CI, a skip elsewhere)."""
    node = require_program("node")
    if not (HERE / "node_modules" / "kafkajs" / "package.json").exists():
        message = "compat/kafkajs/node_modules is missing: run `npm ci` in compat/kafkajs"
        if os.environ.get("KGW_REQUIRE_CLIENTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return node


def run(scenario: str, bootstrap: str, topic: str, *, check: bool = True, timeout: float = TIMEOUT_S,
        **options) -> dict:
    """Run one scenario to completion and return its JSON result."""
    return run_scenario(["node", str(SCRIPT), scenario, bootstrap, topic, json.dumps(options)],
                        check=check, timeout=timeout, env=ENV, cwd=HERE)


class NodeProcess(ScenarioProcess):
    """A long-running scenario of scenarios.js."""

    def __init__(self, scenario: str, bootstrap: str, topic: str, **options):
        super().__init__(["node", str(SCRIPT), scenario, bootstrap, topic, json.dumps(options)],
                         options.get("clientId", scenario), env=ENV, cwd=HERE)


def standard_messages(prefix: str, count: int, partition: int = 0, first_offset: int = 0) -> list[dict]:
    """What scenarios.js's standardMessages() sends, as the consumer prints
    it (without the timestamp)."""
    messages = []
    for i in range(count):
        headers = {"h": f"v{i}", "multi": ["a", "b"], "bin": "hex:00ff01", "empty": ""} if i % 2 == 0 else {}
        messages.append({
            "partition": partition,
            "offset": first_offset + i,
            "key": None if i % 3 == 0 else f"k{i}",
            "value": None if i % 5 == 3 else f"{prefix}-{i}-" + "abcd" * (50 if i % 4 == 0 else 1),
            "headers": headers,
        })
    return messages


def without_timestamps(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "timestamp"} for m in messages]


def now_ms() -> int:
    return int(time.time() * 1000)
