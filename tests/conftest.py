"""Fixtures shared by every test package: the running Kafka broker and schema registry.

The stack is provisioned once per session, and only when a test asks for it (testcontainers
when a Docker engine answers, the local Maven-fetched stack otherwise); it counts as ready only
when both servers answer. Each test gets a fresh topic prefix, so its topics and registry
subjects are its own and the suite can run twice on the same stack. ``tests/integration`` and
the integration-marked parametrizations of ``tests/contract`` use these.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings

import pytest

from confluent_kafka.schema_registry.error import SchemaRegistryError

from hub.config import HubSettings
from hub.devstack.provision import provision_stack
from hub.kafka import acls
from hub.kafka.clients import Clients
from hub.schema_registry.provisioning import provision_catalogue
from hub.schema_registry.subjects import value_subject


@pytest.fixture(scope="session")
def endpoints():
    stack = provision_stack(HubSettings())
    yield stack
    stack.stop()


@pytest.fixture
def make_settings(endpoints):
    """Factory: settings on the real stack with a fresh topic prefix (and optional overrides).

    When the test ends, the topics and schema subjects of every prefix it was given are deleted:
    a suite creates a hundred prefixes, and a development broker and registry with modest heaps
    must not carry them all."""
    made: list[HubSettings] = []

    def make(**overrides) -> HubSettings:
        values = {
            "bootstrap_servers": endpoints.bootstrap_servers,
            "schema_registry_url": endpoints.schema_registry_url,
            "kafka_security": endpoints.kafka_security,
            # Named, so SDK objects (Publisher, Inbox) keep the operator rather than switching to
            # their department's principal, which has no ACLs on a test's fresh prefix.
            "principal": "operator",
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
        }
        made.append(HubSettings(**{**values, **overrides}))
        return made[-1]

    yield make
    for settings in made:
        delete_prefix_topics(settings)


def delete_prefix_topics(settings: HubSettings) -> None:
    """Delete every topic named after ``settings``' prefix (the router's own included), the
    registry subjects of those topics, and the prefix's ACLs (the demo applies them)."""
    prefix = settings.topic_prefix
    ours = (f"{prefix}.", f"{prefix}-")
    try:
        with Clients(settings) as clients, clients.administering() as admin:
            doomed = [t for t in admin.list_topics() if t.startswith(ours)]
            if doomed:
                admin.delete_topics(doomed, timeout_ms=30_000)
            if clients.secured:
                acls.apply(clients, prefix, [])
            for topic in doomed:  # listing subjects is capped (Apicurio: 1,000); names are not
                with contextlib.suppress(SchemaRegistryError):  # a topic without a schema
                    clients.registry.delete_subject(value_subject(topic))
                    clients.registry.delete_subject(value_subject(topic), permanent=True)
    except Exception as exc:  # noqa: BLE001 - clean-up is best effort; the test's verdict stands
        warnings.warn(f"could not clean up after prefix {prefix}: {exc}", stacklevel=1)


@pytest.fixture
def settings(make_settings) -> HubSettings:
    """Fresh prefix with its event topics created and schemas registered."""
    fresh = make_settings()
    with Clients(fresh) as clients:
        provision_catalogue(clients)
    return fresh


@pytest.fixture
def clients(settings):
    """The test's clients on its fresh prefix, closed when it ends."""
    with Clients(settings) as made:
        yield made
