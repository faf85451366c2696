"""The Dockerfile's commands, run for real in a fresh virtual environment.

No container engine runs where these tests do, so this reads the
Dockerfile and does what a build and a `docker run` would: copy what the
COPY lines name, run the `pip install` RUN line into a new venv (with the
image's /src mapped into a temporary directory, and its `rm -rf` too, which
proves the installed kgw needs nothing of the source tree), then start the
ENTRYPOINT + CMD with the Dockerfile's ENV and ask it what a client asks,
run the HEALTHCHECK command against it, and stop it with SIGTERM.

The venv is made without pip (`--without-pip`, instant) and installed into
by this interpreter's pip (`pip --python VENV`): the RUN line's install
exactly, with its dependencies resolved from the package index, as in a
build, but without the seconds ensurepip would take.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from compat.harness import READY
from protocol.connection import NEED_DATA, ClientConnection
from protocol.messages import API_VERSIONS, METADATA

# Kafka refuses ApiVersions v3+ without a client software name and version (KIP-511).
NAMED_API_VERSIONS = API_VERSIONS.Request(client_software_name="kgw-tests", client_software_version="1")


REPO = Path(__file__).resolve().parent.parent


def parse(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuations joined."""
    instructions = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def one(instructions, keyword: str) -> str:
    found = [rest for kw, rest in instructions if kw == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def exec_form(rest: str) -> list[str]:
    """A JSON-array command: the form that runs without a shell, as PID 1."""
    command = json.loads(rest)
    assert isinstance(command, list) and all(isinstance(arg, str) for arg in command), rest
    return command


@pytest.fixture(scope="module")
def dockerfile():
    return parse((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def image(dockerfile, tmp_path_factory):
    """The image's root: a tmp dir standing for "/", with a venv as its Python."""
    root = tmp_path_factory.mktemp("image")
    for rest in (rest for kw, rest in dockerfile if kw == "COPY"):
        *sources, dest = shlex.split(rest)
        target = root / dest.lstrip("/")
        for source in sources:
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                assert dest.endswith("/"), f"COPY {rest}: copy files into a directory"
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / source, target)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    installs = [rest for kw, rest in dockerfile if kw == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    for command in installs[0].split("&&"):
        _run_in_image(shlex.split(command), root, venv)
    return root, venv


def _run_in_image(argv: list[str], root: Path, venv: Path) -> None:
    def mapped(arg):
        return str(root / arg.lstrip("/")) if arg.startswith("/") else arg

    if argv[:2] == ["pip", "install"]:
        command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                   *map(mapped, argv[2:])]
        subprocess.run(command, check=True, capture_output=True)
    elif argv[:2] == ["rm", "-rf"] and all(arg.startswith("/") for arg in argv[2:]):
        for path in argv[2:]:
            shutil.rmtree(mapped(path))
    else:
        pytest.fail(f"the install RUN line has a command this test cannot stand in for: {argv}")


def test_base_user_volume_and_exec_form(dockerfile):
    assert one(dockerfile, "FROM") == "python:3.11-slim"
    user = one(dockerfile, "USER")
    assert user not in ("root", "0")
    creates_user = [rest for kw, rest in dockerfile if kw == "RUN" and "useradd" in rest]
    assert len(creates_user) == 1 and shlex.split(creates_user[0].split("&&")[0])[-1] == user
    assert "chown kgw:kgw /data" in creates_user[0]
    assert one(dockerfile, "VOLUME") == "/data" and one(dockerfile, "WORKDIR") == "/data"
    # The VOLUME must come after the RUN that gives /data to the user:
    # changes to a volume's path after its declaration are discarded.
    keywords = [kw for kw, _ in dockerfile]
    assert keywords.index("VOLUME") > keywords.index("RUN", keywords.index("RUN") + 1)
    assert one(dockerfile, "EXPOSE") == "9092"
    assert one(dockerfile, "STOPSIGNAL") == "SIGTERM"
    assert exec_form(one(dockerfile, "ENTRYPOINT")) + exec_form(one(dockerfile, "CMD")) == ["kgw", "serve"]
    ignored = (REPO / ".dockerignore").read_text().split()
    for rest in (rest for kw, rest in dockerfile if kw == "COPY"):
        for source in shlex.split(rest)[:-1]:
            assert f"!{source}" in ignored, f"{source} is COPYed but left out of the build context"


def test_installed_image_serves_answers_health_checks_and_stops_on_sigterm(dockerfile, image, tmp_path):
    root, venv = image
    assert not (root / "src").exists()
    env_text = one(dockerfile, "ENV")
    image_env = dict(pair.split("=", 1) for pair in shlex.split(env_text))
    assert image_env["KGW_HOST"] == "0.0.0.0" and image_env["KGW_PORT"] == "9092"
    data = root / image_env["KGW_DATA_DIR"].lstrip("/")
    data.mkdir()
    # Port 0 rather than 9092, which something else on this machine may hold;
    # metrics on, as `docker run -e KGW_METRICS_PORT=...` would ask.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), **image_env,
           "KGW_PORT": "0", "KGW_DATA_DIR": str(data), "KGW_METRICS_PORT": "0"}
    argv = exec_form(one(dockerfile, "ENTRYPOINT")) + exec_form(one(dockerfile, "CMD"))
    proc = subprocess.Popen([str(venv / "bin" / argv[0]), *argv[1:]], env=env, cwd=data,
                            stderr=subprocess.PIPE, text=True)
    try:
        log = []
        for ready in proc.stderr:
            log.append(ready)
            if READY.search(ready):
                break
        else:
            pytest.fail("kgw exited without getting ready:\n" + "".join(log))
        host, port = READY.search(ready).groups()
        port = int(port)
        assert host == "0.0.0.0"

        api_versions, brokers = _ask(port)
        assert api_versions.error_code == 0 and api_versions.api_keys
        assert [(b.host, b.port) for b in brokers] == [(image_env["KGW_ADVERTISED_HOST"], port)]
        metrics_port = re.search(r"metrics on http://0\.0\.0\.0:(\d+)/metrics", ready).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
            assert 'kgw_requests_total{api="Metadata"} 1.0' in page.read().decode().splitlines()

        health = exec_form(one(dockerfile, "HEALTHCHECK").split(" CMD ", 1)[1])
        health_env = {**env, "KGW_BOOTSTRAP": f"127.0.0.1:{port}"}
        checked = subprocess.run(health, env=health_env, capture_output=True, text=True)
        assert (checked.returncode, checked.stderr) == (0, "")
        assert checked.stdout.startswith(f"127.0.0.1:{port} is healthy")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert ".kgw-clean-shutdown" in os.listdir(data)

        checked = subprocess.run(health, env=health_env, capture_output=True, text=True)
        assert checked.returncode == 1 and checked.stdout == ""
        assert checked.stderr.splitlines() == [
            f"Error: 127.0.0.1:{port} is not healthy: [Errno 111] Connection refused"]
    finally:
        proc.kill()
        proc.stderr.close()


def _ask(port: int):
    """ApiVersions, then Metadata's brokers, as a client's first two requests."""
    client = ClientConnection("docker-test")
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for api, version, body in ((API_VERSIONS, 3, NAMED_API_VERSIONS),
                                   (METADATA, 12, METADATA.Request(topics=None))):
            sock.sendall(client.send_request(api.key, version, body)[1])
            while (response := client.next_response()) is NEED_DATA:
                client.receive_data(sock.recv(65536))
            answers.append(response.body)
    return answers[0], answers[1].brokers
