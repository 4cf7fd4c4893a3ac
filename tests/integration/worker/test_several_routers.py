"""Several routers side by side on one prefix (issue 12): partitions are the unit of
parallelism, and an event that changes another — a correction that changes the primary subject
included — is filed under its original's subject, so it reaches whichever router holds the
original; the router refuses to start while a subject it writes is not registered."""

from __future__ import annotations

import random
import subprocess
import sys
import time
import uuid

import pytest

from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind
from hub.worker.process import WorkerProcess, settings_env
from producers.demo_data import generate
from producers.publisher import Publisher
from tests.integration.flow_helpers import wait_until
from tests.integration.worker.test_ownership_flow import dead_letters, inbox_items, routing_decisions

pytestmark = pytest.mark.integration

MARRIAGES = 24
TIMEOUT_S = 120.0


def test_two_routers_route_corrections_that_change_the_primary_subject(make_settings, tmp_path):
    settings = make_settings(topic_partitions=4)
    from hub.kafka.clients import Clients
    from hub.schema_registry.provisioning import provision_catalogue

    with Clients(settings) as clients:
        provision_catalogue(clients)
    rng = random.Random(1201)
    routers = [WorkerProcess(settings, log_file=tmp_path / f"router-{n}.log") for n in range(2)]
    for router in routers:
        router.start()
    try:
        with Publisher(Department.CIVIL_AFFAIRS, settings) as civil:
            originals = [civil.publish_raw(EventType.MARRIAGE_REGISTERED.value,
                                           generate(EventType.MARRIAGE_REGISTERED, rng))
                         for _ in range(MARRIAGES)]
            wait_until(lambda: len({d.event_id for d in routing_decisions(settings)}) >= MARRIAGES,
                       TIMEOUT_S, "the marriages routed")
            filed = {d.event_id: d.subject_ids[0] for d in routing_decisions(settings)}
            corrections = []
            for original in originals:
                fixed = generate(EventType.MARRIAGE_REGISTERED, rng)  # other spouses: new subjects
                fixed["refers_to"] = {"event_id": original.event_id, "change_kind": "CORRECTION",
                                      "subject_id": filed[original.event_id]}
                corrections.append(civil.publish_raw(EventType.MARRIAGE_REGISTERED.value, fixed))
        for router in routers:
            router.check_alive()  # both still running: the partitions are shared between them
        ids = {c.event_id for c in corrections}
        decided = wait_until(lambda: [d for d in routing_decisions(settings) if d.event_id in ids]
                             if len({d.event_id for d in routing_decisions(settings)} & ids) == len(ids) else None,
                             TIMEOUT_S, "every correction decided",
                             describe=lambda: [letter.reason for letter in dead_letters(settings)][:3])
    finally:
        for router in routers:
            router.stop(timeout_s=20)
    assert {d.kind for d in decided} == {DecisionKind.ROUTED}
    assert dead_letters(settings) == []
    items = inbox_items(settings)
    original_items = {i.item_id for i in items if i.event_id in {o.event_id for o in originals}}
    changed = {i.refers_to_item_id for i in items if i.event_id in ids}
    assert changed == original_items  # every item sent for an original is corrected
    logs = [(tmp_path / f"router-{n}.log").read_text() for n in range(2)]
    assert all("Traceback" not in text for text in logs), logs


def test_the_router_refuses_to_start_while_a_subject_it_writes_is_not_registered(make_settings):
    settings = make_settings()  # topics, but no schema registered
    run = subprocess.run([sys.executable, "-m", "hub.cli", "worker"], env=settings_env(settings),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    said = run.stdout + run.stderr
    assert "not registered in the schema registry" in said and "hub schemas register" in said
    assert f"{settings.topic_prefix}.inbox." in said


def test_a_supplement_whose_event_never_comes_is_dead_lettered_after_its_time(make_settings, tmp_path):
    """The router keeps a supplement read before its event; if the event never comes, the
    supplement expires into the dead letters (swept in the agent, where faust lets it change
    its tables — a timer could not) and the router goes on."""
    from datetime import datetime, timezone

    from hub.kafka.clients import Clients
    from hub.schema_registry.provisioning import provision_catalogue

    settings = make_settings(early_supplement_ttl_s=3.0)
    with Clients(settings) as clients:
        provision_catalogue(clients)

    def supplement(publisher) -> object:
        return publisher.publish_raw(EventType.DOCUMENTS_SUPPLEMENTED.value, {
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "payload": {"supplements_event_id": str(uuid.uuid4()), "subject_id": "91330100MA27XL0001",
                        "documents": ["章程"]}})

    router = WorkerProcess(settings, log_file=tmp_path / "router.log").start()
    try:
        with Publisher(Department.CIVIL_AFFAIRS, settings) as civil:
            first = supplement(civil)
            wait_until(lambda: "came before event" in (tmp_path / "router.log").read_text(), TIMEOUT_S,
                       "the first supplement kept")
            time.sleep(4)
            supplement(civil)  # same subject, same partition: its handling sweeps the partition
            (letter,) = wait_until(lambda: dead_letters(settings), TIMEOUT_S, "the first one dead-lettered")
        router.check_alive()
    finally:
        router.stop(timeout_s=20)
    assert (letter.source_partition, letter.source_offset) == (first.partition, first.offset)
    assert "did not come within 3s" in letter.reason
