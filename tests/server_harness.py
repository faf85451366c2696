"""An in-process kgw and a minimal protocol/ client for server tests."""

from contextlib import asynccontextmanager
from dataclasses import replace

import trio

from kgw.config import BrokerConfig
from kgw.server import Server
from protocol.connection import CLOSED, NEED_DATA, ClientConnection


@asynccontextmanager
async def running_server(data_dir, **settings):
    config = replace(BrokerConfig(port=0, data_dir=data_dir, shutdown_grace_s=2), **settings)
    server = Server(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        try:
            yield server
        finally:
            server.shutdown()


class Client:
    def __init__(self, stream):
        self.stream = stream
        self.protocol = ClientConnection("kgw-tests")

    @classmethod
    async def connect(cls, server) -> "Client":
        host, port = server.address
        return cls(await trio.open_tcp_stream(host, port))

    async def send(self, api, version: int, body) -> int:
        correlation_id, data = self.protocol.send_request(api.key, version, body)
        await self.stream.send_all(data)
        return correlation_id

    async def receive(self):
        """The next response, or CLOSED if the broker closed the connection."""
        while True:
            response = self.protocol.next_response()
            if response is not NEED_DATA:
                return response
            try:
                data = await self.stream.receive_some(1 << 20)
            except trio.BrokenResourceError:
                data = b""
            self.protocol.receive_data(data)

    async def call(self, api, version: int, body):
        correlation_id = await self.send(api, version, body)
        response = await self.receive()
        assert response is not CLOSED, f"connection closed instead of answering {api.name} v{version}"
        assert response.correlation_id == correlation_id
        return response.body

    async def aclose(self):
        await self.stream.aclose()
