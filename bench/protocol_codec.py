"""How much the wire codec costs per request, and whether big records are copied.

Run as `python -m bench.protocol_codec`.  Numbers are printed, never asserted
(DESIGN.md: benchmarks are not timed tests).  Each figure is the best of 5
medians: within a repeat, many timed batches give a median that shrugs off
GC pauses and scheduler noise; across repeats, the best median is the one
least disturbed by whatever else the machine was doing.
"""

import gc
import statistics
import struct
import time
import uuid

from protocol.connection import ClientConnection, Request, ServerConnection, encode_response, join_parts
from protocol.messages import FETCH, PRODUCE

REPEATS = 5
TARGET_US = 20.0
MIB = 1 << 20


def best_median(fn, *, inner: int, samples: int) -> float:
    """Seconds per call of `fn(i)` for i in range(inner)."""
    medians = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(REPEATS):
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                for i in range(inner):
                    fn(i)
                times.append((time.perf_counter() - start) / inner)
            medians.append(statistics.median(times))
    finally:
        if gc_was_enabled:
            gc.enable()
    return min(medians)


# --- messages ---------------------------------------------------------------

def produce_request(records: bytes, version: int):
    Topic = PRODUCE.Request.TopicProduceData
    return PRODUCE.Request(
        transactional_id=None, acks=-1, timeout_ms=30000,
        topic_data=[Topic(name="events", partition_data=[
            Topic.PartitionProduceData(index=0, records=records)])])


def produce_response(version: int):
    Topic = PRODUCE.Response.TopicProduceResponse
    return PRODUCE.Response(responses=[Topic(name="events", partition_responses=[
        Topic.PartitionProduceResponse(index=0, error_code=0, base_offset=12345,
                                       log_start_offset=0 if version >= 5 else -1)])])


def fetch_request(version: int):
    Topic = FETCH.Request.FetchTopic
    part = Topic.FetchPartition(partition=0, fetch_offset=12345, partition_max_bytes=MIB,
                                current_leader_epoch=0, log_start_offset=-1)
    topic = (Topic(topic_id=uuid.UUID(int=0x1234), partitions=[part]) if version >= 13
             else Topic(topic="events", partitions=[part]))
    body = FETCH.Request(max_wait_ms=500, min_bytes=1, max_bytes=50 * MIB, topics=[topic],
                         session_id=0, session_epoch=-1, rack_id="")
    if version < 15:
        body.replica_id = -1
    return body


def fetch_response(version: int, records: bytes):
    Topic = FETCH.Response.FetchableTopicResponse
    part = Topic.PartitionData(partition_index=0, error_code=0, high_watermark=12400,
                               last_stable_offset=12400, log_start_offset=0,
                               aborted_transactions=None, records=records)
    topic = (Topic(topic_id=uuid.UUID(int=0x1234), partitions=[part]) if version >= 13
             else Topic(topic="events", partitions=[part]))
    return FETCH.Response(throttle_time_ms=0, error_code=0, session_id=0, responses=[topic])


# --- measurements -------------------------------------------------------------

def bench_big_produce():
    records = bytes(range(256)) * (MIB // 256)
    _, frame = ClientConnection().send_request(PRODUCE.key, 9, produce_request(records, 9))

    server = ServerConnection()
    server.receive_data(frame)
    request = server.next_request()
    view = request.body.topic_data[0].partition_data[0].records
    shared = isinstance(view, memoryview) and view.obj is frame and view == records

    def one_chunk(_):
        conn = ServerConnection()
        conn.receive_data(frame)
        conn.next_request()

    # The same frame in two chunks, as a socket read would usually deliver
    # it: the reader must join them once, which is the copy one_chunk avoids.
    half = len(frame) // 2
    first, second = frame[:half], frame[half:]

    def two_chunks(_):
        conn = ServerConnection()
        conn.receive_data(first)
        conn.receive_data(second)
        conn.next_request()

    t_one = best_median(one_chunk, inner=20, samples=25)
    t_two = best_median(two_chunks, inner=5, samples=20)
    print(f"Produce v9 request, 1 MiB of records ({len(frame)} byte frame)")
    print(f"  records memoryview shares the received buffer: {'yes' if shared else 'NO (copied)'}")
    print(f"  decode, frame in one chunk   {t_one * 1e6:10.2f} us")
    print(f"  decode, frame in two chunks  {t_two * 1e6:10.2f} us   (one join copy of the frame)")
    print()


def round_trip_costs(api, version, request_body, response_body, inner=200, samples=30):
    """Client side (encode request, decode response) and server side (decode
    request, encode response) in microseconds, through the public API only."""
    _, request_frame = ClientConnection().send_request(api.key, version, request_body)
    template = join_parts(encode_response(Request(api.key, version, 0, None, request_body),
                                          response_body))
    # Responses prepared for correlation ids 0..inner-1, so that a fresh
    # client per batch matches them without touching its internals.
    responses = [template[:4] + struct.pack(">i", cid) + template[8:] for cid in range(inner)]

    server = ServerConnection()

    def server_side(_):
        server.receive_data(request_frame)
        req = server.next_request()
        server.send_response(req, response_body)

    clients = []

    def client_side(i):
        if i == 0:
            clients.append(ClientConnection())
        client = clients[-1]
        client.send_request(api.key, version, request_body)
        client.receive_data(responses[i])
        client.next_response()

    # Sanity: both sides really produced what the other expects.
    check = ClientConnection()
    cid, data = check.send_request(api.key, version, request_body)
    probe = ServerConnection()
    probe.receive_data(data)
    check.receive_data(probe.send_response(probe.next_request(), response_body))
    assert check.next_response().body == response_body

    def request_encode(i):
        if i == 0:
            clients.append(ClientConnection())
        clients[-1].send_request(api.key, version, request_body)

    def request_decode(_):
        server.receive_data(request_frame)
        server.next_request()

    t_server = best_median(server_side, inner=inner, samples=samples)
    t_client = best_median(client_side, inner=inner, samples=samples)
    t_req_enc = best_median(request_encode, inner=inner, samples=samples)
    t_req_dec = best_median(request_decode, inner=inner, samples=samples)
    clients.clear()
    req_enc, req_dec = t_req_enc * 1e6, t_req_dec * 1e6
    resp_enc, resp_dec = (t_server - t_req_dec) * 1e6, (t_client - t_req_enc) * 1e6
    return {
        "req enc": req_enc, "req dec": req_dec, "req": req_enc + req_dec,
        "resp enc": resp_enc, "resp dec": resp_dec, "resp": resp_enc + resp_dec,
        "broker": t_server * 1e6,
    }


def bench_small_messages():
    small_records = b"\x00" * 150
    rows = []
    for version in (9, 7):
        rows.append((f"Produce v{version}", round_trip_costs(
            PRODUCE, version, produce_request(small_records, version), produce_response(version))))
    for version in (12, 16):
        rows.append((f"Fetch v{version}", round_trip_costs(
            FETCH, version, fetch_request(version), fetch_response(version, small_records))))

    cols = ["req enc", "req dec", "req", "resp enc", "resp dec", "resp", "broker"]
    print("One-partition request and response, 150-byte records, in us")
    print("  (req/resp = encode + decode of that message; resp enc/dec are a side's total")
    print("  minus its request part; broker = request decode + response encode)")
    print(f"  {'message':<12}" + "".join(f"{c:>9}" for c in cols) + f"  each < {TARGET_US:.0f} us?")
    for name, costs in rows:
        verdict = "yes" if max(costs["req"], costs["resp"]) < TARGET_US else "no"
        print(f"  {name:<12}" + "".join(f"{costs[c]:9.2f}" for c in cols) + f"  {verdict}")
    print()


def bench_record_batch_crc():
    try:
        from protocol import records as rb
        RecordBatch = rb.RecordBatch
        RecordBatch.crc_ok
    except (ImportError, AttributeError) as exc:
        print(f"RecordBatch CRC: skipped, protocol.records is not ready ({exc})")
        return
    batch = _one_mib_batch(rb)
    view = RecordBatch(batch)
    if not view.crc_ok():
        print("RecordBatch CRC: skipped, the batch built for the benchmark fails its own CRC")
        return

    def header_and_crc(_):
        b = RecordBatch(batch)
        b.base_offset, b.record_count, b.magic
        b.crc_ok()

    t = best_median(header_and_crc, inner=10, samples=20)
    print(f"RecordBatch v2, {len(batch)} bytes, {view.record_count} records")
    print(f"  header view + crc_ok()       {t * 1e6:10.2f} us   ({len(batch) / t / 1e9:.2f} GB/s)")
    print()


def _one_mib_batch(rb) -> bytes:
    value = bytes(range(256)) * 256  # 64 KiB
    build = getattr(rb, "build_batch", None)
    Record = getattr(rb, "Record", None)
    if build is not None and Record is not None:
        return build([Record(offset=i, timestamp=1_700_000_000_000 + i, key=None, value=value)
                      for i in range(16)])
    # Without the builder, a hand-made batch: valid header and CRC, the
    # record bytes opaque (crc_ok never looks inside them).
    import crc32c
    payload = value * 16
    tail = struct.pack(">hiqqqhii", 0, 15, 0, 0, -1, -1, -1, 16)
    crc = crc32c.crc32c(payload, crc32c.crc32c(tail))
    return struct.pack(">qiibI", 0, 49 + len(payload), -1, 2, crc) + tail + payload


def main():
    print(f"kgw protocol codec benchmark (best of {REPEATS} medians, time.perf_counter)")
    print()
    bench_big_produce()
    bench_small_messages()
    bench_record_batch_crc()


if __name__ == "__main__":
    main()
