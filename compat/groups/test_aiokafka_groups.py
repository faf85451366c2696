"""Consumer groups with aiokafka: every member runs in a child process
(compat/groups/worker.py, or kcat itself) so that one can be SIGKILLed."""

import pytest

from . import _scenarios as scenarios
from .conftest import require_client

CLIENT = "aiokafka"


@pytest.fixture(autouse=True)
def _client():
    require_client(CLIENT)


def test_three_members_join_leave_and_kill(kgw, topic_name, group_name, members):
    scenarios.churn(CLIENT, kgw.bootstrap, topic_name, group_name, members)


def test_two_groups_each_read_every_message(kgw, topic_name, members):
    scenarios.two_groups(CLIENT, kgw.bootstrap, topic_name, members)


def test_resume_after_member_restart_and_kgw_restarts(own_kgw, topic_name, group_name, members):
    scenarios.resume(CLIENT, own_kgw, topic_name, group_name, members)


def test_member_carries_on_through_kgw_kill9(own_kgw, topic_name, group_name, members):
    scenarios.crash_while_working(CLIENT, own_kgw, topic_name, group_name, members)
