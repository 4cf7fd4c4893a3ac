"""The router refuses what would reach into another department's data (hub/domain/ownership.py):
one writer per topic, owned references, owned ids and cases — each a dead letter naming the rule,
never a stalled partition; and what it records to check them."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.ownership import fingerprint
from hub.domain.routing import DecisionKind, ItemChange, RoutingDecision, WorkItem
from hub.kafka.topic_names import TopicNames
from hub.worker.processor import SourceRecord
from tests.factories import change_record, pickle_router, sealed_record, submission, supplement_record

NAMES = TopicNames("unit")
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
CIVIL, MARKET, HEALTH = Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION, Department.HEALTH


@pytest.fixture
def router():
    """The router as ``hub worker`` builds it (topics read side by side), pickle for Avro."""
    return pickle_router(NAMES, lambda: NOW, cases={}, early_supplements=True)


def _record(event: dict, offset: int = 0, topic: str | None = None) -> SourceRecord:
    env = event["envelope"]
    topic = topic or NAMES.events(CATALOGUE[EventType(env["event_type"])], Department(env["source_department"]))
    return SourceRecord(topic, 0, offset, env["subject_ids"][0].encode(), pickle.dumps(event))


def _out(router, event, offset=0, topic=None) -> list:
    return [pickle.loads(o.value) for o in router.process(_record(event, offset, topic))]


def _letter(outputs: list) -> DeadLetter:
    (letter,) = outputs
    assert isinstance(letter, DeadLetter) and letter.stage == "router"
    return letter


def _refers(original: dict, event_type: EventType, kind: str = "ANNULMENT", seed: int = 1,
            department: Department | None = None) -> dict:
    raw = {**submission(event_type, seed),
           "refers_to": {"event_id": original["envelope"]["event_id"], "change_kind": kind}}
    return sealed_record(event_type, raw, department=department)


def _marriage(router, seed: int = 1) -> dict:
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED, seed=seed)
    assert any(isinstance(m, WorkItem) for m in _out(router, marriage))
    return marriage


# -- one writer per topic -------------------------------------------------------------------------

def test_an_event_on_a_topic_its_department_does_not_write_is_a_dead_letter(router):
    forged = sealed_record(EventType.MARRIAGE_REGISTERED, department=MARKET)  # claims a marriage
    letter = _letter(_out(router, forged, 3, NAMES.events(CATALOGUE[EventType.MARRIAGE_REGISTERED])))
    assert "one writer per topic" in letter.reason and "MARKET_SUPERVISION does not publish" in letter.reason
    assert letter.source_offset == 3 and not router._routed and not router._cases


def test_a_supplement_on_another_publishers_topic_is_a_dead_letter(router):
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    router.process(_record(held))
    supplement = supplement_record(held, ["章程"], NOW, department=HEALTH)
    civil_topic = NAMES.events(CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED], CIVIL)
    letter = _letter(_out(router, supplement, 4, civil_topic))
    assert "one writer per topic" in letter.reason and "only CIVIL_AFFAIRS writes" in letter.reason
    assert held["envelope"]["event_id"] in router._held  # still held


# -- references are owned -----------------------------------------------------------------------

def test_market_supervision_cannot_annul_a_civil_affairs_marriage(router):
    marriage = _marriage(router)
    before = copy.deepcopy(router._routed)
    annulment = _refers(marriage, EventType.ENTERPRISE_REGISTERED)  # MARKET_SUPERVISION's own type
    letter = _letter(_out(router, annulment, 7))
    assert "annulment refused (references are owned)" in letter.reason
    assert "published by CIVIL_AFFAIRS, not by MARKET_SUPERVISION" in letter.reason
    assert router._routed == before  # the marriage's record is untouched


def test_a_correction_of_another_type_another_subject_or_an_unknown_event_is_a_dead_letter(router):
    marriage = _marriage(router)
    other_type = _refers(marriage, EventType.SOCIAL_ORGANISATION_REGISTERED, "CORRECTION")
    assert "is a marriage_registered event" in _letter(_out(router, other_type, 1)).reason
    other_subject = change_record(sealed_record(EventType.MARRIAGE_REGISTERED, seed=2), 2)
    other_subject["envelope"]["refers_to"]["event_id"] = marriage["envelope"]["event_id"]
    assert "filed under another subject" in _letter(_out(router, other_subject, 2)).reason
    unknown = change_record(sealed_record(EventType.MARRIAGE_REGISTERED, seed=3), 3)
    assert "was never recorded" in _letter(_out(router, unknown, 3)).reason


def test_a_correction_of_the_primary_subject_filed_under_the_original_reaches_its_departments(router):
    marriage = _marriage(router)
    filed = marriage["envelope"]["subject_ids"][0]
    fixed = change_record(sealed_record(EventType.MARRIAGE_REGISTERED, seed=2), 2)  # other spouses
    fixed["envelope"]["refers_to"] = {"event_id": marriage["envelope"]["event_id"],
                                      "change_kind": "CORRECTION", "subject_id": filed}
    items = [m for m in _out(router, fixed, 1) if isinstance(m, WorkItem)]
    assert items and all(i.refers_to_item_id for i in items)  # each changes an item sent before
    annul = change_record(fixed, 3, kind="ANNULMENT")
    annul["envelope"]["refers_to"]["subject_id"] = filed
    assert all(isinstance(m, WorkItem) for m in _out(router, annul, 2)[:-1])


def test_a_correction_by_the_owner_is_routed_and_recorded(router):
    marriage = _marriage(router)
    correction = change_record(marriage, 5, registration_office="西湖区婚姻登记处")
    items = [m for m in _out(router, correction, 1) if isinstance(m, WorkItem)]
    assert items and {i.change for i in items} == {ItemChange.CORRECTION}
    entry = router._routed[correction["envelope"]["event_id"]]
    assert entry == {"items": [[i.department.value, i.item] for i in items],
                     "department": "CIVIL_AFFAIRS", "event_type": "marriage_registered",
                     "subject": marriage["envelope"]["subject_ids"][0],
                     "fingerprint": fingerprint(correction)}


def test_an_entry_of_an_older_router_still_routes_but_cannot_be_referred_to(router):
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED)
    router._routed.base[marriage["envelope"]["event_id"]] = [["PUBLIC_SECURITY", "household_marital_status"]]
    letter = _letter(_out(router, change_record(marriage, 1, kind="ANNULMENT"), 1))
    assert "an unrecorded department" in letter.reason
    assert "already used" in _letter(_out(router, marriage, 2)).reason  # content unknown: refused


def test_a_supplement_from_another_accepting_department_is_a_dead_letter_and_the_event_stays_held(router):
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    router.process(_record(held))
    letter = _letter(_out(router, supplement_record(held, ["章程"], NOW, department=HEALTH), 5))
    assert "supplement refused (references are owned)" in letter.reason
    assert "accepted by CIVIL_AFFAIRS, not by HEALTH" in letter.reason
    assert router._held[held["envelope"]["event_id"]]["pending"] == ["章程"]
    released = _out(router, supplement_record(held, ["章程"], NOW), 6)  # its own department's
    assert released[-1].kind is DecisionKind.RELEASED


def test_an_early_supplement_from_another_department_is_dead_lettered_when_the_event_comes(router):
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    assert router.process(_record(supplement_record(held, ["章程"], NOW, department=MARKET), 8)) == []
    out = _out(router, held, 2)
    decisions = [m for m in out if isinstance(m, RoutingDecision)]
    assert [(d.kind, d.pending_documents) for d in decisions] == [(DecisionKind.HELD, ["章程"])]
    (letter,) = [m for m in out if isinstance(m, DeadLetter)]
    assert letter.source_offset == 8 and "not by MARKET_SUPERVISION" in letter.reason
    assert router._held[held["envelope"]["event_id"]]["pending"] == ["章程"]


def test_a_held_event_of_an_older_router_is_read_again_to_check_its_supplement(router):
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    router.process(_record(held))
    del router._held[held["envelope"]["event_id"]]["recorded"]  # as an older router kept it
    assert "not by HEALTH" in _letter(_out(router, supplement_record(held, ["章程"], NOW, department=HEALTH), 1)).reason
    assert _out(router, supplement_record(held, ["章程"], NOW), 2)[-1].kind is DecisionKind.RELEASED


# -- ids are owned ------------------------------------------------------------------------------

def test_an_event_id_reused_with_different_content_is_a_dead_letter(router):
    marriage = _marriage(router)
    reuse = sealed_record(EventType.MARRIAGE_REGISTERED, seed=9)
    reuse["envelope"]["event_id"] = marriage["envelope"]["event_id"]
    before = copy.deepcopy(router._routed)
    letter = _letter(_out(router, reuse, 4))
    assert letter.reason.startswith("event id reused with different content")
    assert router._routed == before


def test_the_same_event_again_is_routed_again_identically(router):
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED)
    assert router.process(_record(marriage)) == router.process(_record(marriage))
    retry = copy.deepcopy(marriage)
    retry["envelope"]["recorded_at"] = NOW  # the department retried: sealed again, same content
    assert all(not isinstance(m, DeadLetter) for m in _out(router, retry, 1))


def test_an_event_id_of_a_held_event_is_owned_too(router):
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    router.process(_record(held))
    reuse = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=4)
    reuse["envelope"]["event_id"] = held["envelope"]["event_id"]
    assert "reused with different content" in _letter(_out(router, reuse, 1)).reason
    assert router._held[held["envelope"]["event_id"]]["pending"] == ["章程"]


def test_only_the_department_that_opened_a_case_adds_to_it(router):
    marriage = _marriage(router)
    case_id = marriage["envelope"]["case_id"]
    assert router._cases == {case_id: "CIVIL_AFFAIRS"}
    intruder = sealed_record(EventType.BIRTH_CERTIFIED, case_id=case_id)  # HEALTH's
    letter = _letter(_out(router, intruder, 1))
    assert f"case {case_id} was opened by CIVIL_AFFAIRS; HEALTH may not join it" in letter.reason
    own = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, case_id=case_id)  # CIVIL_AFFAIRS's
    decisions = [m for m in _out(router, own, 2) if isinstance(m, RoutingDecision)]
    assert [d.case_id for d in decisions] == [case_id]
    health_case = sealed_record(EventType.BIRTH_CERTIFIED, case_id="hz-health-0001")
    assert any(isinstance(m, WorkItem) for m in _out(router, health_case, 3))
    assert router._cases["hz-health-0001"] == "HEALTH"
