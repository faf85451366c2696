"""kgw inside a Python process: a broker on a thread of its own, for tests
and tools that want a Kafka without starting a program."""

import logging
import shutil
import tempfile
import threading
import traceback
from dataclasses import replace
from pathlib import Path

import trio

from .config import BrokerConfig
from .server import Server

log = logging.getLogger("kgw.embedded")


class EmbeddedBroker:
    """A kgw broker served by a background thread running its own trio loop.

        with EmbeddedBroker() as broker:
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap)

    Without `data_dir` the data lives in a temporary directory that `stop()`
    removes; a given `data_dir` is kept, so a later broker can reopen it.
    `settings` are `BrokerConfig` fields (`num_partitions`,
    `auto_create_topics`, `flush`, ...); the broker listens on 127.0.0.1 on
    a free port unless `host` and `port` say otherwise.
    """

    def __init__(self, data_dir: str | Path | None = None, **settings):
        if data_dir is None:
            # A directory deleted at stop gains nothing from fsync, and
            # fsync is most of what an acks=all produce, an offset commit
            # or a new data directory costs.
            settings.setdefault("flush", "never")
            settings.setdefault("durable", False)
        # Built now so that a misspelt setting fails here, not in the thread.
        self._config = BrokerConfig(**{"port": 0, **settings})
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._failure: BaseException | None = None
        self._temp_dir: Path | None = None
        self.data_dir: Path | None = None
        # The settings in force, once started.
        self.config: BrokerConfig | None = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._running().broker.advertised_host

    @property
    def port(self) -> int:
        return self._running().broker.advertised_port

    @property
    def bootstrap(self) -> str:
        """"host:port", as Kafka clients take it in bootstrap.servers."""
        broker = self._running().broker
        return f"{broker.advertised_host}:{broker.advertised_port}"

    def start(self) -> "EmbeddedBroker":
        """Start serving; returns once the broker accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this broker is already running")
        if self._given_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="kgw-"))
        data_dir = self._given_dir or self._temp_dir
        assert data_dir is not None
        self.data_dir = data_dir
        self.config = config = replace(self._config, data_dir=data_dir)
        self._failure = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready, config), name="kgw-broker",
                                        daemon=True)
        self._thread.start()
        ready.wait()
        if self._failure is not None:
            self._finish()
        return self

    def stop(self) -> None:
        """Shut down gracefully (as SIGTERM does to `kgw serve`), wait for the
        thread, and remove a temporary data directory. Raises what the broker
        failed with if it stopped on its own."""
        if self._thread is None:
            return
        server = self._server
        if self._thread.is_alive() and server is not None:
            try:
                trio.from_thread.run_sync(server.shutdown, trio_token=self._token)
            except trio.RunFinishedError:
                # It stopped between the check and the call: the join below
                # and the failure it left are all there is to handle.
                pass
        self._finish()

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self._server = None
        self._token = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir)
            self._temp_dir = None
        failure, self._failure = self._failure, None
        if failure is not None:
            raise RuntimeError(f"the embedded kgw broker failed: {failure}") from failure

    def _running(self) -> Server:
        if self._server is None or self._server.address is None:
            raise RuntimeError("the broker is not running: use start() or a with block")
        return self._server

    def _run(self, ready: threading.Event, config: BrokerConfig) -> None:
        try:
            trio.run(self._serve, ready, config)
        except BaseException as exc:
            self._failure = exc
            # Logged now as well: a broker dying mid-test shows up first as
            # clients failing to connect, long before stop() reports it. As
            # text, because a record holding the traceback would hold the
            # broker's open files for as long as the record lives.
            log.error("the embedded kgw broker failed:\n%s", "".join(traceback.format_exception(exc)).rstrip())
        finally:
            ready.set()

    async def _serve(self, ready: threading.Event, config: BrokerConfig) -> None:
        self._server = Server(config)
        self._token = trio.lowlevel.current_trio_token()
        # The thread's whole job is this one call, so it reports readiness
        # straight to start() rather than through a nursery, which would
        # wrap a failure to start in an exception group.
        await self._server.run(task_status=_Ready(ready))


class _Ready:
    """The `started()` half of trio's TaskStatus, reporting to a thread."""

    def __init__(self, event: threading.Event):
        self._event = event

    def started(self, address=None) -> None:
        self._event.set()
