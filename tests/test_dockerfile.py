"""The Dockerfile, checked without a container engine (none runs where
these tests do).

Statically: a pinned base image, the user made before anything is
installed, the dependencies in a layer that only the package metadata
feeds, no layer holding the source, the ports exposed, OCI labels that
agree with setup.cfg, a healthcheck that follows KGW_PORT.

For real: the build's RUN lines are done as a build would do them, in a
fresh virtual environment (bind mounts mapped to copies of the build
context or of the `metadata` stage, `rw` ones discarded afterwards), then
the ENTRYPOINT + CMD is started with the Dockerfile's ENV and asked what a
client asks, the HEALTHCHECK command is run against it, and it is stopped
with SIGTERM.

The venv is made without pip (`--without-pip`, instant) and installed into
by this interpreter's pip (`pip --python VENV`): the RUN lines' installs
exactly, with dependencies resolved from the package index, as in a build.
"""

import configparser
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
SETUP = configparser.ConfigParser()
SETUP.read(REPO / "setup.cfg")


def parse(text: str) -> list[list[tuple[str, str]]]:
    """The build stages, each a list of (INSTRUCTION, arguments), with
    continuations joined; a stage starts at its FROM."""
    stages: list[list[tuple[str, str]]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            if keyword.upper() == "FROM":
                stages.append([])
            stages[-1].append((keyword.upper(), rest.strip()))
    return stages


def every(instructions, keyword: str) -> list[str]:
    return [rest for kw, rest in instructions if kw == keyword]


def one(instructions, keyword: str) -> str:
    found = every(instructions, keyword)
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def exec_form(rest: str) -> list[str]:
    """A JSON-array command: the form that runs without a shell, as PID 1."""
    command = json.loads(rest)
    assert isinstance(command, list) and all(isinstance(arg, str) for arg in command), rest
    return command


def stage_name(stage) -> str | None:
    words = stage[0][1].split()
    return words[2] if len(words) == 3 and words[1].upper() == "AS" else None


def run_parts(rest: str) -> tuple[list[dict], list[list[str]]]:
    """A RUN's --mount options (as dicts) and its &&-separated commands."""
    words = shlex.split(rest)
    mounts = []
    while words and words[0].startswith("--mount="):
        spec = {}
        for item in words.pop(0).removeprefix("--mount=").split(","):
            key, _, value = item.partition("=")
            spec[key] = value or True
        mounts.append(spec)
    commands, current = [], []
    for word in words:
        if word == "&&":
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    return mounts, commands


@pytest.fixture(scope="module")
def stages():
    return parse((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def final(stages):
    return stages[-1]


@pytest.fixture(scope="module")
def image_env(final) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(one(final, "ENV")))


def test_the_base_image_is_pinned(stages):
    for stage in stages:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image), image
    assert len({stage[0][1].split()[0] for stage in stages}) == 1


def test_user_volume_and_exec_form(final):
    user = one(final, "USER")
    assert user not in ("root", "0")
    runs = every(final, "RUN")
    creates_user = [rest for rest in runs if "useradd" in rest]
    assert len(creates_user) == 1 and shlex.split(creates_user[0].split("&&")[0])[-1] == user
    assert "chown kgw:kgw /data" in creates_user[0]
    # The user comes first: it never changes, so its layer is never rebuilt.
    assert runs[0] == creates_user[0]
    assert one(final, "VOLUME") == "/data" and one(final, "WORKDIR") == "/data"
    # The VOLUME must come after the RUN that gives /data to the user:
    # changes to a volume's path after its declaration are discarded.
    keywords = [kw for kw, _ in final]
    assert keywords.index("VOLUME") > len(keywords) - 1 - keywords[::-1].index("RUN")
    assert one(final, "STOPSIGNAL") == "SIGTERM"
    assert exec_form(one(final, "ENTRYPOINT")) + exec_form(one(final, "CMD")) == ["kgw", "serve"]


def test_dependencies_apart_and_no_layer_holding_the_source(stages, final):
    """A change to the source rebuilds only kgw's own small layer, and no
    layer keeps a copy of the source (removing it in a later layer would
    free nothing)."""
    assert every(final, "COPY") == [] and every(final, "ADD") == []
    installs = [run_parts(rest) for rest in every(final, "RUN") if "pip" in rest]
    assert [[c[:2] for c in commands] for _, commands in installs] == [
        [["pip", "install"], ["pip", "uninstall"]], [["pip", "install"]]]
    (deps_mount,), deps_commands = installs[0]
    (source_mount,), source_commands = installs[1]
    # The dependencies: from the metadata stage, which holds only the
    # package's metadata files.
    (metadata,) = [s for s in stages if stage_name(s) == deps_mount["from"]]
    assert every(metadata, "COPY") == ["pyproject.toml setup.cfg /metadata/"]
    assert deps_mount["source"] == "/metadata"
    assert "--no-deps" not in deps_commands[0] and deps_commands[1][-1] == "kgw"
    # kgw itself: the build context, mounted for that one command.
    assert "from" not in source_mount and "source" not in source_mount
    assert "--no-deps" in source_commands[0]
    for mount, _ in installs:
        assert mount[0]["type"] == "bind" and mount[0].get("rw") is True, "writes must be discarded"
    assert not any("rm " in rest for rest in every(final, "RUN"))
    ignored = (REPO / ".dockerignore").read_text().split()
    for source in ("pyproject.toml", "setup.cfg", "README.md", "protocol", "kgw"):
        assert f"!{source}" in ignored, f"{source} is left out of the build context"


def test_ports_labels_and_healthcheck(final, image_env):
    assert one(final, "EXPOSE").split() == [image_env["KGW_PORT"], image_env["KGW_METRICS_PORT"]]
    labels = dict(pair.split("=", 1) for pair in shlex.split(" ".join(every(final, "LABEL"))))
    assert labels["org.opencontainers.image.title"] == SETUP["metadata"]["name"]
    assert labels["org.opencontainers.image.version"] == SETUP["metadata"]["version"]
    assert labels["org.opencontainers.image.licenses"] == SETUP["metadata"]["license"]
    assert labels["org.opencontainers.image.description"]
    # The healthcheck names no address: `kgw health` goes where KGW_HOST and
    # KGW_PORT say the broker listens, so `-e KGW_PORT=...` moves both.
    assert "KGW_BOOTSTRAP" not in image_env
    assert exec_form(one(final, "HEALTHCHECK").split(" CMD ", 1)[1]) == ["kgw", "health"]


def test_the_readme_says_how_to_map_another_port():
    readme = (REPO / "README.md").read_text()
    assert "-p 19092:9092 -e KGW_ADVERTISED_PORT=19092" in readme


@pytest.fixture(scope="module")
def image(stages, final, tmp_path_factory):
    """The image's root: a tmp dir standing for "/", with a venv as its Python."""
    root = tmp_path_factory.mktemp("image")
    context = root / "context"
    for name in (REPO / ".dockerignore").read_text().split():
        if name.startswith("!"):
            source = REPO / name[1:]
            if source.is_dir():
                shutil.copytree(source, context / name[1:], ignore=shutil.ignore_patterns("__pycache__"))
            else:
                context.mkdir(exist_ok=True)
                shutil.copy(source, context)
    stage_roots = {}
    for stage in stages[:-1]:
        stage_roots[stage_name(stage)] = stage_root = root / "stages" / stage_name(stage)
        for rest in every(stage, "COPY"):
            *sources, dest = shlex.split(rest)
            assert dest.endswith("/"), f"COPY {rest}: copy files into a directory"
            (stage_root / dest.lstrip("/")).mkdir(parents=True, exist_ok=True)
            for source in sources:
                shutil.copy(context / source, stage_root / dest.lstrip("/"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    for rest in every(final, "RUN"):
        mounts, commands = run_parts(rest)
        if commands[0][0] == "useradd":
            continue  # users and ownership: checked statically above
        mapped = {}
        for n, mount in enumerate(mounts):
            source = stage_roots[mount["from"]] if "from" in mount else context
            source = source / mount.get("source", "").lstrip("/")
            # rw: writes go to a copy, discarded after the RUN, as BuildKit does.
            writable = root / f"mount-{n}"
            shutil.copytree(source, writable)
            mapped[mount["target"]] = writable
        for command in commands:
            _run_in_image(command, mapped, venv)
        for writable in mapped.values():
            shutil.rmtree(writable)
    return root, venv


def _run_in_image(argv: list[str], mapped: dict[str, Path], venv: Path) -> None:
    args = [str(mapped[arg]) if arg in mapped else arg for arg in argv]
    if args[:2] in (["pip", "install"], ["pip", "uninstall"]):
        command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), *args[1:]]
        subprocess.run(command, check=True, capture_output=True)
    else:
        pytest.fail(f"a RUN line has a command this test cannot stand in for: {argv}")


def test_installed_image_serves_answers_health_checks_and_stops_on_sigterm(final, image_env, image, tmp_path):
    root, venv = image
    # kgw is installed, not linked to a source tree the image does not have.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import kgw; print(kgw.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(venv)) and not (root / "src").exists()
    assert image_env["KGW_HOST"] == "0.0.0.0" and image_env["KGW_PORT"] == "9092"
    data = root / image_env["KGW_DATA_DIR"].lstrip("/")
    data.mkdir()
    # Port 0 rather than 9092, which something else on this machine may
    # hold, and metrics on port 0 too; advertised as `docker run -p
    # 19092:9092 -e KGW_ADVERTISED_PORT=19092` would have it.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), **image_env,
           "KGW_PORT": "0", "KGW_DATA_DIR": str(data), "KGW_METRICS_PORT": "0",
           "KGW_ADVERTISED_PORT": "19092"}
    argv = exec_form(one(final, "ENTRYPOINT")) + exec_form(one(final, "CMD"))
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
        assert [(b.host, b.port) for b in brokers] == [(image_env["KGW_ADVERTISED_HOST"], 19092)]
        metrics_port = re.search(r"metrics on http://0\.0\.0\.0:(\d+)/metrics", ready).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
            assert 'kgw_requests_total{api="Metadata"} 1.0' in page.read().decode().splitlines()

        # Inside the container the healthcheck goes to the port kgw listens
        # on (what `-e KGW_PORT=...` would say), not the advertised one.
        health = exec_form(one(final, "HEALTHCHECK").split(" CMD ", 1)[1])
        health_env = {**env, "KGW_PORT": str(port)}
        checked = subprocess.run(health, env=health_env, capture_output=True, text=True)
        assert (checked.returncode, checked.stderr) == (0, "")
        assert checked.stdout.startswith(f"127.0.0.1:{port} is healthy")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert ".kgw-clean-shutdown" in os.listdir(data)

        checked = subprocess.run(health, env=health_env, capture_output=True, text=True)
        assert checked.returncode == 1 and checked.stdout == ""
        assert checked.stderr.splitlines() == [
            f"Error: 127.0.0.1:{port} (from KGW_HOST and KGW_ADVERTISED_HOST and KGW_PORT) is not healthy: "
            "Connection refused"]
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
