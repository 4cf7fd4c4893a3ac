"""The ownership rules (hub/domain/ownership.py): who may refer to, reuse or join what."""

from __future__ import annotations

import copy
from datetime import timedelta

from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.ownership import (
    Recorded, case_refusal, fingerprint, id_refusal, outcome_refusal, reference_refusal,
    supplement_refusal, writer_refusal)
from tests.factories import sealed_record, submission, supplement_record

CIVIL, MARKET, HEALTH = Department.CIVIL_AFFAIRS.value, Department.MARKET_SUPERVISION.value, Department.HEALTH.value


def _marriage(seed: int = 1) -> dict:
    return sealed_record(EventType.MARRIAGE_REGISTERED, seed=seed)


def _referring(original: dict, kind: str = "ANNULMENT", *, event_type=None, seed=None,
               department: Department | None = None, filed_under: str | None = None) -> dict:
    """An event of ``event_type`` (the original's by default) referring to ``original``
    (naming the subject it is filed under, if ``filed_under``)."""
    event_type = event_type or original["envelope"]["event_type"]
    raw = submission(event_type, seed if seed is not None else 1)
    raw["refers_to"] = {"event_id": original["envelope"]["event_id"], "change_kind": kind,
                        **({"subject_id": filed_under} if filed_under else {})}
    return sealed_record(event_type, raw, department=department)


def test_a_correction_by_the_same_department_of_the_same_event_is_accepted():
    original = _marriage()
    assert reference_refusal(_referring(original, "CORRECTION"), Recorded.of(original)) is None
    assert reference_refusal(_referring(original), Recorded.of(original)) is None


def test_an_annulment_from_another_department_is_refused_naming_the_rule():
    original = _marriage()
    forged = _referring(original, event_type=EventType.ENTERPRISE_REGISTERED)  # MARKET_SUPERVISION
    reason = reference_refusal(forged, Recorded.of(original))
    assert "references are owned" in reason and f"published by {CIVIL}, not by {MARKET}" in reason


def test_a_reference_to_another_type_or_subject_or_to_nothing_is_refused():
    original = _marriage()
    other_type = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, {
        **submission(EventType.SOCIAL_ORGANISATION_REGISTERED),
        "refers_to": {"event_id": original["envelope"]["event_id"], "change_kind": "CORRECTION"}})
    assert "is a marriage_registered event, not social_organisation_registered" in reference_refusal(
        other_type, Recorded.of(original))
    other_subject = _referring(original, "CORRECTION", seed=2)  # other spouses, filed under them
    reason = reference_refusal(other_subject, Recorded.of(original))
    assert "filed under another subject" in reason and "refers_to.subject_id" in reason
    assert original["envelope"]["subject_ids"][0] not in reason  # no identity number in a reason
    annulment = _referring(original, "ANNULMENT", seed=2, filed_under=original["envelope"]["subject_ids"][0])
    assert "another primary subject" in reference_refusal(annulment, Recorded.of(original))
    assert "never recorded" in reference_refusal(_referring(original), None)


def test_an_original_recorded_by_an_older_router_cannot_be_verified():
    reason = reference_refusal(_referring(_marriage()), Recorded(None, None, None, None))
    assert "an unrecorded department" in reason


def test_an_event_without_a_reference_refers_to_nothing():
    assert reference_refusal(_marriage(), None) is None


def test_a_supplement_only_from_the_department_that_accepted_the_held_event():
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    own = supplement_record(held, ["章程"], held["envelope"]["recorded_at"])
    assert reference_refusal(own, Recorded.of(held)) is None
    assert "no event" in reference_refusal(own, None)
    reason = supplement_refusal(HEALTH, held["envelope"]["event_id"], Recorded.of(held))
    assert "references are owned" in reason and f"accepted by {CIVIL}, not by {HEALTH}" in reason


def test_the_fingerprint_is_the_content_without_what_the_hub_adds():
    event = _marriage()
    again = copy.deepcopy(event)
    again["envelope"]["recorded_at"] += timedelta(seconds=3)  # a retry, sealed again later
    assert fingerprint(again) == fingerprint(event)
    changed = copy.deepcopy(event)
    changed["payload"]["registration_office"] = "别处"
    assert fingerprint(changed) != fingerprint(event)
    added = copy.deepcopy(event)
    added["payload"]["witness_name"] = None  # an optional field added to the schema later
    assert fingerprint(added) == fingerprint(event)


def test_an_event_id_is_reused_only_with_the_same_content():
    event = _marriage()
    assert id_refusal(event, None) is None
    assert id_refusal(event, Recorded.of(event)) is None  # a re-delivery
    other = _marriage(2)
    other["envelope"]["event_id"] = event["envelope"]["event_id"]
    assert "event id reused with different content" in id_refusal(other, Recorded.of(event))
    assert "already used" in id_refusal(event, Recorded(None, None, None, None))


def test_only_the_opener_joins_a_case():
    assert case_refusal("c-1", CIVIL, None) is None
    assert case_refusal("c-1", CIVIL, CIVIL) is None
    assert "case c-1 was opened by CIVIL_AFFAIRS; HEALTH may not join it" in case_refusal("c-1", HEALTH, CIVIL)


def test_one_writer_per_topic():
    event = _marriage()
    ok = writer_refusal(event, "p.events.marriage_registered", "marriage_registered", CIVIL, frozenset({CIVIL}))
    assert ok is None
    assert "does not publish" in writer_refusal(
        sealed_record(EventType.MARRIAGE_REGISTERED, department=Department.HEALTH),
        "p.events.marriage_registered", "marriage_registered", CIVIL, frozenset({CIVIL}))
    assert "which only HEALTH writes" in writer_refusal(
        event, "p.events.x.health", "marriage_registered", HEALTH, frozenset({CIVIL, HEALTH}))
    assert "the topic of birth_certified" in writer_refusal(
        event, "p.events.birth_certified", "birth_certified", HEALTH, frozenset({HEALTH}))


def test_an_outcome_counts_only_from_the_items_department():
    assert outcome_refusal("TAX", "i-1", "TAX") is None
    assert "routed to TAX, not to COMMERCE" in outcome_refusal("COMMERCE", "i-1", "TAX")


def test_a_correction_may_change_the_primary_subject_filed_under_its_originals():
    """A mistyped identity number is corrected by a correction naming the right one; it is
    filed (keyed) under the original's subject, and so is a correction of that correction."""
    original = _marriage()
    filed = original["envelope"]["subject_ids"][0]
    fixed = _referring(original, "CORRECTION", seed=2, filed_under=filed)
    assert fixed["envelope"]["subject_ids"][0] != filed
    assert reference_refusal(fixed, Recorded.of(original)) is None
    assert Recorded.of(fixed).key == filed  # what a later change must be filed under
    again = _referring(fixed, "CORRECTION", seed=2, filed_under=filed)
    assert reference_refusal(again, Recorded.from_json(Recorded.of(fixed).as_json())) is None
    unfiled = _referring(fixed, "CORRECTION", seed=2)  # filed under its own new subject
    assert "filed under another subject" in reference_refusal(unfiled, Recorded.of(fixed))
