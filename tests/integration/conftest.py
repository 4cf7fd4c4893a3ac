"""Fixtures for tests on the real Kafka broker and schema registry.

The stack is provisioned once per session (testcontainers when a Docker engine answers, the
local Maven-fetched stack otherwise) and counts as ready only when both servers answer. Each
test gets a fresh topic prefix, so its topics and registry subjects are its own and the suite
can run twice on the same stack.
"""

from __future__ import annotations

import uuid

import pytest

from hub.kafka.clients import Clients
from hub.config import HubSettings
from hub.devstack.provision import provision_stack
from hub.schema_registry.provisioning import provision_catalogue
from hub.kafka.admin import end_offsets
from hub.kafka.topic_names import TopicNames


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def endpoints():
    stack = provision_stack(HubSettings())
    yield stack
    stack.stop()


@pytest.fixture
def make_settings(endpoints):
    """Factory: settings on the real stack with a fresh topic prefix (and optional overrides)."""

    def make(**overrides) -> HubSettings:
        values = {
            "bootstrap_servers": endpoints.bootstrap_servers,
            "schema_registry_url": endpoints.schema_registry_url,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
        }
        return HubSettings(**{**values, **overrides})

    return make


@pytest.fixture
def settings(make_settings) -> HubSettings:
    """Fresh prefix with its event topics created and schemas registered."""
    fresh = make_settings()
    provision_catalogue(Clients(fresh))
    return fresh


@pytest.fixture
def offsets(settings):
    """``offsets()`` → end offsets of every event topic of this test's prefix."""
    return lambda: end_offsets(Clients(settings), TopicNames(settings.topic_prefix).all_events())
