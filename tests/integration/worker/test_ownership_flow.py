"""References and ids are owned, on the real broker and registry with the router running as its
own process: what a department publishes cannot reach into another department's data.

Each forgery is published the way a department would (the SDK, on the department's own topic,
so the broker's ACLs would let it through) and must end as a dead letter naming the rule, with
the victim's data — facts, held events, routed items, cases — unchanged.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone

import pytest

from hub.domain.case import CaseStatus, ItemStatus
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import WorkItem
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.facts import FactsProjection
from hub.wire.serde import model_serializer
from hub.domain.routing import RoutingDecision
from hub.kafka.clients import Clients
from hub.kafka.dead_letters import dead_letters as parked
from hub.kafka.log_reader import read_from_start
from hub.wire.serde import model_deserializer
from producers.demo_data import generate
from producers.publisher import Publisher
from tests.integration.flow_helpers import Departments, wait_until, worker

pytestmark = pytest.mark.integration

TIMEOUT_S = 90.0
CIVIL, MARKET, HEALTH, TAX = (Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION,
                              Department.HEALTH, Department.TAX)


# Read back through Clients, so the helpers reach a secured stack as the hub's clients do.
def _read(settings, topics: list[str], schema: str, model) -> list:
    with Clients(settings) as clients:
        decode = model_deserializer(clients.registry, schema, model)
        return [decode(r.value, r.topic) for r in read_from_start(clients, topics)]


def routing_decisions(settings) -> list[RoutingDecision]:
    return _read(settings, [TopicNames(settings.topic_prefix).routing_log], "RoutingDecision", RoutingDecision)


def inbox_items(settings) -> list[WorkItem]:
    return _read(settings, TopicNames(settings.topic_prefix).all_inboxes(), "WorkItem", WorkItem)


def dead_letters(settings) -> list:
    with Clients(settings) as clients:
        return parked(clients)


def _decided(settings, event_id: str, kind: str = "ROUTED") -> int:
    return sum(1 for d in routing_decisions(settings) if d.event_id == event_id and d.kind.value == kind)


def _letters(settings, rule: str) -> list:
    return [d for d in dead_letters(settings) if rule in d.reason]


def _items_of(settings, event_id: str) -> list[WorkItem]:
    return [item for item in inbox_items(settings) if item.event_id == event_id]


def test_market_supervision_cannot_annul_a_civil_affairs_marriage(settings, clients, tmp_path):
    rng = random.Random(1101)
    names = TopicNames(settings.topic_prefix)
    with worker(settings, tmp_path), Departments(settings) as departments, \
            Publisher(MARKET, settings) as market:
        marriage = departments.publish(EventType.MARRIAGE_REGISTERED, generate(EventType.MARRIAGE_REGISTERED, rng))
        wait_until(lambda: _decided(settings, marriage.event_id), TIMEOUT_S, "the marriage routed")
        forged = generate(EventType.ENTERPRISE_REGISTERED, rng)  # its own type, its own topic
        forged["refers_to"] = {"event_id": marriage.event_id, "change_kind": "ANNULMENT"}
        annulment = market.publish_raw(EventType.ENTERPRISE_REGISTERED.value, forged)
        (letter,) = wait_until(lambda: _letters(settings, "references are owned"), TIMEOUT_S,
                               "the forged annulment dead-lettered")
    assert letter.source_topic == names.events(CATALOGUE[EventType.ENTERPRISE_REGISTERED])
    assert (letter.source_partition, letter.source_offset) == (annulment.partition, annulment.offset)
    assert "published by CIVIL_AFFAIRS, not by MARKET_SUPERVISION" in letter.reason
    assert _items_of(settings, annulment.event_id) == []  # no ANNULMENT item went anywhere
    assert _decided(settings, annulment.event_id) == 0

    facts = FactsProjection(clients, tmp_path / "facts.sqlite")
    try:
        facts.catch_up()
        spouses = [d.subject_ids for d in routing_decisions(settings) if d.event_id == marriage.event_id][0]
        for spouse in spouses:
            assert [(f.status, f.event_id) for f in facts.facts_for(spouse)] == [("MARRIED", marriage.event_id)]
        assert facts.refused == 1
    finally:
        facts.close()


def test_a_supplement_from_another_accepting_department_is_refused_and_the_event_stays_held(
        settings, clients, tmp_path):
    rng = random.Random(1102)
    association = generate(EventType.SOCIAL_ORGANISATION_REGISTERED, rng)
    association["pending_documents"] = ["章程"]
    cases = CaseProjection(clients, tmp_path / "cases.sqlite")
    try:
        with worker(settings, tmp_path), Departments(settings) as departments, \
                Publisher(HEALTH, settings) as health:
            held = departments.publish(EventType.SOCIAL_ORGANISATION_REGISTERED, association)
            wait_until(lambda: _decided(settings, held.event_id, "HELD"), TIMEOUT_S, "the event held")
            supplement = {"occurred_at": datetime.now(timezone.utc).isoformat(), "payload": {
                "supplements_event_id": held.event_id, "subject_id": association["payload"]["uscc"],
                "documents": ["章程"]}}
            forged = health.publish_raw(EventType.DOCUMENTS_SUPPLEMENTED.value, supplement)
            assert forged.topic == TopicNames(settings.topic_prefix).events(
                CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED], HEALTH)  # HEALTH's own topic
            (letter,) = wait_until(lambda: _letters(settings, "supplement refused"), TIMEOUT_S,
                                   "the other department's supplement dead-lettered")
            assert (letter.source_topic, letter.source_offset) == (forged.topic, forged.offset)
            assert "accepted by CIVIL_AFFAIRS, not by HEALTH" in letter.reason
            assert _decided(settings, held.event_id, "RELEASED") == 0 and _items_of(settings, held.event_id) == []
            cases.catch_up()
            assert cases.case(held.case_id).status is CaseStatus.PENDING_SUPPLEMENT
            # the department that accepted it can still release it: nothing was consumed
            departments.publish(EventType.DOCUMENTS_SUPPLEMENTED, supplement)
            wait_until(lambda: _decided(settings, held.event_id, "RELEASED"), TIMEOUT_S, "the event released")
        assert len(dead_letters(settings)) == 1
    finally:
        cases.close()


def test_an_event_id_reused_with_different_content_is_refused(settings, tmp_path):
    rng = random.Random(1103)
    event_id = str(uuid.uuid4())
    first = {**generate(EventType.MARRIAGE_REGISTERED, rng), "event_id": event_id}
    other = {**generate(EventType.MARRIAGE_REGISTERED, rng), "event_id": event_id}
    with worker(settings, tmp_path), Departments(settings) as departments:
        departments.publish(EventType.MARRIAGE_REGISTERED, first)
        wait_until(lambda: _decided(settings, event_id) == 1, TIMEOUT_S, "the first event routed")
        departments.publish(EventType.MARRIAGE_REGISTERED, first)  # a retry: same content
        wait_until(lambda: _decided(settings, event_id) == 2, TIMEOUT_S, "the retry routed again")
        reuse = departments.publish(EventType.MARRIAGE_REGISTERED, other)
        (letter,) = wait_until(lambda: _letters(settings, "event id reused with different content"),
                               TIMEOUT_S, "the reused id dead-lettered")
    assert (letter.source_partition, letter.source_offset) == (reuse.partition, reuse.offset)
    assert len(dead_letters(settings)) == 1 and _decided(settings, event_id) == 2
    items = _items_of(settings, event_id)
    assert len(items) == 4 and len({i.item_id for i in items}) == 2  # the same two items, twice
    spouse = other["payload"]["spouse_a"]["id_number"]
    assert all(spouse not in (v or "") for i in items for v in i.data.values())  # none of the reuse's data


def test_an_outcome_for_another_departments_item_on_the_attackers_own_topic_leaves_the_case(
        settings, clients, tmp_path):
    rng = random.Random(1104)
    names = TopicNames(settings.topic_prefix)
    encode = model_serializer(clients.registry, "Outcome")
    cases = CaseProjection(clients, tmp_path / "cases.sqlite")
    try:
        with worker(settings, tmp_path), Departments(settings) as departments:  # no agencies run
            death = departments.publish(EventType.DEATH_CERTIFIED, generate(EventType.DEATH_CERTIFIED, rng))
            items = wait_until(lambda: _items_of(settings, death.event_id), TIMEOUT_S, "the items sent")
        victim = next(i for i in items if i.department is not TAX)
        cases.catch_up()
        before = cases.case(death.case_id)
        assert before.items[victim.item_id].status is ItemStatus.REQUESTED
        at = datetime.now(timezone.utc)
        as_itself = Outcome.for_item(victim, OutcomeStatus.COMPLETED, at, reference="FORGED", attempts=1)
        as_tax = as_itself.model_copy(update={"department": TAX})
        producer, tax_topic = clients.shared_producer(), names.outcomes_of(TAX)
        for outcome in (as_tax, as_itself):  # both on TAX's own outcome topic
            producer.send(tax_topic, key=outcome.case_id.encode(), value=encode(outcome, tax_topic)).get(timeout=30)
        cases.catch_up()
        assert cases.case(death.case_id) == before and cases.refused == 2
        # the item's own department, on its own topic, is heard
        own_topic = names.outcomes_of(victim.department)
        genuine = as_itself.model_copy(update={"reference": "REF-1"})
        producer.send(own_topic, key=genuine.case_id.encode(), value=encode(genuine, own_topic)).get(timeout=30)
        cases.catch_up()
        state = cases.case(death.case_id).items[victim.item_id]
        assert (state.status, state.reference) == (ItemStatus.COMPLETED, "REF-1")
    finally:
        cases.close()
