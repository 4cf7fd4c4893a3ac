"""Fixtures shared by every test package: the running Kafka broker and schema registry.

The stack is provisioned once per session, and only when a test asks for it (testcontainers
when a Docker engine answers, the local Maven-fetched stack otherwise); it counts as ready only
when both servers answer. Each test gets a fresh topic prefix, so its topics and registry
subjects are its own and the suite can run twice on the same stack. ``tests/integration`` and
the integration-marked parametrizations of ``tests/contract`` use these.
"""

from __future__ import annotations

import uuid

import pytest

from hub.config import HubSettings
from hub.devstack.provision import provision_stack
from hub.kafka.clients import Clients
from hub.schema_registry.provisioning import provision_catalogue


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
