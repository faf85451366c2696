"""Metadata 0-12 and DescribeCluster 0-2: one node, node 0, leads everything."""

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import DESCRIBE_CLUSTER, METADATA
from protocol.primitives import NULL_UUID

from .. import authorized_operations as ops
from ..broker import Broker
from ..log import LogError
from . import RequestContext, handles

# DescribeCluster's EndpointType (KIP-919).
BROKER_ENDPOINT = 1
CONTROLLER_ENDPOINT = 2
FIRST_BY_TOPIC_ID = 12

Response = METADATA.Response
Topic = Response.MetadataResponseTopic
Partition = Response.MetadataResponseTopic.MetadataResponsePartition


def topic_metadata(broker, topic, include_ops: bool):
    return Topic(
        error_code=ErrorCode.NONE, name=topic.name, topic_id=topic.topic_id, is_internal=False,
        partitions=[_partition(broker.node_id, p) for p in topic.partitions],
        topic_authorized_operations=ops.reported(ops.TOPIC, include_ops))


def _partition(node: int, partition):
    if partition.offline is not None:
        # Its only replica's log is offline: as Kafka reports a partition
        # whose leader went with a failed log directory, so that clients
        # wait for it rather than reset their offsets.
        return Partition(error_code=ErrorCode.LEADER_NOT_AVAILABLE, partition_index=partition.index,
                         leader_id=-1, leader_epoch=partition.leader_epoch, replica_nodes=[node],
                         isr_nodes=[], offline_replicas=[node])
    return Partition(error_code=ErrorCode.NONE, partition_index=partition.index, leader_id=node,
                     leader_epoch=partition.leader_epoch, replica_nodes=[node], isr_nodes=[node],
                     offline_replicas=[])


def _error_topic(code: ErrorCode, name, topic_id=None):
    topic = Topic(error_code=code, name=name, is_internal=False, partitions=[],
                  topic_authorized_operations=ops.NOT_REQUESTED)
    if topic_id is not None:
        topic.topic_id = topic_id
    return topic


@handles(METADATA)
async def metadata(broker: Broker, request: Request, context: RequestContext):
    body = request.body
    # Before v4 there was no flag and every Metadata request could create.
    allow_create = body.allow_auto_topic_creation if request.api_version >= 4 else True
    include_ops = body.include_topic_authorized_operations
    if request.api_version < FIRST_BY_TOPIC_ID and body.topics and any(
            t.name is None or t.topic_id != NULL_UUID for t in body.topics):
        # v10-11 carry topic ids but Kafka serves lookups by id only from
        # v12: it refuses the request, each topic with INVALID_REQUEST and
        # no broker named (MetadataRequest.getErrorResponse).
        return Response(throttle_time_ms=0, brokers=[], cluster_id=None, controller_id=-1, topics=[
            _error_topic(ErrorCode.INVALID_REQUEST, t.name or "", t.topic_id) for t in body.topics])
    if body.topics is None or (request.api_version == 0 and not body.topics):
        # Null asks for every topic; so does an empty list in v0.
        topics = [topic_metadata(broker, t, include_ops) for t in broker.log.topics()]
    else:
        topics = [await _one_topic(broker, wanted, allow_create, include_ops)
                  for wanted in body.topics]
    return Response(
        throttle_time_ms=0,
        brokers=[Response.MetadataResponseBroker(node_id=broker.node_id, host=broker.advertised_host,
                                                 port=broker.advertised_port, rack=None)],
        cluster_id=broker.cluster_id, controller_id=broker.node_id, topics=topics,
        cluster_authorized_operations=ops.reported(
            ops.CLUSTER, request.api_version <= 10 and body.include_cluster_authorized_operations))


async def _one_topic(broker, wanted, allow_create: bool, include_ops: bool):
    if wanted.topic_id not in (None, NULL_UUID):
        # v12+: a topic asked for by id. Kafka looks it up by the id whenever
        # one is set and ignores the name, which the Java admin client leaves
        # at "" (its default) rather than null.
        topic = broker.log.topic_by_id(wanted.topic_id)
        if topic is None:
            return _error_topic(ErrorCode.UNKNOWN_TOPIC_ID, None, wanted.topic_id)
        return topic_metadata(broker, topic, include_ops)
    try:
        topic = await broker.topic_or_create(wanted.name, allow_create)
    except LogError as exc:
        return _error_topic(exc.code, wanted.name)
    if topic is None:
        return _error_topic(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, wanted.name)
    return topic_metadata(broker, topic, include_ops)


@handles(DESCRIBE_CLUSTER)
async def describe_cluster(broker: Broker, request: Request, context: RequestContext):
    """v2 (KIP-1073) may ask for fenced brokers too; a single node is never
    fenced while it answers.  kgw's one listener is a broker's: asking it
    for controllers (endpoint type 2) is MISMATCHED_ENDPOINT_TYPE, as on a
    Kafka broker, and any other type UNSUPPORTED_ENDPOINT_TYPE."""
    Cluster = DESCRIBE_CLUSTER.Response
    body = request.body
    if body.endpoint_type != BROKER_ENDPOINT:
        error, message = ((ErrorCode.MISMATCHED_ENDPOINT_TYPE,
                           "The request was sent to an endpoint of type BROKER, but we wanted an "
                           "endpoint of type CONTROLLER")
                          if body.endpoint_type == CONTROLLER_ENDPOINT else
                          (ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
                           f"Unsupported endpoint type {body.endpoint_type}"))
        return Cluster(throttle_time_ms=0, error_code=error, error_message=message,
                       endpoint_type=BROKER_ENDPOINT, cluster_id="", controller_id=-1, brokers=[],
                       cluster_authorized_operations=ops.NOT_REQUESTED)
    return Cluster(
        throttle_time_ms=0, error_code=ErrorCode.NONE, error_message=None,
        endpoint_type=BROKER_ENDPOINT, cluster_id=broker.cluster_id, controller_id=broker.node_id,
        brokers=[Cluster.DescribeClusterBroker(broker_id=broker.node_id, host=broker.advertised_host,
                                               port=broker.advertised_port, rack=None,
                                               is_fenced=False)],
        cluster_authorized_operations=ops.reported(
            ops.CLUSTER, body.include_cluster_authorized_operations))
