"""`kgw topics list|create|describe|alter|delete`."""

import base64
import json

import click

from protocol.error_codes import ErrorCode
from protocol.messages import (
    CREATE_PARTITIONS, CREATE_TOPICS, DELETE_TOPICS, DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS,
)
from protocol.primitives import NULL_UUID

from .client import Cluster, TopicInfo, check
from ..cli_errors import ToolError, ToolGroup
from .command import bootstrap_option, format_option, key_value
from .completion import complete_topics
from .offsets import offset_ranges

TOPIC_RESOURCE = 2
# DescribeConfigs' config_source of a topic's own override (Kafka's
# DYNAMIC_TOPIC_CONFIG): what `kafka-topics --describe` lists too.
TOPIC_OVERRIDE = 1
# IncrementalAlterConfigs' operations.
SET, DELETE = 0, 1
REQUEST_TIMEOUT_MS = 30_000


@click.group(cls=ToolGroup)
def topics():
    """List, create, describe, alter and delete topics."""


@topics.command("list")
@format_option
@bootstrap_option
def list_topics(fmt, bootstrap):
    """Print the name of every topic, one a line (json: an array of objects
    with each topic's id, partition count, replication factor and whether
    it is internal)."""
    with Cluster(bootstrap) as cluster:
        meta = cluster.metadata(None, wait_for_leaders=False)
    names = sorted(meta.topics)
    if fmt == "json":
        click.echo(json.dumps([_summary(meta.topics[name]) for name in names]))
        return
    for name in names:
        click.echo(name)


def _summary(info: TopicInfo) -> dict:
    first = next(iter(info.partitions.values()), None)
    return {"name": info.name,
            "topic_id": kafka_uuid(info.topic_id) if info.topic_id != NULL_UUID else None,
            "partitions": len(info.partitions), "replication_factor": len(first.replicas) if first else 0,
            "internal": info.is_internal}


@topics.command()
@click.argument("name")
@click.option("-p", "--partitions", type=click.IntRange(1), default=None,
              help="[default: the broker's num.partitions]")
@click.option("-r", "--replication-factor", type=click.IntRange(1), default=None,
              help="[default: the broker's default.replication.factor]")
@click.option("-c", "--config", "configs", multiple=True, callback=key_value, metavar="KEY=VALUE",
              help="A topic config, e.g. retention.ms=60000; repeatable.")
@click.option("--if-not-exists", is_flag=True, help="Succeed if the topic exists already.")
@bootstrap_option
def create(name, partitions, replication_factor, configs, if_not_exists, bootstrap):
    """Create topic NAME."""
    Topic = CREATE_TOPICS.Request.CreatableTopic
    with Cluster(bootstrap) as cluster:
        conn = cluster.any()
        version = conn.version(CREATE_TOPICS)
        # -1 asks for the broker's defaults, which CreateTopics v4 introduced.
        default = -1 if version >= 4 else 1
        body = conn.call(CREATE_TOPICS, CREATE_TOPICS.Request(
            timeout_ms=REQUEST_TIMEOUT_MS, topics=[Topic(
                name=name, num_partitions=partitions or default,
                replication_factor=replication_factor or default,
                configs=[Topic.CreatableTopicConfig(name=k, value=v) for k, v in configs])]),
            version)
    result = body.topics[0]
    if result.error_code == ErrorCode.TOPIC_ALREADY_EXISTS and if_not_exists:
        return
    check(result.error_code, f"cannot create topic {name!r}", result.error_message)
    click.echo(f"Created topic {name}.")


@topics.command()
@click.argument("names", nargs=-1, shell_complete=complete_topics)
@format_option
@bootstrap_option
def describe(names, fmt, bootstrap):
    """Show partitions, leaders, offsets and config overrides of the topics
    NAMES (default: every topic), as kafka-topics.sh --describe does (json:
    an array of objects)."""
    with Cluster(bootstrap) as cluster:
        meta = cluster.metadata(list(names) if names else None)
        infos = [meta.topic(name) for name in (names or sorted(meta.topics))]
        overrides = _overrides(cluster, [info.name for info in infos])
        described = [(info, overrides[info.name], offset_ranges(cluster, info, info.partitions))
                     for info in infos]
    if fmt == "json":
        click.echo(json.dumps([_describe_json(*d) for d in described]))
        return
    for d in described:
        click.echo(_describe(*d))


def _describe_json(info: TopicInfo, configs: list[str], ranges: dict[int, tuple[int, int]]) -> dict:
    return {**_summary(info),
            "configs": dict(config.split("=", 1) for config in configs),
            "partition_details": [
                {"partition": p.index, "leader": p.leader, "replicas": p.replicas, "isr": p.isr,
                 "start_offset": ranges[p.index][0], "end_offset": ranges[p.index][1]}
                for p in info.partitions.values()]}


def _describe(info: TopicInfo, configs: list[str], ranges: dict[int, tuple[int, int]]) -> str:
    first = next(iter(info.partitions.values()), None)
    head = [f"Topic: {info.name}"]
    if info.topic_id != NULL_UUID:
        head.append(f"TopicId: {kafka_uuid(info.topic_id)}")
    head += [f"PartitionCount: {len(info.partitions)}",
             f"ReplicationFactor: {len(first.replicas) if first else 0}",
             f"Configs: {','.join(configs)}"]
    lines = ["\t".join(head)]
    for p in info.partitions.values():
        start, end = ranges[p.index]
        lines.append("\t" + "\t".join([
            f"Topic: {info.name}", f"Partition: {p.index}", f"Leader: {p.leader}",
            f"Replicas: {','.join(map(str, p.replicas))}", f"Isr: {','.join(map(str, p.isr))}",
            f"StartOffset: {start}", f"EndOffset: {end}"]))
    return "\n".join(lines)


def kafka_uuid(value) -> str:
    """A UUID as Kafka prints it: URL-safe base64 of its 16 bytes, unpadded."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def _overrides(cluster: Cluster, names: list[str]) -> dict[str, list[str]]:
    if not names:
        return {}
    Resource = DESCRIBE_CONFIGS.Request.DescribeConfigsResource
    body = cluster.any().call(DESCRIBE_CONFIGS, DESCRIBE_CONFIGS.Request(resources=[
        Resource(resource_type=TOPIC_RESOURCE, resource_name=name, configuration_keys=None)
        for name in names]))
    result = {}
    for r in body.results:
        check(r.error_code, f"configs of topic {r.resource_name!r}", r.error_message)
        result[r.resource_name] = sorted(f"{c.name}={c.value}" for c in r.configs
                                         if c.config_source == TOPIC_OVERRIDE)
    return result


@topics.command()
@click.argument("name", shell_complete=complete_topics)
@click.option("-p", "--partitions", type=click.IntRange(1), default=None,
              help="Grow the topic to this many partitions (never fewer, as in Kafka).")
@click.option("-c", "--config", "configs", multiple=True, callback=key_value, metavar="KEY=VALUE",
              help="Set a topic config, e.g. retention.ms=60000; repeatable.")
@click.option("-d", "--delete-config", "deleted", multiple=True, metavar="KEY",
              help="Drop the topic's own value of a config: the broker default applies again; "
                   "repeatable.")
@bootstrap_option
def alter(name, partitions, configs, deleted, bootstrap):
    """Change the partition count or the configs of topic NAME; the rest
    stays as it is."""
    if partitions is None and not configs and not deleted:
        raise click.UsageError("nothing to change: give --partitions, --config or --delete-config")
    with Cluster(bootstrap) as cluster:
        if partitions is not None:
            _add_partitions(cluster, name, partitions)
            click.echo(f"Topic {name} has {partitions} partitions.")
        if configs or deleted:
            _alter_configs(cluster, name, configs, deleted)
            click.echo(f"Altered the configs of topic {name}.")


def _add_partitions(cluster: Cluster, name: str, count: int) -> None:
    """CreatePartitions, as kafka-topics.sh --alter --partitions sends it."""
    Topic = CREATE_PARTITIONS.Request.CreatePartitionsTopic
    body = cluster.any().call(CREATE_PARTITIONS, CREATE_PARTITIONS.Request(
        topics=[Topic(name=name, count=count, assignments=None)], timeout_ms=REQUEST_TIMEOUT_MS,
        validate_only=False))
    (result,) = body.results
    if result.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        raise ToolError(f"unknown topic {name!r}")
    check(result.error_code, f"cannot give topic {name!r} {count} partitions", result.error_message)


def _alter_configs(cluster: Cluster, name: str, configs, deleted) -> None:
    Resource = INCREMENTAL_ALTER_CONFIGS.Request.AlterConfigsResource
    changes = [Resource.AlterableConfig(name=k, config_operation=SET, value=v) for k, v in configs]
    changes += [Resource.AlterableConfig(name=k, config_operation=DELETE, value=None) for k in deleted]
    body = cluster.any().call(INCREMENTAL_ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS.Request(
        validate_only=False,
        resources=[Resource(resource_type=TOPIC_RESOURCE, resource_name=name, configs=changes)]))
    (result,) = body.responses
    if result.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        raise ToolError(f"unknown topic {name!r}")
    check(result.error_code, f"cannot alter the configs of topic {name!r}", result.error_message)


@topics.command()
@click.argument("names", nargs=-1, required=True, shell_complete=complete_topics)
@click.option("--if-exists", is_flag=True, help="Succeed if a topic does not exist.")
@bootstrap_option
def delete(names, if_exists, bootstrap):
    """Delete the topics NAMES and everything in them."""
    with Cluster(bootstrap) as cluster:
        conn = cluster.any()
        version = conn.version(DELETE_TOPICS)
        body = conn.call(DELETE_TOPICS, DELETE_TOPICS.Request(
            timeout_ms=REQUEST_TIMEOUT_MS, topic_names=list(names),
            topics=[DELETE_TOPICS.Request.DeleteTopicState(name=n) for n in names]), version)
    outcome = {r.name: r for r in body.responses}
    for name in names:
        result = outcome.get(name)
        if result is None:
            raise ToolError(f"the broker did not answer for topic {name!r}")
        if result.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            if if_exists:
                continue
            raise ToolError(f"unknown topic {name!r}")
        check(result.error_code, f"cannot delete topic {name!r}", result.error_message)
        click.echo(f"Deleted topic {name}.")
