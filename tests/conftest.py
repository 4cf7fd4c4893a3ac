"""Fixtures shared by every test package: the running Kafka broker and schema registry.

The stack is provisioned once per session, and only when a test asks for it (testcontainers
when a Docker engine answers, the local Maven-fetched stack otherwise); it counts as ready only
when both servers answer. Each test gets a fresh topic prefix, so its topics and registry
subjects are its own and the suite can run twice on the same stack; they are deleted when the
test ends, and the session begins by sweeping what earlier runs left. ``tests/integration`` and
the integration-marked parametrizations of ``tests/contract`` use these.
"""

from __future__ import annotations

import warnings

import pytest

from hub.config import HubSettings
from hub.devstack.provision import provision_stack
from hub.kafka.clients import Clients
from hub.schema_registry.provisioning import provision_catalogue
from tests.integration.helpers import (
    Removed, delete_prefixes, new_prefix, stop_prefix_processes, sweep_leftovers,
)


@pytest.fixture(scope="session")
def endpoints(request):
    stack = provision_stack(HubSettings())
    _sweep_leftovers(request.config, stack)
    yield stack
    stack.stop()


def _sweep_leftovers(config, stack) -> None:
    """Once a session, before its first test: delete the test prefixes nobody has used for an
    hour (``HUB_TEST_LEFTOVER_AGE_S``) — runs that were killed, or predate per-test clean-up,
    left thousands of partitions on a development stack — and say how many."""
    settings = HubSettings(bootstrap_servers=stack.bootstrap_servers,
                           schema_registry_url=stack.schema_registry_url,
                           kafka_security=stack.kafka_security, principal="operator")
    try:
        with Clients(settings) as clients:
            removed = sweep_leftovers(clients)
    except Exception as exc:  # noqa: BLE001 - a sweep that fails costs disk, not the verdict
        warnings.warn(f"could not sweep earlier runs' test prefixes: {exc}", stacklevel=1)
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    line = f"swept earlier runs' leftovers: {removed}"
    if reporter is not None:
        reporter.write_line(line)
    config.stash[SWEPT] = line


SWEPT = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter, config):
    if SWEPT in config.stash:
        terminalreporter.write_line(config.stash[SWEPT])


@pytest.fixture
def make_settings(endpoints):
    """Factory: settings on the real stack with a fresh topic prefix (and optional overrides).

    When the test ends, pass or fail, every prefix it was given is deleted with all it owns:
    its topics (the router's own included), registry subjects, ACLs and consumer groups, after
    any child process still running on it has been stopped. A suite creates a hundred prefixes,
    and a development broker and registry with modest heaps must not carry them all."""
    made: list[HubSettings] = []

    def make(**overrides) -> HubSettings:
        values = {
            "bootstrap_servers": endpoints.bootstrap_servers,
            "schema_registry_url": endpoints.schema_registry_url,
            "kafka_security": endpoints.kafka_security,
            # Named, so SDK objects (Publisher, Inbox) keep the operator rather than switching to
            # their department's principal, which has no ACLs on a test's fresh prefix.
            "principal": "operator",
            "topic_prefix": new_prefix(),
        }
        made.append(HubSettings(**{**values, **overrides}))
        return made[-1]

    yield make
    for settings in made:
        delete_prefix_topics(settings)


def delete_prefix_topics(settings: HubSettings) -> Removed | None:
    """Delete everything named after ``settings``' prefix: its topics (the router's own
    included), their registry subjects and every other subject under the prefix (for good: soft,
    then permanently), its ACLs (the demo and the security suite apply them) and its consumer
    groups — after stopping any child process of this test process still running on it.
    Best effort: a failure is a warning, the test's verdict stands."""
    prefix = settings.topic_prefix
    try:
        stop_prefix_processes(prefix)
        operator = settings if settings.principal == "operator" else settings.as_principal("operator")
        with Clients(operator) as clients:
            return delete_prefixes(clients, {prefix})
    except Exception as exc:  # noqa: BLE001 - clean-up is best effort; the test's verdict stands
        warnings.warn(f"could not clean up after prefix {prefix}: {exc}", stacklevel=1)
        return None


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
