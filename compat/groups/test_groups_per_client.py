"""Consumer groups with each client: every member runs in a child process
(compat/groups/worker.py, or kcat -G itself) so that one can be SIGKILLed.
The scenarios (compat/groups/_scenarios.py) check every step as they go;
the tests below check what they hand back against the log."""

import pytest

from . import _scenarios as scenarios
from .conftest import require_client

CLIENTS = ["kafka-python", "aiokafka", "confluent", "kcat"]


@pytest.fixture(params=CLIENTS)
def client(request):
    require_client(request.param)
    return request.param


@pytest.mark.kgw_topic(partitions=scenarios.PARTITIONS)
def test_three_members_join_leave_and_kill(client, kgw_bootstrap, kgw_topic, group_name, members):
    redelivered = scenarios.churn(client, kgw_bootstrap, kgw_topic, group_name, members)
    # Only the killed member's uncommitted work may come twice, and once.
    assert len({key for key, _ in redelivered}) == len(redelivered)


@pytest.mark.kgw_topic(partitions=scenarios.PARTITIONS)
def test_two_groups_each_read_every_message(client, kgw_bootstrap, kgw_topic, members):
    ends, produced = scenarios.two_groups(client, kgw_bootstrap, kgw_topic, members)
    assert sum(ends.values()) == len(produced) > 0


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
def test_resume_after_member_restart_and_kgw_restarts(client, own_kgw, topic_name, group_name, members):
    ends, sent = scenarios.resume(client, own_kgw, topic_name, group_name, members)
    # Across two restarts (one a kill -9) every message sent is in the log once.
    assert sum(ends.values()) == len(sent)


@pytest.mark.kgw_only("restarts or kills its own kgw (own_kgw)")
def test_member_carries_on_through_kgw_kill9(client, own_kgw, topic_name, group_name, members):
    member, redelivered = scenarios.crash_while_working(client, own_kgw, topic_name, group_name, members)
    processed = [(p, o) for p, o, _, _ in member.processed]
    assert all(key in processed for key, _ in redelivered)
