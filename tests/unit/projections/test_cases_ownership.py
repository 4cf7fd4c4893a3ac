"""The case projection takes an outcome only from the department its item was routed to, read
from that department's own outcome topic (OVERDUE only from the hub's deadlines topic), and a
decision only from the department that opened the case; anything else is refused — counted,
logged, and the case unchanged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from hub.domain.case import CaseState, ItemStatus
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.wire.serde import model_serializer
from tests.builders import decided, event_of

TAX = Department.TAX


@pytest.fixture
def cases(clients, tmp_path):
    projection = CaseProjection(clients, tmp_path / "cases.sqlite")
    yield projection
    projection.close()


def _write(clients, topic: str, record: RoutingDecision | Outcome) -> None:
    value = model_serializer(clients.registry, type(record).__name__)(record, topic)
    clients.shared_producer().send(topic, key=record.case_id.encode(), value=value).get(timeout=5)


def _routed(clients):
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 2))
    _write(clients, TopicNames("unit").routing_log, decision)
    return decision, items


def _forged(item, department: Department, status=OutcomeStatus.COMPLETED) -> Outcome:
    """An outcome about ``item`` that ``department`` claims as its own."""
    outcome = Outcome.for_item(item, status, item.requested_at + timedelta(minutes=1), reference="FORGED")
    return outcome.model_copy(update={"department": department})


def test_an_outcome_for_another_departments_item_on_the_attackers_own_topic_changes_nothing(clients, cases, caplog):
    names = TopicNames("unit")
    decision, items = _routed(clients)
    victim = next(i for i in items if i.department is not TAX)
    cases.catch_up()
    before = cases.case(decision.case_id)
    _write(clients, names.outcomes_of(TAX), _forged(victim, TAX))
    with caplog.at_level(logging.WARNING, logger="hub.projections.cases"):
        assert cases.catch_up() == 1
    assert cases.case(decision.case_id) == before and cases.refused == 1
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"routed to {victim.department.value}, not to TAX" in warning
    assert all(s not in warning for s in decision.subject_ids)  # no personal data in the log


def test_an_outcome_naming_another_department_on_the_attackers_topic_changes_nothing(clients, cases):
    names = TopicNames("unit")
    decision, items = _routed(clients)
    victim = next(i for i in items if i.department is not TAX)
    cases.catch_up()
    before = cases.case(decision.case_id)
    _write(clients, names.outcomes_of(TAX), Outcome.for_item(victim, OutcomeStatus.COMPLETED,
                                                             victim.requested_at, reference="X"))
    _write(clients, names.outcomes_of(TAX), _forged(victim, TAX, OutcomeStatus.OVERDUE))
    cases.catch_up()
    assert cases.case(decision.case_id) == before and cases.refused == 2


def test_the_departments_own_outcome_and_the_hubs_overdue_are_applied(clients, cases):
    names = TopicNames("unit")
    decision, items = _routed(clients)
    item = items[0]
    _write(clients, names.outcomes_of(item.department),
           Outcome.for_item(item, OutcomeStatus.COMPLETED, item.requested_at, reference="OK-1"))
    _write(clients, names.deadlines, Outcome.for_item(items[1], OutcomeStatus.OVERDUE, item.requested_at))
    cases.catch_up()
    case = cases.case(decision.case_id)
    assert (case.items[item.item_id].status, case.items[item.item_id].reference) == (ItemStatus.COMPLETED, "OK-1")
    assert case.items[items[1].item_id].overdue and cases.refused == 0


def test_an_early_forged_outcome_is_dropped_and_the_genuine_one_kept_when_the_decision_comes(clients, cases):
    names = TopicNames("unit")
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 3))
    victim = next(i for i in items if i.department is not TAX)
    genuine = Outcome.for_item(victim, OutcomeStatus.REJECTED, victim.requested_at, reason="no record")
    _write(clients, names.outcomes_of(TAX), _forged(victim, TAX))  # same outcome id, read first
    _write(clients, names.outcomes_of(victim.department), genuine)
    cases.catch_up()
    assert cases.case(decision.case_id).items == {}  # nothing shown before the decision
    _write(clients, names.routing_log, decision)
    cases.catch_up()
    state = cases.case(decision.case_id).items[victim.item_id]
    assert (state.status, state.reason, state.reference) == (ItemStatus.REJECTED, "no record", None)
    assert "early_outcomes" not in cases.case(decision.case_id).as_json()


def test_a_decision_of_another_department_does_not_join_the_case(clients, cases):
    names = TopicNames("unit")
    decision, _ = _routed(clients)  # HEALTH's death certificate opened it
    intruder, _ = decided(event_of(EventType.MARRIAGE_REGISTERED, 4))
    intruder = intruder.model_copy(update={"case_id": decision.case_id})
    _write(clients, names.routing_log, intruder)
    cases.catch_up()
    case = cases.case(decision.case_id)
    assert case.event_ids == [decision.event_id] and case.source_department == "HEALTH"
    assert cases.refused == 1 and cases.for_subject(intruder.subject_ids[0]) == []


def test_the_state_machine_refuses_in_memory_too():
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 5))
    case = CaseState(case_id=decision.case_id)
    assert case.apply_decision(decision) is None
    victim = next(i for i in items if i.department is not TAX)
    assert "not to TAX" in case.apply_outcome(_forged(victim, TAX))
    assert case.items[victim.item_id].status is ItemStatus.REQUESTED
    intruder, _ = decided(event_of(EventType.MARRIAGE_REGISTERED, 6))
    assert "may not join it" in case.apply_decision(intruder.model_copy(update={"case_id": decision.case_id}))
