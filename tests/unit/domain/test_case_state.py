"""The case (一件事) state machine: derived from decisions and outcomes, order-insensitive."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hub.domain.case import CaseState, CaseStatus, ItemStatus, median_completion_s, on_time_rate
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, decision_for, route
from hub.rules import load_rules
from tests.factories import sealed_record


def _routed(event_type=EventType.DEATH_CERTIFIED, seed=1):
    event = sealed_record(event_type, seed=seed)
    items = route(event, load_rules())
    return event, items, decision_for(event, DecisionKind.ROUTED, items)


def _outcomes(items, status, after):
    return [Outcome.for_item(i, status, i.requested_at + after, reference="REF" if status is
                             OutcomeStatus.COMPLETED else None, reason=None) for i in items]


def test_a_case_completes_when_every_item_is_done():
    _, items, decision = _routed()
    case = CaseState(case_id=decision.case_id)
    case.apply_decision(decision)
    assert case.status is CaseStatus.IN_PROGRESS and len(case.items) == 4
    for outcome in _outcomes(items, OutcomeStatus.DELIVERED, timedelta(seconds=1)):
        case.apply_outcome(outcome)
    assert {i.status for i in case.items.values()} == {ItemStatus.DELIVERED}
    for outcome in _outcomes(items[:-1], OutcomeStatus.COMPLETED, timedelta(seconds=2)):
        case.apply_outcome(outcome)
    assert case.status is CaseStatus.IN_PROGRESS and case.completed_at is None
    case.apply_outcome(Outcome.for_item(items[-1], OutcomeStatus.REJECTED,
                                        items[-1].requested_at + timedelta(seconds=3), reason="dup"))
    assert case.status is CaseStatus.COMPLETED
    assert case.completed_at == items[-1].requested_at + timedelta(seconds=3)


def test_any_order_and_redelivery_give_the_same_state():
    _, items, decision = _routed(EventType.BIRTH_CERTIFIED)
    records = ([decision] + _outcomes(items, OutcomeStatus.DELIVERED, timedelta(seconds=1))
               + _outcomes(items, OutcomeStatus.COMPLETED, timedelta(seconds=2)))
    states = []
    for order in itertools.islice(itertools.permutations(records), 0, 5040, 97):
        case = CaseState(case_id=decision.case_id)
        for record in order + order[:3]:  # and a few redelivered
            (case.apply_decision if record is decision else case.apply_outcome)(record)
        states.append(case.model_dump())  # dicts: equality ignores insertion order
    assert len(states) > 10 and all(state == states[0] for state in states)
    assert CaseState.model_validate(states[0]).status is CaseStatus.COMPLETED


def test_held_case_is_pending_supplement_until_released():
    event, items, _ = _routed(EventType.SOCIAL_ORGANISATION_REGISTERED)
    case = CaseState(case_id=event["envelope"]["case_id"])
    case.apply_decision(decision_for(event, DecisionKind.HELD, items, ["章程"]))
    assert case.status is CaseStatus.PENDING_SUPPLEMENT and case.pending_documents == ["章程"]
    case.apply_decision(decision_for(event, DecisionKind.RELEASED, items))
    assert case.status is CaseStatus.IN_PROGRESS


def test_on_time_rate_and_median_completion():
    _, items, decision = _routed(EventType.MARRIAGE_REGISTERED)  # deadlines P5D and P1D
    case = CaseState(case_id=decision.case_id)
    case.apply_decision(decision)
    late = timedelta(days=2)  # past the provident fund's 1-day deadline, within public security's 5
    for outcome in _outcomes(items, OutcomeStatus.COMPLETED, late):
        case.apply_outcome(outcome)
    assert on_time_rate([case]) == 0.5
    assert median_completion_s([case]) == late.total_seconds()
    assert on_time_rate([]) is None


def test_an_overdue_flag_marks_but_does_not_end_the_item():
    _, items, decision = _routed(EventType.RETIREMENT_APPROVED)
    case = CaseState(case_id=decision.case_id)
    case.apply_decision(decision)
    (item,) = items
    assert case.items[item.item_id].late_at(item.deadline_at + timedelta(seconds=1))
    case.apply_outcome(Outcome.for_item(item, OutcomeStatus.OVERDUE, item.deadline_at))
    state = case.items[item.item_id]
    assert state.overdue and not state.final and case.status is CaseStatus.IN_PROGRESS


def test_a_failed_item_redriven_and_completed_ends_completed():
    _, items, decision = _routed(EventType.RETIREMENT_APPROVED)
    (item,) = items
    for order in ("failed-first", "completed-first"):
        case = CaseState(case_id=decision.case_id)
        case.apply_decision(decision)
        failed = Outcome.for_item(item, OutcomeStatus.FAILED, item.requested_at, reason="down")
        done = Outcome.for_item(item, OutcomeStatus.COMPLETED, item.requested_at, reference="R")
        for outcome in ([failed, done] if order == "failed-first" else [done, failed]):
            case.apply_outcome(outcome)
        assert case.items[item.item_id].status is ItemStatus.COMPLETED, order


def test_the_next_deadline_is_the_earliest_of_items_neither_done_nor_flagged():
    _, items, decision = _routed()
    case = CaseState(case_id=decision.case_id)
    case.apply_decision(decision)
    deadlines = sorted(i.deadline_at for i in case.items.values() if i.deadline_at is not None)
    assert deadlines and case.next_deadline() == deadlines[0]
    first = min((i for i in items if i.deadline_at is not None), key=lambda i: i.deadline_at)
    case.apply_outcome(Outcome.for_item(first, OutcomeStatus.COMPLETED, first.requested_at + timedelta(seconds=1),
                                        reference="REF"))
    rest = [i.deadline_at for i in case.items.values() if not i.final and i.deadline_at is not None]
    assert case.next_deadline() == (min(rest) if rest else None)
    for item in case.items.values():
        item.overdue = True  # flagged: the deadline check has nothing more to do for them
    assert case.next_deadline() is None


def test_the_timeline_says_which_items_change_earlier_ones():
    from datetime import datetime, timezone

    from hub.domain.case import CaseState, ItemState
    from hub.domain.case_views import case_lines

    at = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
    case = CaseState(case_id="case-1", event_type="marriage_registered", source_department="CIVIL_AFFAIRS",
                     opened_at=at, items={
                         "a": ItemState(item_id="a", department="PROVIDENT_FUND", item="marriage_housing_loan_notice",
                                        name_zh="告知", requested_at=at),
                         "b": ItemState(item_id="b", department="PROVIDENT_FUND", item="marriage_housing_loan_notice",
                                        name_zh="告知", change="ANNULMENT", requested_at=at)})
    notice, withdrawal = case_lines(case)[2:]
    assert "(marriage_housing_loan_notice):" in notice
    assert "(marriage_housing_loan_notice) — ANNULMENT:" in withdrawal
