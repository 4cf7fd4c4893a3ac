"""Fixtures for tests on the real Kafka broker and schema registry.

The stack itself (``endpoints``, ``make_settings``, ``settings``: a fresh topic prefix per
test, its topics created and schemas registered) is provisioned by ``tests/conftest.py``,
shared with the contract suites; every test here is marked ``integration``.
"""

from __future__ import annotations

import pytest

from hub.kafka.admin import end_offsets
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def offsets(settings):
    """``offsets()`` → end offsets of every event topic of this test's prefix."""
    return lambda: end_offsets(Clients(settings), TopicNames(settings.topic_prefix).all_events())
