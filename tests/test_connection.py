"""The sans-IO connection: framing, header rules, limits, and hostile input.

Framing is checked the way h11's test_io checks its readers: every frame is
fed whole, one byte at a time, and followed by bytes of the next frame, and
the decoded request must be the same each time.  kafka-python is used only
as an oracle for the bytes a real client writes.
"""

import ast
import pathlib
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from protocol import connection
from protocol.connection import (
    CLOSED, NEED_DATA, ClientConnection, Request, Response, ServerConnection, encode_response,
    join_parts,
)
from protocol.errors import DecodeError, FrameTooLarge, ProtocolError, UnsupportedRequest
from protocol.messages import API_VERSIONS, APIS, FETCH, METADATA, PRODUCE, RESPONSE_CODECS

PROTOCOL_DIR = pathlib.Path(connection.__file__).parent
REPO_ROOT = PROTOCOL_DIR.parent

RECORDS_A = bytes(range(256)) * 3
RECORDS_B = b"\x07" * 61


# --- a catalogue of requests a real client sends -----------------------------

def _produce(version, acks=-1, transactional_id=None):
    Topic = PRODUCE.Request.TopicProduceData
    Partition = Topic.PartitionProduceData
    return PRODUCE.Request(
        transactional_id=transactional_id, acks=acks, timeout_ms=30000,
        topic_data=[Topic(name="orders", partition_data=[
            Partition(index=0, records=RECORDS_A),
            Partition(index=7, records=RECORDS_B),
            Partition(index=9, records=None),
        ])])


def _fetch(version):
    Topic = FETCH.Request.FetchTopic
    Partition = Topic.FetchPartition
    partitions = [Partition(partition=3, fetch_offset=1234, partition_max_bytes=1 << 20,
                            current_leader_epoch=5 if version >= 9 else -1,
                            log_start_offset=10 if version >= 5 else -1,
                            last_fetched_epoch=4 if version >= 12 else -1)]
    topic = (Topic(topic_id=uuid.UUID(int=0xABCDEF), partitions=partitions) if version >= 13
             else Topic(topic="orders", partitions=partitions))
    body = FETCH.Request(max_wait_ms=500, min_bytes=1, max_bytes=50 << 20, isolation_level=1,
                         topics=[topic])
    if version < 15:
        body.replica_id = -1
    if version >= 7:
        body.session_id, body.session_epoch = 17, 2
        Forgotten = FETCH.Request.ForgottenTopic
        body.forgotten_topics_data = [
            Forgotten(topic_id=uuid.UUID(int=99), partitions=[1, 2]) if version >= 13
            else Forgotten(topic="old", partitions=[1, 2])]
    if version >= 11:
        body.rack_id = "rack-a"
    if version >= 12:
        # A tagged field set to a non-default value, so the tagged section is exercised.
        body.cluster_id = "cluster-1"
    return body


def _metadata(version, topics):
    Topic = METADATA.Request.MetadataRequestTopic
    if topics:
        topics = [Topic(name=name, topic_id=uuid.UUID(int=i) if version >= 10 else uuid.UUID(int=0))
                  for i, name in enumerate(topics)]
    body = METADATA.Request(topics=topics)
    if version >= 4:
        body.allow_auto_topic_creation = False
    if version >= 8:
        body.include_topic_authorized_operations = True
    return body


CASES = {
    "api_versions_v0": (API_VERSIONS, 0, API_VERSIONS.Request()),
    "api_versions_v3": (API_VERSIONS, 3, API_VERSIONS.Request(
        client_software_name="kgw-test", client_software_version="1.2.3")),
    "api_versions_v4": (API_VERSIONS, 4, API_VERSIONS.Request(
        client_software_name="kgw-test", client_software_version="4.0")),
    "metadata_v1_null": (METADATA, 1, _metadata(1, None)),
    "metadata_v1_empty": (METADATA, 1, _metadata(1, [])),
    "metadata_v1_topics": (METADATA, 1, _metadata(1, ["a", "bb"])),
    "metadata_v12_null": (METADATA, 12, _metadata(12, None)),
    "metadata_v12_empty": (METADATA, 12, _metadata(12, [])),
    "metadata_v12_topics": (METADATA, 12, _metadata(12, ["a", "bb"])),
    "produce_v3": (PRODUCE, 3, _produce(3)),
    "produce_v9": (PRODUCE, 9, _produce(9, acks=1, transactional_id="tx-1")),
    "fetch_v4": (FETCH, 4, _fetch(4)),
    "fetch_v12": (FETCH, 12, _fetch(12)),
    "fetch_v16": (FETCH, 16, _fetch(16)),
}


def _frame(name, client_id="client-1", correlation_id=0):
    api, version, body = CASES[name]
    client = ClientConnection(client_id=client_id)
    client._next_correlation_id = correlation_id
    cid, data = client.send_request(api.key, version, body)
    assert cid == correlation_id
    return data


ALL_FRAMES = [_frame(name, correlation_id=i) for i, name in enumerate(CASES)]


def _feed(conn, data, how):
    if how == "whole":
        conn.receive_data(data)
    elif how == "bytewise":
        for i in range(len(data)):
            conn.receive_data(data[i:i + 1])
    else:
        raise AssertionError(how)


def _drain(conn):
    """Every request the buffered bytes hold, then the marker that stopped."""
    out = []
    while True:
        item = conn.next_request()
        if item is NEED_DATA or item is CLOSED:
            return out, item
        out.append(item)


def _check(request, name, correlation_id=0, client_id="client-1"):
    api, version, body = CASES[name]
    assert isinstance(request, Request)
    assert (request.api_key, request.api_version) == (api.key, version)
    assert request.correlation_id == correlation_id
    assert request.client_id == client_id
    assert request.version_supported
    # Struct equality compares every field, including records (memoryview == bytes
    # compares contents) and the defaults of fields absent from this version.
    assert request.body == body


# --- framing fed three ways ----------------------------------------------------

@pytest.mark.parametrize("how", ["whole", "bytewise"])
@pytest.mark.parametrize("name", list(CASES))
def test_one_frame(name, how):
    data = _frame(name)
    server = ServerConnection()
    if how == "bytewise":
        # Nothing may come out before the last byte is in.
        for i in range(len(data) - 1):
            server.receive_data(data[i:i + 1])
            assert server.next_request() is NEED_DATA
        server.receive_data(data[-1:])
    else:
        _feed(server, data, how)
    requests, stop = _drain(server)
    assert stop is NEED_DATA
    assert len(requests) == 1
    _check(requests[0], name)
    assert requests[0].size == len(data) - 4


@pytest.mark.parametrize("cut", [0, 1, 3, 4, 5, 11])
@pytest.mark.parametrize("name", list(CASES))
def test_frame_followed_by_part_of_the_next(name, cut):
    data = _frame(name)
    following = _frame("metadata_v1_null", correlation_id=99)
    server = ServerConnection()
    server.receive_data(data + following[:cut])
    requests, stop = _drain(server)
    assert stop is NEED_DATA
    assert len(requests) == 1
    _check(requests[0], name)
    # The reader stopped exactly at the frame boundary: the rest of the next
    # frame completes it.
    server.receive_data(following[cut:])
    (second,), stop = _drain(server)
    assert stop is NEED_DATA
    _check(second, "metadata_v1_null", correlation_id=99)


@pytest.mark.parametrize("how", ["whole", "bytewise"])
def test_pipelined_requests_come_out_in_order(how):
    names = list(CASES)
    client = ClientConnection(client_id="client-1")
    sent = [client.send_request(CASES[n][0].key, CASES[n][1], CASES[n][2]) for n in names]
    server = ServerConnection()
    _feed(server, b"".join(data for _, data in sent), how)
    requests, stop = _drain(server)
    assert stop is NEED_DATA
    assert [r.correlation_id for r in requests] == [cid for cid, _ in sent] == list(range(len(names)))
    for request, name, (cid, _) in zip(requests, names, sent):
        _check(request, name, correlation_id=cid)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_pipelined_requests_in_any_chunking(data):
    stream = b"".join(ALL_FRAMES)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=40)))
    server = ServerConnection()
    requests = []
    for a, b in zip([0] + cuts, cuts + [len(stream)]):
        server.receive_data(stream[a:b])
        got, stop = _drain(server)
        assert stop is NEED_DATA
        requests += got
    server.receive_data(b"")
    assert server.next_request() is CLOSED
    assert [r.correlation_id for r in requests] == list(range(len(CASES)))
    for i, (request, name) in enumerate(zip(requests, CASES)):
        _check(request, name, correlation_id=i)


def test_null_and_empty_topic_lists_stay_distinct():
    # Null means "all topics" and [] means "none" since Metadata v1.
    for version in (1, 12):
        got = {}
        for kind in ("null", "empty"):
            server = ServerConnection()
            server.receive_data(_frame(f"metadata_v{version}_{kind}"))
            got[kind] = server.next_request().body.topics
        assert got == {"null": None, "empty": []}


def test_null_client_id():
    server = ServerConnection()
    server.receive_data(_frame("fetch_v12", client_id=None))
    _check(server.next_request(), "fetch_v12", client_id=None)


# --- kafka-python as an oracle for real client bytes ---------------------------

def _kafka_python_frames():
    from kafka.protocol.consumer.fetch import FetchRequest
    from kafka.protocol.metadata.api_versions import ApiVersionsRequest
    from kafka.protocol.metadata.metadata import MetadataRequest
    from kafka.protocol.producer.produce import ProduceRequest

    def framed(msg, correlation_id):
        msg.with_header(correlation_id=correlation_id, client_id="client-1")
        return bytes(msg.encode(header=True, framed=True))

    PT = ProduceRequest.TopicProduceData
    PP = PT.PartitionProduceData
    FT = FetchRequest.FetchTopic
    FP = FT.FetchPartition
    return {
        "api_versions_v3": framed(ApiVersionsRequest(
            client_software_name="kgw-test", client_software_version="1.2.3", version=3), 0),
        "metadata_v1_null": framed(MetadataRequest(topics=None, version=1), 0),
        "metadata_v1_empty": framed(MetadataRequest(topics=[], version=1), 0),
        "metadata_v12_empty": framed(MetadataRequest(
            topics=[], allow_auto_topic_creation=False, include_topic_authorized_operations=True,
            version=12), 0),
        "produce_v9": framed(ProduceRequest(
            transactional_id="tx-1", acks=1, timeout_ms=30000, topic_data=[PT(name="orders", partition_data=[
                PP(index=0, records=RECORDS_A), PP(index=7, records=RECORDS_B), PP(index=9, records=None)])],
            version=9), 0),
        "fetch_v4": framed(FetchRequest(
            replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=50 << 20, isolation_level=1,
            topics=[FT(topic="orders", partitions=[FP(partition=3, fetch_offset=1234, log_start_offset=-1,
                                                      partition_max_bytes=1 << 20)])],
            version=4), 0),
    }


@pytest.mark.parametrize("name", ["api_versions_v3", "metadata_v1_null", "metadata_v1_empty",
                                  "metadata_v12_empty", "produce_v9", "fetch_v4"])
def test_same_bytes_as_kafka_python(name):
    theirs = _kafka_python_frames()[name]
    assert _frame(name) == theirs
    server = ServerConnection()
    server.receive_data(theirs)
    _check(server.next_request(), name)


# --- zero copy -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["produce_v3", "produce_v9"])
def test_records_share_memory_with_a_chunk_holding_the_whole_frame(name):
    data = bytearray(_frame(name))
    server = ServerConnection()
    server.receive_data(data)
    request = server.next_request()
    records = [pd.records for td in request.body.topic_data for pd in td.partition_data]
    assert records[0].obj is data and records[1].obj is data
    assert records[2] is None
    # Sharing, shown by mutation: the view sees a later write to the buffer.
    at = bytes(data).index(RECORDS_A)
    assert records[0][0] == 0
    data[at] = 0xEE
    assert records[0][0] == 0xEE


def test_records_survive_a_frame_split_across_chunks():
    data = _frame("produce_v9")
    server = ServerConnection()
    half = len(data) // 2
    server.receive_data(bytearray(data[:half]))
    server.receive_data(bytearray(data[half:]))
    request = server.next_request()
    pd = request.body.topic_data[0].partition_data[0]
    assert isinstance(pd.records, memoryview)
    assert bytes(pd.records) == RECORDS_A


def test_pipelined_frames_in_one_chunk_are_all_zero_copy():
    data = _frame("produce_v3", correlation_id=1) + _frame("produce_v9", correlation_id=2)
    server = ServerConnection()
    server.receive_data(data)
    requests, _ = _drain(server)
    assert [r.correlation_id for r in requests] == [1, 2]
    for r in requests:
        assert r.body.topic_data[0].partition_data[0].records.obj is data


# --- frame limit --------------------------------------------------------------------

def test_oversized_frame_refused_on_its_size_prefix_alone():
    server = ServerConnection(max_frame_size=1 << 20)
    server.receive_data(struct.pack(">i", 2**31 - 1))
    with pytest.raises(FrameTooLarge) as info:
        server.next_request()
    assert (info.value.size, info.value.limit) == (2**31 - 1, 1 << 20)


def test_frame_exactly_at_the_limit_is_accepted():
    data = _frame("metadata_v1_null")
    limit = len(data) - 4
    server = ServerConnection(max_frame_size=limit)
    server.receive_data(data)
    _check(server.next_request(), "metadata_v1_null")
    server = ServerConnection(max_frame_size=limit - 1)
    server.receive_data(data[:4])
    with pytest.raises(FrameTooLarge):
        server.next_request()


def test_client_side_enforces_the_limit_too():
    client = ClientConnection(max_frame_size=1000)
    client.receive_data(struct.pack(">i", 1001))
    with pytest.raises(FrameTooLarge):
        client.next_response()


@pytest.mark.parametrize("size", [-1, -2, -(2**31)])
def test_negative_frame_size(size):
    server = ServerConnection(max_frame_size=1 << 20)
    server.receive_data(struct.pack(">i", size))
    with pytest.raises(DecodeError) as info:
        server.next_request()
    assert not isinstance(info.value, FrameTooLarge)


@pytest.mark.parametrize("limit", [1 << 20, 2**31 - 1])
def test_huge_declared_size_allocates_nothing_of_that_size(limit):
    server = ServerConnection(max_frame_size=limit)
    tracemalloc.start()
    try:
        server.receive_data(struct.pack(">i", 2**31 - 1) + b"\x00" * 100)
        try:
            # Within the limit the reader just waits for more.
            assert server.next_request() is NEED_DATA
        except FrameTooLarge:
            assert limit < 2**31 - 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


# --- end of stream ----------------------------------------------------------------

def test_clean_eof_before_any_frame():
    server = ServerConnection()
    assert server.next_request() is NEED_DATA
    server.receive_data(b"")
    assert server.next_request() is CLOSED
    assert server.next_request() is CLOSED


def test_clean_eof_after_frames():
    server = ServerConnection()
    server.receive_data(_frame("fetch_v4") + _frame("fetch_v16"))
    server.receive_data(b"")
    requests, stop = _drain(server)
    assert len(requests) == 2 and stop is CLOSED


def test_data_after_eof_is_a_caller_error():
    server = ServerConnection()
    server.receive_data(b"")
    with pytest.raises(RuntimeError):
        server.receive_data(b"\x00")


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_eof_inside_the_size_prefix(keep):
    server = ServerConnection()
    server.receive_data(_frame("metadata_v1_null")[:keep])
    assert server.next_request() is NEED_DATA
    server.receive_data(b"")
    with pytest.raises(DecodeError):
        server.next_request()


@pytest.mark.parametrize("keep", [4, 5, 12, -1])
def test_eof_inside_a_frame(keep):
    server = ServerConnection()
    server.receive_data(_frame("produce_v9")[:keep])
    assert server.next_request() is NEED_DATA
    server.receive_data(b"")
    with pytest.raises(DecodeError):
        server.next_request()


def test_zero_size_frame_alone_is_a_decode_error():
    # Found by the fuzz tests below: an empty frame must be refused like any
    # other frame too short for a request header.
    server = ServerConnection()
    server.receive_data(b"\x00\x00\x00\x00")
    with pytest.raises(DecodeError):
        server.next_request()


def test_zero_size_frame_followed_by_more_bytes_is_a_decode_error():
    server = ServerConnection()
    server.receive_data(b"\x00\x00\x00\x00" + _frame("metadata_v1_null"))
    with pytest.raises(DecodeError):
        server.next_request()


# --- ApiVersions header rules ---------------------------------------------------------

def _unknown_api_versions_request(correlation_id=42, client_id=b"future"):
    # Header v2 (ApiVersions is flexible from v3): classic client_id, then the
    # header's tagged-field count; the v7 body is opaque to kgw.
    payload = (struct.pack(">hhi", 18, 7, correlation_id)
               + struct.pack(">h", len(client_id)) + client_id + b"\x00"
               + b"\x07future\x04v99\x00")
    return struct.pack(">i", len(payload)) + payload


def test_api_versions_of_an_unknown_version_is_decoded_not_refused():
    server = ServerConnection()
    server.receive_data(_unknown_api_versions_request())
    request = server.next_request()
    assert (request.api_key, request.api_version, request.correlation_id) == (18, 7, 42)
    assert request.client_id == "future"
    assert request.version_supported is False
    assert request.expects_response


def test_unsupported_version_answer_is_a_v0_body_with_header_v0():
    server = ServerConnection()
    server.receive_data(_unknown_api_versions_request())
    request = server.next_request()
    body = API_VERSIONS.Response(error_code=35, api_keys=[
        API_VERSIONS.Response.ApiVersion(api_key=18, min_version=0, max_version=4)])
    data = server.send_response(request, body)
    assert data == bytes.fromhex(
        "00000010"        # size: 16
        "0000002a"        # correlation id 42, no header tag byte
        "0023"            # error_code 35 UNSUPPORTED_VERSION
        "00000001"        # api_keys: classic array of one
        "0012" "0000" "0004"  # ApiVersions 0..4; no throttle_time_ms in v0
    )


@pytest.mark.parametrize("version", [3, 4])
def test_api_versions_v3_plus_response_uses_header_v0(version):
    request = Request(18, version, 5, "c", API_VERSIONS.Request())
    body = API_VERSIONS.Response(error_code=0, throttle_time_ms=0, api_keys=[
        API_VERSIONS.Response.ApiVersion(api_key=18, min_version=0, max_version=4)])
    data = ServerConnection().send_response(request, body)
    assert data == bytes.fromhex(
        "00000013"        # size: 19
        "00000005"        # correlation id, directly followed by the body
        "0000"            # error_code
        "02" "0012" "0000" "0004" "00"  # compact array of one, entry's tag count
        "00000000"        # throttle_time_ms
        "00"              # body tag count
    )


@pytest.mark.parametrize("version, flexible", [(8, False), (9, True), (12, True)])
def test_metadata_response_header_tag_byte_from_v9(version, flexible):
    request = Request(METADATA.key, version, 0x01020304, "c", METADATA.Request())
    body = METADATA.Response(brokers=[METADATA.Response.MetadataResponseBroker(
        node_id=0, host="localhost", port=9092)], cluster_id="kgw", controller_id=0, topics=[])
    data = ServerConnection().send_response(request, body)
    body_bytes = RESPONSE_CODECS[METADATA.key, version].to_bytes(body)
    header = bytes.fromhex("01020304") + (b"\x00" if flexible else b"")
    assert data == struct.pack(">i", len(header) + len(body_bytes)) + header + body_bytes


def test_client_reads_an_unsupported_version_answer_as_v0():
    client = ClientConnection()
    cid, _ = client.send_request(18, 4, CASES["api_versions_v4"][2])
    answer = bytes.fromhex("00000010") + struct.pack(">i", cid) + bytes.fromhex(
        "0023" "00000001" "0012" "0000" "0003")
    client.receive_data(answer)
    response = client.next_response()
    assert isinstance(response, Response)
    assert response.correlation_id == cid
    assert response.body.error_code == 35
    assert [(k.api_key, k.min_version, k.max_version) for k in response.body.api_keys] == [(18, 0, 3)]
    assert client.next_response() is NEED_DATA


def test_a_raw_request_is_framed_as_given_and_answered_as_told():
    client = ClientConnection(client_id="future")
    client._next_correlation_id = 42
    cid, data = client.send_raw(18, 7, b"\x00\x07future\x04v99\x00", answer_as=(18, 0))
    assert cid == 42
    assert data == _unknown_api_versions_request()
    # The server reads it as the request of a newer client it is.
    server = ServerConnection()
    server.receive_data(data)
    assert server.next_request().version_supported is False
    client.receive_data(bytes.fromhex("00000010") + struct.pack(">i", cid) + bytes.fromhex(
        "0023" "00000001" "0012" "0000" "0004"))
    response = client.next_response()
    assert (response.api_key, response.api_version, response.body.error_code) == (18, 0, 35)


def test_a_raw_request_without_an_answer_leaves_nothing_in_flight():
    client = ClientConnection()
    cid, data = client.send_raw(9999, 0, b"", answer_as=None)
    assert data == struct.pack(">ihhih", 13, 9999, 0, cid, 3) + b"kgw"
    client.receive_data(struct.pack(">ii", 4, cid))
    with pytest.raises(DecodeError):
        client.next_response()


@pytest.mark.parametrize("name", ["api_versions_v3", "metadata_v12_null", "produce_v9", "fetch_v16",
                                  "metadata_v1_null", "produce_v3", "fetch_v4"])
def test_request_response_round_trip_through_both_sides(name):
    api, version, body = CASES[name]
    client = ClientConnection()
    server = ServerConnection()
    cid, data = client.send_request(api.key, version, body)
    server.receive_data(data)
    request = server.next_request()
    reply = _response_for(api, version)
    client.receive_data(server.send_response(request, reply))
    response = client.next_response()
    assert (response.api_key, response.api_version, response.correlation_id) == (api.key, version, cid)
    assert response.body == reply


def _response_for(api, version):
    if api is PRODUCE:
        Topic = PRODUCE.Response.TopicProduceResponse
        return PRODUCE.Response(responses=[Topic(name="orders", partition_responses=[
            Topic.PartitionProduceResponse(index=0, error_code=0, base_offset=100,
                                           log_start_offset=0 if version >= 5 else -1)])])
    if api is FETCH:
        Topic = FETCH.Response.FetchableTopicResponse
        part = Topic.PartitionData(partition_index=3, error_code=0, high_watermark=10,
                                   last_stable_offset=10, aborted_transactions=None,
                                   records=RECORDS_B)
        if version >= 5:
            part.log_start_offset = 0
        topic = (Topic(topic_id=uuid.UUID(int=5), partitions=[part]) if version >= 13
                 else Topic(topic="orders", partitions=[part]))
        return FETCH.Response(throttle_time_ms=0, responses=[topic])
    if api is METADATA:
        return METADATA.Response(brokers=[METADATA.Response.MetadataResponseBroker(
            node_id=0, host="localhost", port=9092)], topics=[])
    return API_VERSIONS.Response(api_keys=[
        API_VERSIONS.Response.ApiVersion(api_key=k, min_version=a.min_version, max_version=a.max_version)
        for k, a in sorted(APIS.items())])


def test_client_refuses_a_response_nobody_asked_for():
    client = ClientConnection()
    client.receive_data(struct.pack(">ii", 4, 77))
    with pytest.raises(DecodeError):
        client.next_response()


# --- unsupported requests -------------------------------------------------------------

def _raw_request(api_key, api_version, correlation_id, rest=b"\x00\x01c" + b"\x00" * 20):
    payload = struct.pack(">hhi", api_key, api_version, correlation_id) + rest
    return struct.pack(">i", len(payload)) + payload


@pytest.mark.parametrize("api_key, api_version", [
    (9999, 0), (-1, 0), (FETCH.key, 3), (FETCH.key, 17), (PRODUCE.key, 11), (API_VERSIONS.key, -1),
])
def test_unsupported_request(api_key, api_version):
    server = ServerConnection()
    server.receive_data(_raw_request(api_key, api_version, 1234) + _frame("metadata_v1_null", correlation_id=9))
    with pytest.raises(UnsupportedRequest) as info:
        server.next_request()
    err = info.value
    assert (err.api_key, err.api_version, err.correlation_id) == (api_key, api_version, 1234)
    assert isinstance(err, ProtocolError)
    # The refused frame was consumed whole, so the stream is still in step.
    _check(server.next_request(), "metadata_v1_null", correlation_id=9)


def test_frame_shorter_than_a_request_header():
    server = ServerConnection()
    server.receive_data(struct.pack(">i", 5) + b"\x00\x03\x00\x01\x00")
    with pytest.raises(DecodeError):
        server.next_request()


# --- expects_response -------------------------------------------------------------------

@pytest.mark.parametrize("version", [3, 9])
def test_only_produce_with_acks_0_goes_unanswered(version):
    for acks, expected in [(0, False), (1, True), (-1, True)]:
        client = ClientConnection()
        cid, data = client.send_request(PRODUCE.key, version, _produce(version, acks=acks))
        server = ServerConnection()
        server.receive_data(data)
        assert server.next_request().expects_response is expected
        # The client does not wait for an answer it will never get.
        request = Request(PRODUCE.key, version, cid, None, None)
        client.receive_data(join_parts(encode_response(request, _response_for(PRODUCE, version))))
        if expected:
            assert client.next_response().correlation_id == cid
        else:
            with pytest.raises(DecodeError):
                client.next_response()
    for name in CASES:
        if not name.startswith("produce"):
            server = ServerConnection()
            server.receive_data(_frame(name))
            assert server.next_request().expects_response


# --- fuzzing -----------------------------------------------------------------------------

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _chunks(draw, data):
    if not data:
        return []
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=8)))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)]) if a < b]


def _pump_server(chunks, eof, max_frame_size=1 << 16):
    """Feed chunks; pull after each.  Returns the requests decoded before the
    first ProtocolError (if any).  Any other exception fails the test."""
    server = ServerConnection(max_frame_size=max_frame_size)
    out = []
    try:
        for chunk in chunks + ([b""] if eof else []):
            server.receive_data(chunk)
            while True:
                item = server.next_request()
                if item is NEED_DATA or item is CLOSED:
                    break
                assert isinstance(item, Request)
                out.append(item)
    except ProtocolError:
        pass
    return out


@FUZZ
@given(st.binary(max_size=300), st.booleans(), st.data())
def test_fuzz_random_bytes(blob, eof, data):
    _pump_server(_chunks(data.draw, blob), eof)


def _header_then(draw):
    """A size-consistent frame with a real (api, version) header and random body,
    which reaches the body decoders rather than stopping at the size prefix."""
    key, version = draw(st.sampled_from([(key, v) for key, api in sorted(APIS.items())
                                          for v in range(api.min_version, api.max_version + 1)]))
    body = draw(st.binary(max_size=120))
    client_id = draw(st.sampled_from([b"\xff\xff", b"\x00\x00", b"\x00\x01c"]))
    tags = b"\x00" if APIS[key].is_flexible(version) else b""
    payload = struct.pack(">hhi", key, version, 1) + client_id + tags + body
    return struct.pack(">i", len(payload)) + payload


@FUZZ
@given(st.data())
def test_fuzz_random_bodies_behind_valid_headers(data):
    frames = b"".join(_header_then(data.draw) for _ in range(data.draw(st.integers(1, 3))))
    _pump_server(_chunks(data.draw, frames), data.draw(st.booleans()))


@FUZZ
@given(st.sampled_from(ALL_FRAMES), st.data())
def test_fuzz_truncated_frames_are_refused(frame, data):
    keep = data.draw(st.integers(0, len(frame) - 5))
    payload = frame[4:4 + keep]
    # With the size prefix rewritten to match, the frame is well delimited but
    # its body is cut short: it must be refused, never decoded as something else.
    server = ServerConnection()
    server.receive_data(struct.pack(">i", len(payload)) + payload)
    with pytest.raises(ProtocolError):
        server.next_request()
    # With the original prefix, the stream just ends early.
    _pump_server(_chunks(data.draw, frame[:4 + keep]), True)


@FUZZ
@given(st.sampled_from(ALL_FRAMES), st.data())
def test_fuzz_byte_flips(frame, data):
    mutated = bytearray(frame)
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(frame) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4))
    for at, mask in flips:
        mutated[at] ^= mask
    stream = bytes(mutated) + data.draw(st.sampled_from([b"", ALL_FRAMES[3]]))
    _pump_server(_chunks(data.draw, stream), data.draw(st.booleans()))


def _response_frames():
    frames = []
    for name in ["api_versions_v3", "metadata_v12_null", "produce_v9", "fetch_v16",
                 "metadata_v1_null", "produce_v3", "fetch_v4", "fetch_v12"]:
        api, version, _ = CASES[name]
        request = Request(api.key, version, len(frames), None, None)
        frames.append((api.key, version, join_parts(encode_response(request, _response_for(api, version)))))
    return frames


RESPONSE_FRAMES = _response_frames()
CASES_BY_KEY_VERSION = {(api.key, version): body for api, version, body in CASES.values()}


@FUZZ
@given(st.data())
def test_fuzz_client_responses(data):
    client = ClientConnection()
    for key, version, _ in RESPONSE_FRAMES:
        client.send_request(key, version, CASES_BY_KEY_VERSION[key, version])
    kind = data.draw(st.sampled_from(["random", "flip", "truncate"]))
    if kind == "random":
        stream = data.draw(st.binary(max_size=300))
    else:
        _, _, frame = data.draw(st.sampled_from(RESPONSE_FRAMES))
        stream = bytearray(frame)
        if kind == "flip":
            for at, mask in data.draw(st.lists(st.tuples(st.integers(0, len(frame) - 1),
                                                         st.integers(1, 255)), min_size=1, max_size=4)):
                stream[at] ^= mask
        else:
            keep = data.draw(st.integers(0, len(frame) - 5))
            stream = struct.pack(">i", keep) + frame[4:4 + keep]
        stream = bytes(stream)
    refused = False
    try:
        for chunk in _chunks(data.draw, stream) + ([b""] if data.draw(st.booleans()) else []):
            client.receive_data(chunk)
            while True:
                item = client.next_response()
                if item is NEED_DATA or item is CLOSED:
                    break
                assert isinstance(item, Response)
    except ProtocolError:
        refused = True
    # A response cut short but correctly delimited must never decode.
    assert refused or kind != "truncate"



# --- protocol/ stays sans-IO -------------------------------------------------------------

FORBIDDEN = {"trio", "socket", "kgw", "asyncio", "selectors", "anyio"}


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              in ("__import__", "import_module") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value


def test_protocol_sources_import_no_io():
    sources = sorted(PROTOCOL_DIR.rglob("*.py"))
    assert len(sources) > 5
    for path in sources:
        tree = ast.parse(path.read_text(), str(path))
        bad = {m for m in _imported_modules(tree) if m.split(".")[0] in FORBIDDEN}
        assert not bad, f"{path.relative_to(REPO_ROOT)} imports {sorted(bad)}"


def test_importing_protocol_loads_no_io_modules():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        import uuid, struct, dataclasses, enum, collections
        for dependency in ("crc32c", "cramjam"):
            try:
                importlib.import_module(dependency)
            except ImportError:
                pass
        baseline = set(sys.modules)
        import protocol
        for info in pkgutil.walk_packages(protocol.__path__, "protocol."):
            importlib.import_module(info.name)
        print(" ".join(sorted(m for m in set(sys.modules) - baseline if m.split(".")[0] != "protocol")))
        print(" ".join(sorted(m for m in baseline)))
        print(" ".join(sorted(m for m in sys.modules if m.startswith("protocol."))))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True)
    added, baseline, loaded = (line.split() for line in result.stdout.splitlines())
    assert "protocol.connection" in loaded and "protocol.messages" in loaded
    # Third-party dependencies may pull socket in (crc32c 2.9 loads
    # importlib.metadata, which imports email.utils, which imports socket), so
    # only what importing protocol itself adds is held against it; the AST
    # scan above covers protocol's own imports of socket.
    forbidden = {"trio", "kgw"} | ({"socket", "_socket"} - set(baseline))
    assert not {m for m in added if m.split(".")[0] in forbidden}
