"""A broker that requires SASL, for the session (kgw, or Apache Kafka with
KGW_BROKER=kafka), behind a proxy that records the (api key, version) of
every request the clients send through it."""

import struct

import pytest

from ..harness import BROKER, CuttingProxy, KgwProcess

# Two users. The second name needs SCRAM's escaping (',' is "=2C", '=' is
# "=3D"), and its password holds what `--sasl-user` must not split on.
USERS = {"alice": "alice-secret", "ops,eu=1": "p:ss word"}
WRONG_PASSWORD = "wrong-password"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class _Tap:
    """The client side of a proxied connection, reading whole request
    frames out of what passes: size, api key, api version, ..."""

    def __init__(self, sock, requests: list):
        self._sock = sock
        self._requests = requests
        self._pending = b""

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self._pending += data
        while len(self._pending) >= 8:
            (length,) = struct.unpack_from(">i", self._pending)
            if len(self._pending) < 4 + length:
                break
            self._requests.append(struct.unpack_from(">hh", self._pending, 4))
            self._pending = self._pending[4 + length:]
        return data

    def shutdown(self, how):
        self._sock.shutdown(how)


class RecordingProxy(CuttingProxy):
    """Only bootstrap connections pass here (kgw advertises itself), which
    is enough: every connection authenticates."""

    def __init__(self, host: str, port: int):
        self.requests: list[tuple[int, int]] = []
        super().__init__(host, port)

    def _pump(self, src, dst):
        if dst.getpeername()[:2] == self.target:
            src = _Tap(src, self.requests)
        super()._pump(src, dst)


class SaslBroker:
    """The session's SASL broker as one test sees it."""

    def __init__(self, server, proxy: RecordingProxy):
        self.server = server
        self.proxy = proxy
        self.bootstrap = f"127.0.0.1:{proxy.port}"
        self._mark = len(proxy.requests)

    def sasl_versions(self) -> set[tuple[str, int]]:
        """SaslHandshake and SaslAuthenticate versions sent since the test began."""
        names = {17: "SaslHandshake", 36: "SaslAuthenticate"}
        return {(names[key], version) for key, version in self.proxy.requests[self._mark:] if key in names}


@pytest.fixture(scope="session")
def sasl_kgw(tmp_path_factory):
    """The broker under test with USERS: `kgw serve --sasl-user`, or Apache
    Kafka with the same users (KGW_BROKER=kafka)."""
    if BROKER == "kafka":
        from ..reference.apache_kafka import STOPPED_BY_SIGTERM, ApacheKafka

        kafka = ApacheKafka(tmp_path_factory.mktemp("kafka-sasl"), sasl_users=USERS).start()
        proxy = RecordingProxy(kafka.host, kafka.port)
        yield kafka, proxy
        proxy.close()
        assert kafka.stop() == STOPPED_BY_SIGTERM, f"see {kafka.log_path}"
        return
    users = [f"--sasl-user={name}:{password}" for name, password in USERS.items()]
    server = KgwProcess(tmp_path_factory.mktemp("kgw-sasl"), *users).start()
    proxy = RecordingProxy(server.host, server.port)
    yield server, proxy
    proxy.close()
    assert server.stop() == 0
    log = "".join(server.log_lines)
    assert "Traceback" not in log and " ERROR " not in log, log[-4000:]
    # What the clients sent as passwords, right or wrong, is never logged.
    assert not [p for p in (*USERS.values(), WRONG_PASSWORD) if p in log]


@pytest.fixture
def sasl_broker(sasl_kgw) -> SaslBroker:
    return SaslBroker(*sasl_kgw)
