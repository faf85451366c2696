"""Building and running compat/go's scenario binary (kgwgo): one-shot
scenarios print one JSON document; long-running ones (group members,
producers) print JSON lines and take commands on stdin.

The module and build caches live under the repository's ignored build/
folder, so that CI and local runs reuse them; `python -m compat.go._go`
builds the binary, as `.ci/run` does before the suite."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..harness import ScenarioProcess, run_scenario

HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[1] / "build" / "go"
BINARY = BUILD / "kgwgo"
TIMEOUT_S = 120


def go_env() -> dict:
    return {**os.environ, "GOMODCACHE": str(BUILD / "mod"), "GOCACHE": str(BUILD / "cache"),
            "GOFLAGS": "-mod=mod -buildvcs=false", "CGO_ENABLED": "0"}


def build(go: str = "go") -> Path:
    """`go build` the scenarios (a no-op when nothing changed)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([go, "build", "-o", str(BINARY), "."], cwd=HERE, env=go_env(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed:\n{proc.stdout}{proc.stderr}")
    return BINARY


def _command(scenario: str, bootstrap: str, topic: str, options: dict) -> list[str]:
    return [str(BINARY), scenario, bootstrap, topic, json.dumps(options)]


def run(scenario: str, bootstrap: str, topic: str = "", *, check: bool = True, timeout: float = TIMEOUT_S,
        **options) -> dict:
    """Run one scenario to completion and return its JSON result."""
    return run_scenario(_command(scenario, bootstrap, topic, options), check=check, timeout=timeout)


class GoProcess(ScenarioProcess):
    """A long-running scenario; it fails fast on an error line or its end."""

    def __init__(self, scenario: str, bootstrap: str, topic: str = "", name: str = "", **options):
        super().__init__(_command(scenario, bootstrap, topic, options), name or scenario,
                         fail_fast=True)


if __name__ == "__main__":
    started = time.monotonic()
    print(f"built {build()} in {time.monotonic() - started:.1f}s", file=sys.stderr)
