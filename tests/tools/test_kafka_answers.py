"""Answers Kafka gives and a live kgw does not, from a scripted broker: a
topic being created (UNKNOWN_TOPIC_OR_PARTITION until its controller has
made it, in KRaft) and a group coordinator still loading (NOT_COORDINATOR)."""

from protocol.error_codes import ErrorCode
from protocol.messages import DESCRIBE_GROUPS, FIND_COORDINATOR, METADATA, OFFSET_FETCH, PRODUCE

from .conftest import tool_runner
from .scripted_broker import ScriptedBroker


def _metadata(broker: ScriptedBroker, request, known: bool):
    Response = METADATA.Response
    topic = request.body.topics[0].name
    partitions = [Response.MetadataResponseTopic.MetadataResponsePartition(
        error_code=0, partition_index=0, leader_id=0, replica_nodes=[0], isr_nodes=[0])] if known else []
    return Response(
        brokers=[Response.MetadataResponseBroker(node_id=0, host="127.0.0.1", port=broker.port)],
        cluster_id="c", controller_id=0, topics=[Response.MetadataResponseTopic(
            error_code=0 if known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=topic,
            partitions=partitions)])


def test_produce_waits_for_the_topic_it_asked_to_be_created():
    asked_to_create = []

    def answer(request):
        if request.api_key == METADATA.key:
            asked_to_create.append(request.body.allow_auto_topic_creation)
            return _metadata(broker, request, known=len(asked_to_create) > 2)
        assert request.api_key == PRODUCE.key
        Response = PRODUCE.Response
        return Response(responses=[Response.TopicProduceResponse(name="t", partition_responses=[
            Response.TopicProduceResponse.PartitionProduceResponse(index=0, error_code=0, base_offset=0)])])

    with ScriptedBroker(answer) as broker:
        result = tool_runner(broker.bootstrap)("produce", "t", input="a\n")
    assert (result.exit_code, result.stderr) == (0, "")
    assert asked_to_create == [True, True, True]
    assert broker.asked.count(PRODUCE.key) == 1


def test_produce_with_no_create_does_not_wait():
    asked_to_create = []

    def answer(request):
        asked_to_create.append(request.body.allow_auto_topic_creation)
        return _metadata(broker, request, known=False)

    with ScriptedBroker(answer) as broker:
        result = tool_runner(broker.bootstrap)("produce", "t", "--no-create", input="a\n")
    assert (result.exit_code, result.stderr) == (1, "Error: unknown topic 't'\n")
    assert asked_to_create == [False]


def test_a_coordinator_still_loading_is_asked_again():
    described = []

    def answer(request):
        if request.api_key == FIND_COORDINATOR.key:
            Response = FIND_COORDINATOR.Response
            return Response(error_code=0, node_id=0, host="127.0.0.1", port=broker.port, coordinators=[
                Response.Coordinator(key="g", node_id=0, host="127.0.0.1", port=broker.port, error_code=0)])
        if request.api_key == DESCRIBE_GROUPS.key:
            described.append(request.api_key)
            error = ErrorCode.NOT_COORDINATOR if len(described) <= 2 else ErrorCode.NONE
            return DESCRIBE_GROUPS.Response(groups=[DESCRIBE_GROUPS.Response.DescribedGroup(
                error_code=error, group_id="g", group_state="Empty", protocol_type="", protocol_data="",
                members=[])])
        assert request.api_key == OFFSET_FETCH.key
        Response = OFFSET_FETCH.Response
        return Response(groups=[Response.OffsetFetchResponseGroup(group_id="g", topics=[], error_code=0)],
                        topics=[], error_code=0)

    with ScriptedBroker(answer) as broker:
        result = tool_runner(broker.bootstrap)("groups", "describe", "g", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert '"state": "Empty"' in result.stdout
    assert len(described) == 3
    # FindCoordinator again after each NOT_COORDINATOR, as Kafka's clients do.
    assert broker.asked.count(FIND_COORDINATOR.key) == 3
