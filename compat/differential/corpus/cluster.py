"""ApiVersions, Metadata and DescribeCluster, and what a broker does with
API keys and versions it does not know."""

import struct
import uuid

from protocol.messages import API_VERSIONS, DESCRIBE_CLUSTER, METADATA

from ..scenario import Ref, raw, scenario, step
from .common import create, topic_id


def metadata(version: int, *names, auto_create: bool = False, **fields):
    topics = None if names == (None,) else [{"name": n} for n in names]
    return step(METADATA, version, {"topics": topics, "allow_auto_topic_creation": auto_create, **fields})


def describe_cluster(version: int, operations: bool = False, **fields):
    return step(DESCRIBE_CLUSTER, version, {"include_cluster_authorized_operations": operations, **fields})


SCENARIOS = [
    *[scenario(f"apiversions.v{v}", step(API_VERSIONS, v, {
        "client_software_name": "kgw-differential", "client_software_version": "1.0"}))
      for v in range(0, 5)],
    # A newer client's ApiVersions (KIP-511): a v0 answer with error 35.
    scenario("apiversions.unknown-version",
             raw(18, 9, b"\x00\x11kgw-differential\x041.0\x00", answer_as=(18, 0))),
    scenario("apiversions.v3.invalid-software-name", step(API_VERSIONS, 3, {
        "client_software_name": "bad name!", "client_software_version": "1.0"})),
    scenario("apiversions.v3.empty-software-name", step(API_VERSIONS, 3, {
        "client_software_name": "", "client_software_version": ""})),
    # Requests a broker cannot serve close the connection; the next
    # connection is served as usual.
    scenario("apikey.unknown", raw(9999, 0, b"", answer_as=(18, 0)), step(API_VERSIONS, 0)),
    scenario("apikey.negative", raw(-1, 0, b"", answer_as=(18, 0))),
    scenario("apikey.known-but-not-served", raw(29, 1, struct.pack(">i", 0), answer_as=(18, 0))),
    scenario("apiversion.fetch-v3", raw(1, 3, b"", answer_as=(18, 0))),
    scenario("apiversion.metadata-v99", raw(3, 99, b"", answer_as=(18, 0))),
    scenario("apiversion.listoffsets-v0", raw(2, 0, struct.pack(">ii", -1, 0), answer_as=(18, 0))),
    scenario("apiversion.offsetcommit-v1", raw(8, 1, b"", answer_as=(18, 0))),
    scenario("apiversion.writetxnmarkers-v0", raw(27, 0, struct.pack(">i", 0), answer_as=(18, 0))),
    scenario("request.truncated-body", raw(3, 12, b"\x00\x05", answer_as=(3, 12))),
    *[scenario(f"metadata.v{v}.named", create("t", partitions=2), metadata(v, "$t"))
      for v in range(0, 13)],
    *[scenario(f"metadata.v{v}.all", create("t"), metadata(v, None)) for v in range(1, 13)],
    *[scenario(f"metadata.v{v}.none", create("t"), metadata(v)) for v in range(1, 13)],
    *[scenario(f"metadata.v{v}.auto-create", metadata(v, "$t", auto_create=True))
      for v in (4, 9, 12)],
    scenario("metadata.v0.auto-create", metadata(0, "$t")),
    scenario("metadata.unknown-no-auto-create", metadata(12, "$t")),
    scenario("metadata.invalid-name-auto-create", metadata(12, "bad$name", "$" + "x" * 250, auto_create=True)),
    scenario("metadata.internal-topics", metadata(12, "__consumer_offsets", "__transaction_state")),
    *[scenario(f"metadata.v{v}.by-id", create("t"), topic_id("t"),
               step(METADATA, v, {"topics": [{"name": None, "topic_id": Ref("id:t")}],
                                  "allow_auto_topic_creation": False}))
      for v in (10, 12)],
    scenario("metadata.v10.name-and-id", create("t"), topic_id("t"),
             step(METADATA, 10, {"topics": [{"name": "$t", "topic_id": Ref("id:t")}],
                                 "allow_auto_topic_creation": False})),
    scenario("metadata.v12.unknown-id", step(METADATA, 12, {
        "topics": [{"name": None, "topic_id": uuid.UUID(int=12345)}]})),
    *[scenario(f"metadata.v{v}.authorized-operations", create("t"), metadata(
        v, "$t", include_topic_authorized_operations=True, include_cluster_authorized_operations=True))
      for v in (8, 10, 11)],
    *[scenario(f"describecluster.v{v}", describe_cluster(v)) for v in range(0, 3)],
    scenario("describecluster.authorized-operations", describe_cluster(1, operations=True)),
    scenario("describecluster.v2.authorized-operations", describe_cluster(2, operations=True)),
    # v2 (KIP-1073) may ask for the fenced brokers too.
    scenario("describecluster.v2.include-fenced", describe_cluster(2, include_fenced_brokers=True)),
    # A broker asked for the controllers (endpoint type 2) answers
    # MISMATCHED_ENDPOINT_TYPE; a type neither knows, UNSUPPORTED_ENDPOINT_TYPE.
    *[scenario(f"describecluster.v{v}.controllers", describe_cluster(v, endpoint_type=2)) for v in (1, 2)],
    *[scenario(f"describecluster.v{v}.unknown-endpoint-type", describe_cluster(v, endpoint_type=7),
               describe_cluster(v, endpoint_type=0), describe_cluster(v, endpoint_type=-1))
      for v in (1, 2)],
    scenario("describecluster.v2.controllers-with-fenced", describe_cluster(
        2, operations=True, endpoint_type=2, include_fenced_brokers=True)),
]
