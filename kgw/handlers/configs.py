"""Configs: DescribeConfigs 1-4, AlterConfigs 0-2, IncrementalAlterConfigs 0-1.

Topic configs change at runtime, as in Kafka, and are kept in the topic's
metadata file.  The broker resource is this node (its id) or the
cluster-wide defaults (""): what Kafka lets change there and kgw can act
on changes at once and is kept in the data dir; the rest is read-only
(see kgw.broker_configs).
"""

from collections import Counter

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import ALTER_CONFIGS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS

from .. import broker_configs
from ..broker import Broker
from ..log import ConfigOp, LogError, apply_changes
from ..log.topic import check_config_resource_name
from . import RequestContext, handles

# Kafka's ConfigResource types.
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4


def _resource_error(broker, resource, altering: bool = False) -> tuple[ErrorCode, str] | None:
    """Why a resource cannot be described or altered, if it cannot (Kafka's
    messages).  A topic's name is judged first; whether the topic exists
    only when describing: an alteration judges its configs before that."""
    if resource.resource_type == TOPIC_RESOURCE:
        name = resource.resource_name
        if altering and name == "":
            return ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed."
        try:
            check_config_resource_name(name)
        except LogError as exc:
            return exc.code, exc.message
        if not altering and broker.log.topic(name) is None:
            # Kafka leaves this message at its default, "".
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ""
        return None
    if resource.resource_type == BROKER_RESOURCE:
        name = resource.resource_name
        if name == "":
            return None
        try:
            node = int(name)
        except ValueError:
            what = "Node" if altering else "Broker"
            return ErrorCode.INVALID_REQUEST, f"{what} id must be an integer, but it is: {name}"
        if node != broker.node_id:
            expected = broker.node_id if altering else f"{broker.node_id} or empty string"
            return ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {expected}, but received {name}"
        return None
    return ErrorCode.INVALID_REQUEST, f"Unsupported resource type {resource.resource_type}"


@handles(DESCRIBE_CONFIGS)
async def describe_configs(broker: Broker, request: Request, context: RequestContext):
    Response = DESCRIBE_CONFIGS.Response
    Result = Response.DescribeConfigsResult
    Entry = Result.DescribeConfigsResourceResult
    results = []
    for resource in request.body.resources:
        # Kafka leaves a described resource's message at its default, "".
        result = Result(error_code=ErrorCode.NONE, error_message="",
                        resource_type=resource.resource_type, resource_name=resource.resource_name)
        results.append(result)
        error = _resource_error(broker, resource)
        if error is not None:
            result.error_code, result.error_message = error
            continue
        if resource.resource_type == TOPIC_RESOURCE:
            topic = broker.log.topic(resource.resource_name)
            entries = topic.describe_configs() if topic is not None else []
        elif resource.resource_name == "":
            entries = broker_configs.describe_cluster_defaults(broker)
        else:
            entries = broker_configs.describe_broker(broker)
        keys = resource.configuration_keys
        with_synonyms = request.body.include_synonyms
        with_docs = request.body.include_documentation
        result.configs = [
            Entry(name=e.name, value=e.value, read_only=e.read_only, config_source=e.source,
                  is_sensitive=e.sensitive, config_type=e.config_type,
                  documentation=e.documentation if with_docs else None,
                  synonyms=[Entry.DescribeConfigsSynonym(name=s.name, value=s.value, source=s.source)
                            for s in e.synonyms] if with_synonyms else [])
            # No keys, or none named: every config, as Kafka answers.
            for e in entries if not keys or e.name in keys]
    return Response(throttle_time_ms=0, results=results)


def _request_error(resource, repeated: bool) -> tuple[ErrorCode, str] | None:
    """What Kafka refuses in the request itself, before looking at the resource."""
    if repeated:
        return ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."
    names = [c.name for c in resource.configs]
    if len(set(names)) < len(names):
        return ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys"
    for config in resource.configs:
        # AlterConfigs has no operation: a null value is never allowed there.
        if config.value is None and getattr(config, "config_operation", None) != ConfigOp.DELETE:
            return ErrorCode.INVALID_REQUEST, f"Null value not supported for : {config.name}"
    return None


def _alter(broker, request, Response, new_overrides, new_broker_configs):
    """Each resource's changes, all or nothing per resource, as Kafka applies
    them; `new_overrides(current, configs)` is a topic's overrides after
    them, `new_broker_configs(current, configs)` a broker layer's, with the
    names it sets."""
    Result = Response.AlterConfigsResourceResponse
    seen = Counter((r.resource_type, r.resource_name) for r in request.body.resources)
    results = []
    for resource in request.body.resources:
        result = Result(error_code=ErrorCode.NONE, error_message=None,
                        resource_type=resource.resource_type, resource_name=resource.resource_name)
        results.append(result)
        repeated = seen[resource.resource_type, resource.resource_name] > 1
        error = _request_error(resource, repeated) or _resource_error(broker, resource, altering=True)
        if error is not None:
            result.error_code, result.error_message = error
            continue
        try:
            if resource.resource_type == BROKER_RESOURCE:
                level = broker_configs.level_of(resource.resource_name)
                configs, names = new_broker_configs(broker.log.layers.dynamic[level], resource.configs)
                refusal = broker_configs.read_only_refusal(names)
                if refusal is not None:
                    raise refusal
                # Kafka judges the values before what ELR refuses.
                broker.log.layers.check(configs)
                refusal = broker_configs.elr_refusal(level, configs, [c.name for c in resource.configs])
                if refusal is not None:
                    raise refusal
                broker.log.alter_broker_configs(level, configs, validate_only=request.body.validate_only)
                continue
            topic = broker.log.topic(resource.resource_name)
            overrides = new_overrides(topic.overrides if topic else {}, resource.configs)
            broker.log.alter_topic_configs(resource.resource_name, overrides,
                                           validate_only=request.body.validate_only)
        except LogError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    return Response(throttle_time_ms=0, responses=results)


@handles(ALTER_CONFIGS)
async def alter_configs(broker: Broker, request: Request, context: RequestContext):
    # The given configs become the resource's whole set, a topic's
    # overrides or a broker layer, as in Kafka.
    def replaced(current, configs):
        return {c.name: c.value for c in configs}

    async with broker.topics.lock:
        return _alter(broker, request, ALTER_CONFIGS.Response, replaced,
                      lambda current, configs: (replaced(current, configs), [c.name for c in configs]))


@handles(INCREMENTAL_ALTER_CONFIGS)
async def incremental_alter_configs(broker: Broker, request: Request, context: RequestContext):
    def changes(configs):
        return [(c.name, c.config_operation, c.value) for c in configs]

    async with broker.topics.lock:
        return _alter(broker, request, INCREMENTAL_ALTER_CONFIGS.Response,
                      lambda current, configs: apply_changes(current, changes(configs)),
                      lambda current, configs: (
                          broker_configs.apply_broker_changes(broker, current, changes(configs)),
                          [c.name for c in configs if c.config_operation != ConfigOp.DELETE]))
