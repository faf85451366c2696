"""A live kgw on a thread of the test process, and the `kgw` command run in-process."""

import itertools
import threading

import pytest
import trio
from click.testing import CliRunner

from kgw.cli import main

from ..server_harness import running_server

_names = itertools.count()


class ThreadedBroker:
    """tests/server_harness.py's running_server, served by a thread's trio loop."""

    def __init__(self, data_dir, **settings):
        self.data_dir = data_dir
        self.settings = settings
        self._ready = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._serve,), daemon=True)
        self._token = None
        self._stop = None
        self.bootstrap = None

    async def _serve(self):
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        try:
            async with running_server(self.data_dir, **self.settings) as server:
                host, port = server.address
                self.bootstrap = f"{host}:{port}"
                self._ready.set()
                await self._stop.wait()
        finally:
            self._ready.set()

    def __enter__(self) -> "ThreadedBroker":
        self._thread.start()
        self._ready.wait(30)
        assert self.bootstrap is not None, "kgw did not start"
        return self

    def __exit__(self, *exc_info):
        trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    with ThreadedBroker(tmp_path_factory.mktemp("kgw-tools"), flush="never") as running:
        yield running


def tool_runner(bootstrap: str, **env):
    """`kgw ARGS...` run in-process against `bootstrap` (through
    KGW_BOOTSTRAP and any other KGW_* variables, as a user's shell would
    give them); returns click's Result."""
    runner = CliRunner(env={"KGW_BOOTSTRAP": bootstrap, **env})

    def run(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, prog_name="kgw")

    return run


@pytest.fixture
def kgw(broker):
    """Run `kgw ARGS...` against the session's broker."""
    return tool_runner(broker.bootstrap)


@pytest.fixture
def topic(request):
    """A topic name no other test uses."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return f"{base}-{next(_names)}"


def produce_records(bootstrap: str, topic: str, records: list[tuple], partition: int = 0) -> None:
    """Write (timestamp, key, value[, headers]) records in one batch, as a
    client that can send what `kgw produce` cannot (null values, chosen
    timestamps) would."""
    from kgw.tools.client import Cluster
    from kgw.tools.command import Bootstrap, parse_address
    from protocol.messages import PRODUCE
    from protocol.records import Record, build_batch

    batch = build_batch([Record(i, r[0], r[1], r[2], list(r[3]) if len(r) > 3 else [])
                         for i, r in enumerate(records)])
    Data = PRODUCE.Request.TopicProduceData
    with Cluster(Bootstrap(*parse_address(bootstrap))) as cluster:
        cluster.metadata([topic]).topic(topic)
        body = cluster.node(0).call(PRODUCE, PRODUCE.Request(acks=-1, timeout_ms=10_000, topic_data=[
            Data(name=topic, partition_data=[Data.PartitionProduceData(index=partition, records=batch)])]))
    assert body.responses[0].partition_responses[0].error_code == 0
