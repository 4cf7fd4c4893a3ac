"""Fixtures for tests on the real Kafka broker and schema registry.

The stack itself (``endpoints``, ``make_settings``, ``settings``: a fresh topic prefix per
test, its topics created and schemas registered) is provisioned by ``tests/conftest.py``,
shared with the contract suites; every test here is marked ``integration``. Prefixes made for
a whole module (``flow_helpers.fresh_settings``) are deleted when the module ends.
"""

from __future__ import annotations

import pytest

from hub.kafka.admin import end_offsets
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from tests.conftest import delete_prefix_topics
from tests.integration.flow_helpers import FRESH_PREFIXES


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def offsets(settings):
    """``offsets()`` → end offsets of every event topic of this test's prefix."""
    return lambda: end_offsets(Clients(settings), TopicNames(settings.topic_prefix).all_events())


@pytest.fixture(scope="module", autouse=True)
def module_prefixes():
    """Delete, when the test module ends (pass or fail), the prefixes its module-scoped fixtures
    made with ``fresh_settings``. Autouse, so it is set up before those fixtures and torn down
    after them: the routers and agencies they ran have stopped by then."""
    yield
    while FRESH_PREFIXES:
        delete_prefix_topics(FRESH_PREFIXES.pop())
