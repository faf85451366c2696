"""`kgw transactions list|describe|describe-producers`, as Kafka's
kafka-transactions.sh shows them (ListTransactions, DescribeTransactions,
DescribeProducers; KIP-664)."""

import click

from protocol.messages import DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS

from .client import TRANSACTION_KEY_TYPE, Cluster, check
from ..cli_errors import ToolError, ToolGroup
from .command import bootstrap_option, table

LIST_COLUMNS = ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
DESCRIBE_COLUMNS = ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch",
                    "TransactionState", "TransactionTimeoutMs", "CurrentTransactionStartTimeMs",
                    "TopicPartitions"]
PRODUCER_COLUMNS = ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                    "LastTimestamp", "CurrentTransactionStartOffset"]


@click.group(cls=ToolGroup)
def transactions():
    """List and describe transactions, and the producers writing to a partition."""


@transactions.command("list")
@click.option("--state", "states", multiple=True, metavar="STATE",
              help="Only transactions in this state (Ongoing, CompleteCommit, ...); repeatable.")
@click.option("--producer-id", "producer_ids", multiple=True, type=int,
              help="Only this producer's transaction; repeatable.")
@click.option("--duration-filter", type=click.IntRange(0), default=None, metavar="MS",
              help="Only transactions open for longer than this.")
@bootstrap_option
def list_transactions(states, producer_ids, duration_filter, bootstrap):
    """Print every transactional id each broker coordinates, with its state."""
    rows: list[list] = []
    with Cluster(bootstrap) as cluster:
        for node in sorted(cluster.metadata([]).brokers):
            conn = cluster.node(node)
            body = conn.call(LIST_TRANSACTIONS, LIST_TRANSACTIONS.Request(
                state_filters=list(states), producer_id_filters=list(producer_ids),
                duration_filter=-1 if duration_filter is None else duration_filter),
                conn.version(LIST_TRANSACTIONS, minimum=0 if duration_filter is None else 1))
            check(body.error_code, f"listing the transactions of broker {node}")
            if body.unknown_state_filters:
                raise click.UsageError(f"unknown transaction state(s): "
                                       f"{', '.join(body.unknown_state_filters)}")
            rows.extend([t.transactional_id, node, t.producer_id, t.transaction_state]
                        for t in body.transaction_states)
    click.echo(table(LIST_COLUMNS, sorted(rows)))


@transactions.command()
@click.argument("transactional_ids", metavar="TRANSACTIONAL_ID...", nargs=-1, required=True)
@bootstrap_option
def describe(transactional_ids, bootstrap):
    """Show the state, producer and open partitions of each TRANSACTIONAL_ID."""
    rows = []
    with Cluster(bootstrap) as cluster:
        for transactional_id in transactional_ids:
            node = cluster.coordinator_id(transactional_id, TRANSACTION_KEY_TYPE)
            body = cluster.node(node).call(DESCRIBE_TRANSACTIONS, DESCRIBE_TRANSACTIONS.Request(
                transactional_ids=[transactional_id]))
            (state,) = body.transaction_states
            check(state.error_code, f"describing transactional id {transactional_id!r}")
            partitions = ",".join(f"{t.topic}-{p}" for t in state.topics for p in t.partitions)
            start = state.transaction_start_time_ms
            rows.append([node, transactional_id, state.producer_id, state.producer_epoch,
                         state.transaction_state, state.transaction_timeout_ms,
                         start if start >= 0 else None, partitions or None])
    click.echo(table(DESCRIBE_COLUMNS, rows))


@transactions.command("describe-producers")
@click.argument("topic")
@click.option("-p", "--partition", type=click.IntRange(0), required=True,
              help="The partition whose producers to show.")
@bootstrap_option
def describe_producers(topic, partition, bootstrap):
    """Show the producers writing to a partition of TOPIC, and where their open
    transactions start."""
    Topic = DESCRIBE_PRODUCERS.Request.TopicRequest
    with Cluster(bootstrap) as cluster:
        info = cluster.metadata([topic]).topic(topic)
        if partition not in info.partitions:
            raise ToolError(f"topic {topic!r} has no partition {partition} "
                            f"(it has {len(info.partitions)})")
        body = cluster.node(cluster.leader(info, partition)).call(
            DESCRIBE_PRODUCERS, DESCRIBE_PRODUCERS.Request(
                topics=[Topic(name=topic, partition_indexes=[partition])]))
    (answer,) = body.topics[0].partitions
    check(answer.error_code, f"describing the producers of partition {partition} of {topic!r}",
          answer.error_message)
    click.echo(table(PRODUCER_COLUMNS, [
        [p.producer_id, p.producer_epoch, p.coordinator_epoch, p.last_sequence, p.last_timestamp,
         p.current_txn_start_offset if p.current_txn_start_offset >= 0 else None]
        for p in answer.active_producers]))
