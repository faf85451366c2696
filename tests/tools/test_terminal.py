"""`kgw` as a program: follow mode ended by Ctrl-C, progress on a terminal."""

import os
import pty
import signal
import subprocess
import sys

import pytest


@pytest.fixture
def run_env(broker):
    return {**os.environ, "KGW_BOOTSTRAP": broker.bootstrap}


def _committed(kgw, group) -> list[str]:
    """The CURRENT-OFFSET column of `kgw groups describe`."""
    result = kgw("groups", "describe", group)
    if result.exit_code:
        return []
    return [line.split()[2] for line in result.stdout.splitlines()[3:]]


def test_follow_prints_new_records_and_commits_on_ctrl_c(kgw, topic, run_env):
    group = f"{topic}-group"
    kgw("topics", "create", topic)
    kgw("produce", topic, input="before\n")
    proc = subprocess.Popen([sys.executable, "-m", "kgw", "consume", topic, "--follow",
                             "--group", group, "--from-beginning"], env=run_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Once it printed what was there, it is reading: what comes next is new.
        assert proc.stdout.readline() == b"before\n"
        kgw("produce", topic, input="one\ntwo\n")
        assert [proc.stdout.readline(), proc.stdout.readline()] == [b"one\n", b"two\n"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        proc.kill()
    assert proc.stderr.read() == b""
    assert _committed(kgw, group) == ["3"]


def _on_terminal(args, env) -> tuple[bytes, bytes]:
    """Run kgw with stderr on a pseudo-terminal; (stdout, what the terminal showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kgw", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the program is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out = proc.stdout.read()
    assert proc.wait(20) == 0
    return out, shown


def test_consume_with_a_count_shows_progress_on_a_terminal(kgw, topic, run_env):
    kgw("topics", "create", topic)
    kgw("produce", topic, input="a\nb\nc\n")
    out, shown = _on_terminal(["consume", topic, "--from-beginning", "--count", 3], run_env)
    assert out == b"a\nb\nc\n"
    assert f"{topic}  [".encode() in shown and b"3/3" in shown
    # Without a terminal there is no bar at all.
    quiet = kgw("consume", topic, "--from-beginning", "--count", 3)
    assert (quiet.stdout, quiet.stderr) == ("a\nb\nc\n", "")


def test_check_shows_progress_on_a_terminal(kgw, broker, run_env):
    out, shown = _on_terminal(["log", "check", broker.data_dir], run_env)
    assert b"checked " in out
    assert b"checking  [" in shown and b"100%" in shown
