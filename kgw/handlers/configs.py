"""Configs: DescribeConfigs 1-4, AlterConfigs 0-2, IncrementalAlterConfigs 0-1.

Topic configs change at runtime, as in Kafka, and are kept in the topic's
metadata file.  kgw's broker configs come from its command line: they are
described, and a request to change them is refused with INVALID_CONFIG,
Kafka's answer for a config that cannot be updated dynamically.
"""

from collections import Counter

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import ALTER_CONFIGS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS

from ..broker import Broker
from ..log import ConfigOp, LogError, apply_changes
from . import RequestContext, handles

# Kafka's ConfigResource types.
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4


def _resource_error(broker, resource) -> tuple[ErrorCode, str] | None:
    """Why a resource cannot be described or altered, if it cannot."""
    if resource.resource_type == TOPIC_RESOURCE:
        if broker.log.topic(resource.resource_name) is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {resource.resource_name} does not exist"
        return None
    if resource.resource_type == BROKER_RESOURCE:
        if resource.resource_name not in ("", str(broker.node_id)):
            return ErrorCode.INVALID_REQUEST, f"Unexpected broker id {resource.resource_name}"
        return None
    return ErrorCode.INVALID_REQUEST, f"Unsupported resource type {resource.resource_type}"


@handles(DESCRIBE_CONFIGS)
async def describe_configs(broker: Broker, request: Request, context: RequestContext):
    Response = DESCRIBE_CONFIGS.Response
    Result = Response.DescribeConfigsResult
    Entry = Result.DescribeConfigsResourceResult
    results = []
    for resource in request.body.resources:
        result = Result(error_code=ErrorCode.NONE, error_message=None,
                        resource_type=resource.resource_type, resource_name=resource.resource_name)
        results.append(result)
        error = _resource_error(broker, resource)
        if error is not None:
            result.error_code, result.error_message = error
            continue
        topic = (broker.log.topic(resource.resource_name)
                 if resource.resource_type == TOPIC_RESOURCE else None)
        entries = (topic.describe_configs() if topic is not None
                   else broker.log.defaults.describe_configs())
        keys = resource.configuration_keys
        with_synonyms = request.body.include_synonyms
        with_docs = request.body.include_documentation
        result.configs = [
            Entry(name=e.name, value=e.value, read_only=e.read_only, config_source=e.source,
                  is_sensitive=e.sensitive, config_type=e.config_type,
                  documentation=e.documentation if with_docs else None,
                  synonyms=[Entry.DescribeConfigsSynonym(name=s.name, value=s.value, source=s.source)
                            for s in e.synonyms] if with_synonyms else [])
            for e in entries if keys is None or e.name in keys]
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


def _alter(broker, request, Response, new_overrides):
    """Each resource's changes, all or nothing per resource, as Kafka applies
    them; `new_overrides(current, configs)` is a topic's overrides after them."""
    Result = Response.AlterConfigsResourceResponse
    seen = Counter((r.resource_type, r.resource_name) for r in request.body.resources)
    results = []
    for resource in request.body.resources:
        result = Result(error_code=ErrorCode.NONE, error_message=None,
                        resource_type=resource.resource_type, resource_name=resource.resource_name)
        results.append(result)
        repeated = seen[resource.resource_type, resource.resource_name] > 1
        error = _request_error(resource, repeated)
        if error is None and resource.resource_type != TOPIC_RESOURCE:
            # A topic's existence is checked after its configs, below.
            error = _resource_error(broker, resource)
        if error is None and resource.resource_type == BROKER_RESOURCE and resource.configs:
            error = (ErrorCode.INVALID_CONFIG, "Cannot update these configs dynamically: "
                     f"{', '.join(c.name for c in resource.configs)} "
                     "(kgw takes its broker configs from its command line)")
        if error is not None:
            result.error_code, result.error_message = error
            continue
        if resource.resource_type != TOPIC_RESOURCE:
            continue
        topic = broker.log.topic(resource.resource_name)
        try:
            overrides = new_overrides(topic.overrides if topic else {}, resource.configs)
            broker.log.alter_topic_configs(resource.resource_name, overrides,
                                           validate_only=request.body.validate_only)
        except LogError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    return Response(throttle_time_ms=0, responses=results)


@handles(ALTER_CONFIGS)
async def alter_configs(broker: Broker, request: Request, context: RequestContext):
    # The given configs become the topic's whole set of overrides.
    async with broker.topics.lock:
        return _alter(broker, request, ALTER_CONFIGS.Response,
                      lambda current, configs: {c.name: c.value for c in configs})


@handles(INCREMENTAL_ALTER_CONFIGS)
async def incremental_alter_configs(broker: Broker, request: Request, context: RequestContext):
    async with broker.topics.lock:
        return _alter(broker, request, INCREMENTAL_ALTER_CONFIGS.Response,
                      lambda current, configs: apply_changes(
                          current, ((c.name, c.config_operation, c.value) for c in configs)))
