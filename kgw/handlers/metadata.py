"""Metadata 0-12 and DescribeCluster 0-1: one node, node 0, leads everything."""

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import DESCRIBE_CLUSTER, METADATA

from .. import authorized_operations as ops
from ..broker import Broker
from ..log import LogError
from . import RequestContext, handles

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
    if wanted.name is None:
        # v10+: a topic asked for by id.
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
    Cluster = DESCRIBE_CLUSTER.Response
    return Cluster(
        throttle_time_ms=0, error_code=ErrorCode.NONE, error_message=None, endpoint_type=1,
        cluster_id=broker.cluster_id, controller_id=broker.node_id,
        brokers=[Cluster.DescribeClusterBroker(broker_id=broker.node_id, host=broker.advertised_host,
                                               port=broker.advertised_port, rack=None)],
        cluster_authorized_operations=ops.reported(
            ops.CLUSTER, request.body.include_cluster_authorized_operations))
