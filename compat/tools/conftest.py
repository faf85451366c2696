"""The `kgw` tools against a `kgw serve` process, next to real clients."""

import pytest
from click.testing import CliRunner

from kgw.cli import main


@pytest.fixture
def cli(kgw_bootstrap):
    """Run `kgw ARGS...` in-process against the session's broker."""
    runner = CliRunner(env={"KGW_BOOTSTRAP": kgw_bootstrap})

    def run(*args, input=None):
        result = runner.invoke(main, [str(a) for a in args], input=input, prog_name="kgw")
        return result

    return run
