"""Shell completion of topic and group names, asked of the broker the
command line points at (click's completion; see the README).

A broker that does not answer within a moment completes nothing: a TAB
must never hang the shell or print an error into it.
"""

import click
from click.shell_completion import CompletionItem

from protocol.messages import LIST_GROUPS

from .client import Cluster
from .command import Bootstrap, default_bootstrap
from .sasl import Credentials

COMPLETION_TIMEOUT_S = 2.0


def complete_topics(ctx: click.Context, param, incomplete: str) -> list[CompletionItem]:
    return _complete(ctx, incomplete, lambda cluster: list(
        cluster.metadata(None, wait_for_leaders=False).topics))


def complete_groups(ctx: click.Context, param, incomplete: str) -> list[CompletionItem]:
    def groups(cluster: Cluster) -> list[str]:
        found = []
        for node in cluster.metadata([]).brokers:
            body = cluster.node(node).call(LIST_GROUPS, LIST_GROUPS.Request())
            found += [g.group_id for g in body.groups]
        return found
    return _complete(ctx, incomplete, groups)


def _complete(ctx: click.Context, incomplete: str, names) -> list[CompletionItem]:
    try:
        with Cluster(_bootstrap(ctx), timeout=COMPLETION_TIMEOUT_S) as cluster:
            found = names(cluster)
    except Exception:  # whatever went wrong, a TAB completes nothing
        return []
    return [CompletionItem(name) for name in sorted(set(found)) if name.startswith(incomplete)]


def _bootstrap(ctx: click.Context) -> Bootstrap:
    """The broker and credentials the command line typed so far names."""
    params = ctx.params
    address = params.get("bootstrap")
    host, port = address if address else default_bootstrap()[:2]
    mechanism, user, password = (params.get("sasl_mechanism"), params.get("sasl_username"),
                                 params.get("sasl_password"))
    sasl = Credentials(mechanism, user, password) if mechanism and user and password else None
    return Bootstrap(host, port, sasl)
