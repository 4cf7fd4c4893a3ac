"""The hostile-department suite's stage: a prefix with the ACL plan applied, the router running
as its own least-privileged principal, and the refusals table printed at the end of the run."""

from __future__ import annotations

import pytest

from hub.kafka import acls
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.security.acl_plan import plan
from tests.conftest import delete_prefix_topics
from tests.integration.flow_helpers import fresh_settings
from tests.integration.security.attacks import RESULTS, table


@pytest.fixture(scope="module")
def secured(endpoints):
    """Operator settings on a fresh prefix whose ACLs are the plan's (removed afterwards)."""
    if endpoints.kafka_security != "sasl_ssl":
        pytest.skip("the stack is not secured (throwaway containers run plaintext)")
    settings = fresh_settings(endpoints)
    with Clients(settings) as clients:
        acls.apply(clients, settings.topic_prefix, plan(TopicNames(settings.topic_prefix), load_rules()))
    yield settings
    with Clients(settings) as clients:
        acls.apply(clients, settings.topic_prefix, [])
    delete_prefix_topics(settings)


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.write_sep("=", "hostile department: every attack and whether it was refused")
        terminalreporter.write_line(table(RESULTS))
