"""kgw's command-line tools: `kgw topics`, `produce`, `consume`, `groups`
and `transactions` speak the Kafka protocol to any Kafka-compatible broker;
`kgw log` reads kgw's files offline."""

import click


def register(main: click.Group) -> None:
    """Add the tools to the `kgw` command group."""
    from .consume import consume
    from .groups import groups
    from .logfiles import log
    from .produce import produce
    from .topics import topics
    from .transactions import transactions

    for command in (topics, produce, consume, groups, transactions, log):
        main.add_command(command)
