"""ApiVersions, Metadata and DescribeCluster, and what a broker does with
API keys and versions it does not know."""

from protocol.messages import API_VERSIONS, DESCRIBE_CLUSTER, METADATA

from ..scenario import raw, scenario, step
from .common import create

SCENARIOS = [
    *[scenario(f"apiversions.v{v}", step(API_VERSIONS, v, {
        "client_software_name": "kgw-differential", "client_software_version": "1.0"}))
      for v in range(0, 5)],
    # A newer client's ApiVersions (KIP-511): a v0 answer with error 35.
    scenario("apiversions.unknown-version",
             raw(18, 9, b"\x00\x11kgw-differential\x041.0\x00", answer_as=(18, 0))),
    scenario("apikey.unknown", raw(9999, 0, b"", answer_as=(18, 0))),
    *[scenario(f"metadata.v{v}.named", create("t", partitions=2),
               step(METADATA, v, {"topics": [{"name": "$t"}], "allow_auto_topic_creation": False}))
      for v in range(0, 13)],
    *[scenario(f"describecluster.v{v}", step(DESCRIBE_CLUSTER, v, {
        "include_cluster_authorized_operations": False}))
      for v in range(0, 2)],
]
