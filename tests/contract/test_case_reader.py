"""CaseReader contract: cases (一件事) derived from routing decisions and outcomes.

Runs against :class:`hub.memory.InMemoryCases` and :class:`hub.projections.cases.CaseProjection`
(SQLite, reading the routing log and the outcomes topic: in memory, and on the stack).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.domain.case import CaseStatus, ItemStatus
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.ports import CaseReader
from hub.domain.routing import DecisionKind
from hub.errors import Unavailable
from hub.memory import InMemoryCases
from hub.projections.cases import CaseProjection
from tests.contract.harness import IN_MEMORY, KINDS, REAL
from tests.builders import decided, event_of


@pytest.fixture(params=KINDS)
def cases(request, reader_feed):
    return reader_feed(request.param, InMemoryCases, CaseProjection)


def death(seed: int = 1):
    return decided(event_of(EventType.DEATH_CERTIFIED, seed))


def outcomes(items, status: OutcomeStatus, at, **details) -> list[Outcome]:
    return [Outcome.for_item(i, status, at, **details) for i in items]


def test_it_is_a_case_reader(cases):
    assert isinstance(cases.reader, CaseReader)


def test_nothing_is_known_until_caught_up_and_nothing_is_applied_twice(cases):
    decision, _ = death()
    cases.add(decision)
    assert cases.reader.case(decision.case_id) is None
    assert cases.reader.catch_up() == 1
    assert cases.reader.catch_up() == 0
    assert cases.reader.case(decision.case_id).case_id == decision.case_id


def test_a_routed_decision_opens_a_case_for_each_of_its_subjects(cases):
    decision, items = death()
    cases.added(decision)
    case = cases.reader.case(decision.case_id)
    assert case.status is CaseStatus.IN_PROGRESS and case.event_ids == [decision.event_id]
    assert {i: s.status for i, s in case.items.items()} == {i.item_id: ItemStatus.REQUESTED for i in items}
    for subject in decision.subject_ids:
        assert [c.case_id for c in cases.reader.for_subject(subject)] == [decision.case_id]
    assert cases.reader.case("case-unknown") is None and cases.reader.for_subject("nobody") == []


def test_outcomes_move_items_forward_and_a_redelivered_one_changes_nothing(cases):
    decision, items = death()
    at = decision.decided_at + timedelta(hours=1)
    cases.added(decision, *outcomes(items, OutcomeStatus.DELIVERED, at))
    cases.added(*outcomes(items, OutcomeStatus.COMPLETED, at + timedelta(hours=1), reference="REF-1"))
    done = cases.reader.case(decision.case_id)
    assert done.status is CaseStatus.COMPLETED and done.completed_at == at + timedelta(hours=1)
    assert {(s.status, s.reference) for s in done.items.values()} == {(ItemStatus.COMPLETED, "REF-1")}
    cases.added(*outcomes(items, OutcomeStatus.DELIVERED, at + timedelta(hours=2)),
                *outcomes(items, OutcomeStatus.COMPLETED, at + timedelta(hours=3), reference="REF-2"))
    assert cases.reader.case(decision.case_id) == done


def test_an_outcome_read_before_its_decision_is_kept(cases):
    decision, items = death()
    cases.added(*outcomes(items[:1], OutcomeStatus.COMPLETED, decision.decided_at, reference="EARLY"))
    cases.added(decision)
    case = cases.reader.case(decision.case_id)
    first = case.items[items[0].item_id]
    assert (first.status, first.reference, first.item) == (ItemStatus.COMPLETED, "EARLY", items[0].item)
    assert [case.items[i.item_id].status for i in items[1:]] == [ItemStatus.REQUESTED] * (len(items) - 1)


def test_a_held_case_waits_for_its_documents(cases):
    event = event_of(EventType.MARRIAGE_REGISTERED, 3)
    held, _ = decided(event, DecisionKind.HELD, ["户口簿"])
    cases.added(held)
    assert cases.reader.case(held.case_id).status is CaseStatus.PENDING_SUPPLEMENT
    released, _ = decided(event, DecisionKind.RELEASED)
    cases.added(released)
    case = cases.reader.case(held.case_id)
    assert case.status is CaseStatus.IN_PROGRESS and case.pending_documents == []


def test_a_subjects_cases_come_oldest_first(cases):
    first, _ = death(1)
    later, _ = death(2)
    later = later.model_copy(update={"subject_ids": first.subject_ids,
                                     "decided_at": first.decided_at + timedelta(days=1)})
    cases.added(later, first)
    assert [c.case_id for c in cases.reader.for_subject(first.subject_ids[0])] == [
        first.case_id, later.case_id]


def test_an_answer_is_a_copy(cases):
    decision, _ = death()
    cases.added(decision)
    cases.reader.case(decision.case_id).items.clear()
    cases.reader.for_subject(decision.subject_ids[0])[0].event_ids.append("tampered")
    case = cases.reader.case(decision.case_id)
    assert case.items and case.event_ids == [decision.event_id]


def test_a_log_that_cannot_be_read_is_unavailable(cases):
    decision, _ = death()
    cases.added(decision)
    cases.cut_off()
    with pytest.raises(Unavailable):
        cases.reader.catch_up()
    assert cases.reader.case(decision.case_id) is not None  # what was applied still answers


def test_the_projection_and_the_in_memory_reader_agree(reader_feed):
    marriage, married = decided(event_of(EventType.MARRIAGE_REGISTERED, 5))
    decision, items = death(6)
    at = decision.decided_at + timedelta(minutes=5)
    records = [marriage, decision, *outcomes(items, OutcomeStatus.DELIVERED, at),
               *outcomes(items[:2], OutcomeStatus.REJECTED, at, reason="no record"),
               *outcomes(married, OutcomeStatus.FAILED, at, reason="parked"),
               *outcomes(married, OutcomeStatus.OVERDUE, at)]
    answers = []
    for kind in (IN_MEMORY, REAL):
        feed = reader_feed(kind, InMemoryCases, CaseProjection)
        feed.added(*records)
        answers.append([feed.reader.for_subject(s) for s in marriage.subject_ids + decision.subject_ids])
    assert answers[0] == answers[1] and all(answers[0])
