"""The Prometheus endpoint, scraped after known traffic: every value exact."""

import urllib.error
import urllib.request

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from kgw.observability.metrics import NO_METRICS
from kgw.observability.response_errors import error_codes
from protocol.error_codes import ErrorCode
from protocol.messages import API_VERSIONS, CREATE_TOPICS, FETCH, METADATA, OFFSET_COMMIT, PRODUCE

from .server_harness import Client, running_server
from .test_server import create, fetch, produce, records


# Kafka refuses ApiVersions v3+ without a client software name and version (KIP-511).
NAMED_API_VERSIONS = API_VERSIONS.Request(client_software_name="kgw-tests", client_software_version="1")


async def scrape(server, path="/metrics") -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    host, port = server.metrics_address
    text = await trio.to_thread.run_sync(_get, f"http://{host}:{port}{path}")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def series(samples: dict, name: str) -> dict:
    """The samples of one metric, keyed by their labels as a dict's items."""
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def commit(group, offsets):
    Topic = OFFSET_COMMIT.Request.OffsetCommitRequestTopic
    return OFFSET_COMMIT.Request(group_id=group, generation_id_or_member_epoch=-1, member_id="", topics=[
        Topic(name=topic, partitions=[Topic.OffsetCommitRequestPartition(
            partition_index=partition, committed_offset=offset)])
        for topic, partition, offset in offsets])


@pytest.mark.trio
async def test_counters_histograms_sizes_and_lag_after_traffic(tmp_path):
    batch1, batch2, batch3 = records([b"a", b"b", b"c"]), records([b"d", b"e"]), records([b"w"] * 4)
    async with running_server(tmp_path, metrics_port=0) as server:
        client = await Client.connect(server)
        created = (await client.call(CREATE_TOPICS, 7, create("t", partitions=2))).topics[0]
        for partition, batch in ((0, batch1), (0, batch2), (1, batch3), (5, batch3)):
            await client.call(PRODUCE, 9, produce("t", partition, batch))
        everything = await client.call(FETCH, 12, fetch("t", 0, 0))
        assert everything.responses[0].partitions[0].records is not None
        # By topic id (v13+), from the second batch.
        await client.call(FETCH, 16, fetch("t", 0, 3, topic_id=created.topic_id))
        # Over its size limit a fetch still gets one whole batch (KIP-74), and only that one.
        await client.call(FETCH, 12, fetch("t", 0, 0, max_bytes=1))
        out_of_range = await client.call(FETCH, 12, fetch("t", 1, 100))
        assert out_of_range.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        committed = await client.call(OFFSET_COMMIT, 7, commit("g", [("t", 0, 2), ("t", 1, 4)]))
        assert [p.error_code for t in committed.topics for p in t.partitions] == [0, 0]
        # The server counts a request just after writing its response; the
        # answer to a later request on the connection proves it has.
        await client.call(API_VERSIONS, 3, NAMED_API_VERSIONS)
        samples = await scrape(server)
        await client.aclose()

    assert series(samples, "kgw_requests_total") == {
        (("api", "ApiVersions"),): 1,
        (("api", "CreateTopics"),): 1, (("api", "Produce"),): 4, (("api", "Fetch"),): 4,
        (("api", "OffsetCommit"),): 1}
    assert series(samples, "kgw_request_errors_total") == {
        (("api", "Produce"), ("error", "UNKNOWN_TOPIC_OR_PARTITION")): 1,
        (("api", "Fetch"), ("error", "OFFSET_OUT_OF_RANGE")): 1}
    produce_latency = {labels: value for labels, value in series(
        samples, "kgw_request_duration_seconds_bucket").items() if ("api", "Produce") in labels}
    assert produce_latency[(("api", "Produce"), ("le", "+Inf"))] == 4
    assert len(produce_latency) == 18  # 17 bounds and +Inf
    assert series(samples, "kgw_request_duration_seconds_count")[(("api", "Fetch"),)] == 4

    topic = (("topic", "t"),)
    assert series(samples, "kgw_topic_messages_in_total") == {topic: 3 + 2 + 4}
    assert series(samples, "kgw_topic_bytes_in_total") == {topic: len(batch1) + len(batch2) + len(batch3)}
    # 0-4 whole, then from offset 3 (the second batch), then the first batch alone.
    assert series(samples, "kgw_topic_messages_out_total") == {topic: 5 + 2 + 3}
    assert series(samples, "kgw_topic_bytes_out_total") == {
        topic: (len(batch1) + len(batch2)) + len(batch2) + len(batch1)}

    assert series(samples, "kgw_connections_open") == {(): 1}
    assert series(samples, "kgw_connections_accepted_total") == {(): 1}

    t0, t1 = (("partition", "0"), ("topic", "t")), (("partition", "1"), ("topic", "t"))
    assert series(samples, "kgw_partition_log_size_bytes") == {
        t0: len(batch1) + len(batch2), t1: len(batch3)}
    assert series(samples, "kgw_partition_high_watermark") == {t0: 5, t1: 4}
    assert series(samples, "kgw_partition_log_start_offset") == {t0: 0, t1: 0}
    g0, g1 = (("group", "g"),) + t0, (("group", "g"),) + t1
    assert series(samples, "kgw_consumer_group_committed_offset") == {g0: 2, g1: 4}
    assert series(samples, "kgw_consumer_group_lag") == {g0: 5 - 2, g1: 4 - 4}
    assert ("process_resident_memory_bytes", ()) in samples


@pytest.mark.trio
async def test_connections_are_counted_as_they_close(tmp_path):
    async with running_server(tmp_path, metrics_port=0) as server:
        clients = [await Client.connect(server) for _ in range(3)]
        for client in clients:
            await client.call(API_VERSIONS, 3, NAMED_API_VERSIONS)
        await clients[0].aclose()
        # The broker notices the close when it next reads the connection;
        # nothing a client sees says when that is, so wait for the count.
        with trio.fail_after(10):
            while (await scrape(server))[("kgw_connections_open", ())] != 2:
                await trio.sleep(0.01)
        samples = await scrape(server)
        assert samples[("kgw_connections_accepted_total", ())] == 3
        for client in clients[1:]:
            await client.aclose()


@pytest.mark.trio
async def test_only_metrics_is_served(tmp_path):
    async with running_server(tmp_path, metrics_port=0) as server:
        host, port = server.metrics_address
        with pytest.raises(urllib.error.HTTPError) as refused:
            await trio.to_thread.run_sync(_get, f"http://{host}:{port}/admin")
        assert refused.value.code == 404
        assert ("kgw_connections_open", ()) in await scrape(server, "/metrics?x=1")


@pytest.mark.trio
async def test_without_a_metrics_port_nothing_is_counted_or_served(tmp_path):
    async with running_server(tmp_path) as server:
        assert server.metrics_address is None and server.broker.metrics is NO_METRICS
        client = await Client.connect(server)
        assert (await client.call(PRODUCE, 9, produce("auto", 0, records([b"x"])))).responses
        await client.aclose()


def test_error_codes_are_found_at_every_level_of_a_response():
    Response = METADATA.Response
    Topic = Response.MetadataResponseTopic
    body = Response(topics=[
        Topic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name="a", partitions=[]),
        Topic(error_code=0, name="b", partitions=[
            Topic.MetadataResponsePartition(error_code=ErrorCode.LEADER_NOT_AVAILABLE),
            Topic.MetadataResponsePartition(error_code=0)])])
    assert error_codes(METADATA.key, body) == [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                               ErrorCode.LEADER_NOT_AVAILABLE]
    assert error_codes(METADATA.key, Response(topics=[])) == []
    assert error_codes(API_VERSIONS.key, API_VERSIONS.Response(error_code=35)) == [35]
