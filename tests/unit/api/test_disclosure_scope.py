"""The scoping of HTTP reads (hub/domain/disclosure_scope.py), pure: which cases, items, subject
ids and timeline entries a department sees; operators and auditors see everything.

(The module is in hub/domain; its tests sit beside the routes that call it.)
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hub.domain.case import CaseState
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.disclosure_scope import (
    SUBJECT_FIELDS,
    Scope,
    case_view,
    is_party,
    subject_cases_view,
    timeline_case_ids,
    timeline_view,
    visible_subject_ids,
)
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.rules import lookup
from hub.memory import InMemoryTimeline
from hub.domain.audit_entries import FactQueryNote, decision_entry, item_entry, note_entry, outcome_entry, source
from producers.demo_data import generate
from tests.builders import PSEUDONYMS, T0, about, decided, event_of

CIVIL, POLICE, FUND, TAX = (Department.CIVIL_AFFAIRS, Department.PUBLIC_SECURITY,
                            Department.PROVIDENT_FUND, Department.TAX)
HEALTH, MEDICAL = Department.HEALTH, Department.MEDICAL_INSURANCE


def _case(event_type: EventType, seed: int = 1, outcomes: dict[Department, Outcome] | None = None):
    """A routed case with every item completed (public security's rejected), and its parts."""
    decision, items = decided(event_of(event_type, seed))
    case = CaseState(case_id=decision.case_id)
    case.apply_decision(decision)
    for n, item in enumerate(items):
        if item.department is POLICE:
            outcome = Outcome.for_item(item, OutcomeStatus.REJECTED, T0 + timedelta(seconds=5),
                                       reason="spouse_b is registered in another household")
        else:
            outcome = Outcome.for_item(item, OutcomeStatus.COMPLETED, T0 + timedelta(seconds=6),
                                       reference=f"{item.department.value}-REF-{n}")
        case.apply_outcome(outcome)
    return case, decision, items


@pytest.fixture
def marriage():
    """Civil affairs registered it; public security and the provident fund have an item each."""
    return _case(EventType.MARRIAGE_REGISTERED)


def test_operators_and_auditors_see_the_whole_case(marriage):
    case, _, _ = marriage
    assert case_view(case, Scope.everything()) == case.as_json()


def test_each_recipient_sees_only_its_own_item(marriage):
    case, decision, items = marriage
    for department in (POLICE, FUND):
        view = case_view(case, Scope.of(department))
        assert [i["department"] for i in view["items"].values()] == [department.value]
        others = [i for i in items if i.department is not department]
        text = str(view)
        for other in others:
            assert other.item_id not in text
        assert view["event_ids"] == [] and view["scope"] == department.value
        assert view["subject_ids"] == decision.subject_ids  # both were granted both spouses' ids
    police = case_view(case, Scope.of(POLICE))
    assert "REF" not in str(police)  # the provident fund's reference
    fund = case_view(case, Scope.of(FUND))
    assert "another household" not in str(fund)  # public security's rejection reason
    assert police["status"] == "COMPLETED" and police["completed_at"]  # its own part is done


def test_the_registering_department_sees_the_case_and_its_subjects_but_no_items(marriage):
    case, decision, _ = marriage
    view = case_view(case, Scope.of(CIVIL))
    assert view["items"] == {} and view["subject_ids"] == decision.subject_ids
    assert view["event_ids"] == [decision.event_id] and view["status"] == case.status.value
    assert "REF" not in str(view) and "household" not in str(view)


def test_a_department_no_party_to_the_case_sees_nothing(marriage):
    case, decision, _ = marriage
    assert not is_party(case, TAX)
    assert case_view(case, Scope.of(TAX)) is None
    assert subject_cases_view(decision.subject_ids[0], [case], Scope.of(TAX)) == []


def test_a_parent_not_given_to_a_department_is_not_linked_to_the_case():
    """Medical insurance gets the mother's id but not the father's; public security gets both."""
    birth, decision, _ = _case(EventType.BIRTH_CERTIFIED)
    certificate, mother, father = decision.subject_ids
    assert visible_subject_ids(birth, MEDICAL) == [certificate, mother]
    assert visible_subject_ids(birth, POLICE) == [certificate, mother, father]
    assert visible_subject_ids(birth, HEALTH) == [certificate, mother, father]  # registered it
    assert father not in str(case_view(birth, Scope.of(MEDICAL)))
    assert subject_cases_view(father, [birth], Scope.of(MEDICAL)) == []
    assert [c["case_id"] for c in subject_cases_view(mother, [birth], Scope.of(MEDICAL))] == [birth.case_id]
    assert [c["case_id"] for c in subject_cases_view(father, [birth], Scope.of(POLICE))] == [birth.case_id]


def test_a_department_granted_only_a_name_sees_no_identity_number():
    case, decision, _ = _case(EventType.MARRIAGE_REGISTERED)
    for item in case.items.values():
        if item.department == FUND.value:
            item.granted_fields = ["payload.spouse_a.name", "payload.spouse_a.id_number",
                                   "payload.spouse_b.name"]
    assert visible_subject_ids(case, FUND) == [decision.subject_ids[0]]
    assert subject_cases_view(decision.subject_ids[1], [case], Scope.of(FUND)) == []


def test_an_unknown_event_type_or_an_extra_subject_id_is_shown_to_no_recipient(marriage):
    case, decision, _ = marriage
    corrected = case.model_copy(update={"subject_ids": [*case.subject_ids, "330106199001011234"]})
    assert visible_subject_ids(corrected, POLICE) == decision.subject_ids
    assert visible_subject_ids(case.model_copy(update={"event_type": "new_type"}), POLICE) == []


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_the_subject_fields_are_where_each_payload_keeps_its_subject_ids(event_type):
    paths = SUBJECT_FIELDS[event_type.value]
    for seed in range(8):
        submission = generate(event_type, random.Random(seed))
        payload = CATALOGUE[event_type].payload_model.model_validate(submission["payload"])
        ids = CATALOGUE[event_type].subject_ids(payload)
        assert len(ids) <= len(paths)
        assert ids == [lookup(submission, p) for p in paths[:len(ids)]]


# --- the subject timeline -------------------------------------------------------------------

def _timeline_of(subject: str, *cases_and_items, queries=()):
    timeline = InMemoryTimeline()
    n = 0
    for decision, items in cases_and_items:
        timeline.add(decision_entry(decision, source("p.routing", 0, n), PSEUDONYMS.of), partition=0)
        for item in items:
            n += 1
            outcome = Outcome.for_item(item, OutcomeStatus.REJECTED, T0, reason=f"reason-{item.department}")
            timeline.add(item_entry(item, source("p.inbox", 0, n), T0), partition=0)
            timeline.add(outcome_entry(outcome, source("p.outcomes", 0, n)), partition=0)
    for q in queries:
        timeline.add(note_entry(q, source("p.intake", 0, 99)), partition=0)
    timeline.catch_up()
    return about(timeline, subject)


def test_a_department_timeline_holds_only_its_items_of_cases_it_was_given_the_subject_in():
    birth, birth_decision, birth_items = _case(EventType.BIRTH_CERTIFIED)
    _, mother, father = birth_decision.subject_ids
    query = FactQueryNote(query_id="q", at=T0, department=FUND.value, subject_ref=PSEUDONYMS.of(mother), allowed=False)
    full = _timeline_of(mother, (birth_decision, birth_items), queries=[query])
    assert timeline_view(full, Scope.everything(), {}) is full
    medical = timeline_view(full, Scope.of(MEDICAL), {birth.case_id: birth})
    assert [r["department"] for r in medical["recipients"]] == [MEDICAL.value]
    assert [d["department"] for d in medical["departments"]] == [MEDICAL.value]
    [event] = medical["events"]
    assert [i["department"] for i in event["items"]] == [MEDICAL.value]
    assert medical["fact_queries"] == [] and "reason-PUBLIC_SECURITY" not in str(medical)
    assert timeline_case_ids(medical) == [birth.case_id]
    # asked by the father, whom medical insurance was never given: nothing
    by_father = timeline_view(_timeline_of(father, (birth_decision, birth_items)), Scope.of(MEDICAL),
                              {birth.case_id: birth})
    assert by_father["events"] == by_father["recipients"] == by_father["departments"] == []
    # a case the case view does not know (yet) is left out
    assert timeline_view(full, Scope.of(MEDICAL), {})["events"] == []
    fund = timeline_view(full, Scope.of(FUND), {birth.case_id: birth})
    assert fund["events"] == [] and [q["query_id"] for q in fund["fact_queries"]] == ["q"]
