"""Shell completion (click's) of commands, and of topic and group names
asked of the broker the command line points at."""

import socket

from click.testing import CliRunner

from kgw.cli import main


def _complete(line: str, **env) -> list[str]:
    """What bash would offer for the last word of `line`."""
    words = line.split(" ")
    result = CliRunner(env={"_KGW_COMPLETE": "bash_complete", "COMP_WORDS": line,
                            "COMP_CWORD": str(len(words) - 1), **env}).invoke(main, [], prog_name="kgw")
    assert result.exit_code == 0, result.output
    return [item.split(",", 1)[1] for item in result.stdout.splitlines() if item]


def test_commands_and_options(broker):
    assert _complete("kgw to") == ["topics"]
    assert _complete("kgw topics ") == ["alter", "create", "delete", "describe", "list"]
    assert "--from-timestamp" in _complete("kgw consume t --from")


def test_topic_names_come_from_the_broker(kgw, broker, topic):
    kgw("topics", "create", f"{topic}-alpha")
    kgw("topics", "create", f"{topic}-beta")
    wanted = [f"{topic}-alpha", f"{topic}-beta"]
    for line in (f"kgw consume {topic}", f"kgw produce {topic}", f"kgw topics describe x {topic}",
                 f"kgw topics alter {topic}", f"kgw topics delete {topic}",
                 f"kgw groups reset-offsets g --topic {topic}"):
        assert _complete(line, KGW_BOOTSTRAP=broker.bootstrap) == wanted, line
    # -b on the command line is the broker asked.
    assert _complete(f"kgw consume -b {broker.bootstrap} {topic}-a") == [f"{topic}-alpha"]


def test_group_names_come_from_the_broker(kgw, broker, topic):
    group = f"{topic}-group"
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\n")
    kgw("consume", topic, "--group", group, "--from-beginning")
    env = {"KGW_BOOTSTRAP": broker.bootstrap}
    for line in (f"kgw groups describe {topic}", f"kgw groups delete {topic}",
                 f"kgw groups reset-offsets {topic}", f"kgw consume t --group {topic}"):
        assert _complete(line, **env) == [group], line


def test_no_broker_completes_nothing_and_says_nothing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _complete("kgw consume ", KGW_BOOTSTRAP=f"127.0.0.1:{port}") == []
