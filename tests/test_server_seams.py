"""The server's seams: an injected broker and handler table, and the
context each handler is given."""

from dataclasses import replace

import pytest
import trio

from kgw.broker import Broker
from kgw.config import BrokerConfig
from kgw.handlers import HANDLERS, Handler, load_all
from kgw.server import Server
from protocol.connection import CLOSED
from protocol.messages import API_VERSIONS, DELETE_TOPICS, METADATA, SASL_AUTHENTICATE, SASL_HANDSHAKE

from .server_harness import Client

pytestmark = pytest.mark.trio


async def test_a_handler_table_of_its_own_is_what_the_server_advertises_and_serves(tmp_path):
    load_all()
    seen = []

    async def spying_metadata(broker, request, context):
        seen.append((context.client_host, context.principal))
        return await HANDLERS[METADATA.key].fn(broker, request, context)

    table = {key: h for key, h in HANDLERS.items() if key != DELETE_TOPICS.key}
    table[METADATA.key] = Handler(METADATA, 0, 4, spying_metadata)
    config = BrokerConfig(port=0, data_dir=tmp_path, sasl_users={"alice": "s3cret"},
                          node_id=7)
    server = Server(config, handlers=table)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        client = await Client.connect(server)
        versions = await client.call(API_VERSIONS, 3, API_VERSIONS.Request(
            client_software_name="t", client_software_version="1"))
        advertised = {k.api_key: (k.min_version, k.max_version) for k in versions.api_keys}
        assert DELETE_TOPICS.key not in advertised and advertised[METADATA.key] == (0, 4)
        await client.call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism="PLAIN"))
        await client.call(SASL_AUTHENTICATE, 2,
                          SASL_AUTHENTICATE.Request(auth_bytes=b"\0alice\0s3cret"))
        body = await client.call(METADATA, 4, METADATA.Request(topics=None))
        assert [b.node_id for b in body.brokers] == [7] and body.controller_id == 7
        assert seen == [("/127.0.0.1", "User:alice")]
        # A version the table does not serve closes the connection, as Kafka does.
        await client.send(METADATA, 12, METADATA.Request(topics=None))
        assert await client.receive() is CLOSED
        server.shutdown()


async def test_an_injected_broker_is_the_one_served(tmp_path):
    config = BrokerConfig(port=0, data_dir=tmp_path)
    broker = Broker(replace(config, node_id=3))
    server = Server(config, broker=broker)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        client = await Client.connect(server)
        body = await client.call(METADATA, 12, METADATA.Request(topics=None))
        assert [b.node_id for b in body.brokers] == [3]
        assert body.cluster_id == broker.cluster_id != ""
        server.shutdown()
