"""A small test module that uses the stack the way the suite does, for ``test_cleanup.py`` to run
in a pytest of its own and then check that nothing of its prefixes is left on the stack.

Not collected by a normal run (the name does not start with ``test_``); ``test_cleanup`` passes it
to pytest explicitly. Each test writes the prefixes it was given to the file named by
``HUB_CLEANUP_PROBE_LOG``. What it covers: a module-scoped prefix (``fresh_settings``) with a
router running for the whole module; a test that leaves a router running and fails; topics and
subjects made outside the catalogue (a subject with no topic at all), ACLs and a consumer group.
"""

from __future__ import annotations

import os
import random

import pytest
from confluent_kafka.schema_registry import Schema

from hub.domain.envelope import EventType
from hub.kafka import acls
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.security.acl_plan import plan
from hub.worker.process import WorkerProcess
from producers.demo_data import generate
from tests.integration.flow_helpers import (
    Departments, fresh_settings, routing_decisions, wait_until, worker,
)


def _log(settings) -> None:
    if path := os.environ.get("HUB_CLEANUP_PROBE_LOG"):
        with open(path, "a", encoding="utf-8") as log:
            log.write(settings.topic_prefix + "\n")


def _route_one(settings) -> None:
    with Departments(settings) as departments:
        receipt = departments.publish(EventType.MARRIAGE_REGISTERED,
                                      generate(EventType.MARRIAGE_REGISTERED, random.Random(5)))
    wait_until(lambda: receipt.event_id in {d.event_id for d in routing_decisions(settings)},
               90, "the marriage routed")


@pytest.fixture(scope="module")
def routed(endpoints, tmp_path_factory):
    """A module-wide prefix with the router running on it while the module's tests run."""
    settings = fresh_settings(endpoints)
    _log(settings)
    with worker(settings, tmp_path_factory.mktemp("module-router")):
        _route_one(settings)
        yield settings


def test_module_prefix_routes(routed):
    assert routing_decisions(routed)


def test_a_router_left_running_by_a_failing_test(settings, tmp_path):
    _log(settings)
    leaked = WorkerProcess(settings, log_file=tmp_path / "leaked-router.log").start()
    _route_one(settings)
    assert leaked.running
    pytest.fail("deliberately, with the router still running: the clean-up must stop it first")


def test_topics_subjects_acls_outside_the_catalogue(make_settings):
    settings = make_settings()
    _log(settings)
    prefix = settings.topic_prefix
    with Clients(settings) as clients:
        ensure_topics(clients, [f"{prefix}.scratch", f"{prefix}-scratch"])
        clients.registry.register_schema(f"{prefix}.no-such-topic-value",
                                         Schema('{"type": "string"}', "AVRO"))
        if clients.secured:
            acls.apply(clients, prefix, plan(TopicNames(prefix), load_rules()))
        with clients.reading(group_id=f"{prefix}.probe-group") as consumer:
            consumer.subscribe([f"{prefix}.scratch"])
            consumer.poll(timeout_ms=3_000)
            consumer.commit()
