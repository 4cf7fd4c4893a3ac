"""Erasing a person (hub.domain.erasure): the request's rules, the legal holds, the ERASURE items,
and what views show of an erased person (hub.domain.personal_data.erased_view)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from hub.domain.case import CaseState, ItemState
from hub.domain.envelope import EventType
from hub.domain.erasure import (DEFAULT_HOLDS, ERASED_EVENT_TYPE, LegalHold, erasure_id, erasure_items,
                                hold_refusal, holds_from_settings, is_erasure,
                                request_problems)
from hub.domain.personal_data import ERASED, erased_view, sealed_paths, split
from hub.domain.routing import ItemChange
from producers.demo_data import generate
from tests.factories import sealed_record

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
ID = "110101199003077777"  # synthetic, shaped like an identity number


def test_a_good_request_has_no_problem():
    assert request_problems(ID, "PIPL art. 47(1): purpose achieved") == []


@pytest.mark.parametrize("subject, basis, expected", [
    ("12345", "PIPL art. 47(1)", "SUBJECT_ID: must be an identity number"),
    (ID, "no", "--basis: must be 4 to 200 characters"),
    (ID, "x" * 201, "--basis: must be 4 to 200 characters"),
    (ID, f"asked by {ID}", "--basis: must not contain an identifier"),
    (ID, "asked by 91330106MA2B12345X", "--basis: must not contain an identifier"),
])
def test_a_bad_request_names_the_argument_and_the_rule_without_the_value(subject, basis, expected):
    problems = request_problems(subject, basis)
    assert any(p.startswith(expected) for p in problems), problems
    assert all(ID not in p and "91330106MA2B12345X" not in p for p in problems)


def _case(event_type: str, opened_at: datetime, *changes: str) -> CaseState:
    items = {f"item-{n}": ItemState(item_id=f"item-{n}", department="TAX", item="tax_registration",
                                    name_zh="税务登记", change=change) for n, change in enumerate(changes)}
    return CaseState(case_id=f"case-{event_type}", event_type=event_type, opened_at=opened_at, items=items)


def test_a_permanent_hold_refuses_naming_the_type_and_the_law():
    refusal = hold_refusal([_case("enterprise_registered", NOW), _case("marriage_registered", NOW)],
                           DEFAULT_HOLDS, NOW)
    assert refusal is not None and "marriage_registered" in refusal and "婚姻登记档案" in refusal
    assert "nothing was erased" in refusal


def test_a_hold_of_years_ends():
    hold = LegalHold(30, "test")
    assert hold.holds(NOW - timedelta(days=365 * 29), NOW)
    assert not hold.holds(NOW - timedelta(days=365 * 31), NOW)
    holds = holds_from_settings({"retirement_approved": 30})
    assert hold_refusal([_case("retirement_approved", NOW - timedelta(days=365 * 31))], holds, NOW) is None
    assert "for 30 years" in hold_refusal([_case("retirement_approved", NOW)], holds, NOW)


def test_the_operator_sets_the_holds_over_the_defaults():
    holds = holds_from_settings({"marriage_registered": 0, "enterprise_registered": "permanent"})
    assert "marriage_registered" not in holds and holds["enterprise_registered"].years is None
    assert hold_refusal([_case("social_organisation_registered", NOW)], holds, NOW) is None
    with pytest.raises(ValueError, match="erasure hold of birth_certified: must be a number of years"):
        holds_from_settings({"birth_certified": "soon"})


def test_an_erasure_item_per_item_of_data_with_ids_the_same_on_every_run():
    case = _case("enterprise_registered", NOW, "NEW", "CORRECTION", "ANNULMENT")
    erasure = erasure_id("k1:abc")
    items = erasure_items([case], erasure, NOW)
    assert sorted(i.refers_to_item_id for i in items) == ["item-0", "item-1"]  # an annulment carried no data
    assert all(is_erasure(i) and i.change is ItemChange.ANNULMENT and i.data == {} and i.grants == []
               for i in items)
    assert all(i.event_type == ERASED_EVENT_TYPE and i.event_id == erasure for i in items)
    assert all(i.deadline_at - i.requested_at == timedelta(days=15) for i in items)
    assert erasure_items([case], erasure_id("k1:abc"), NOW) == items
    assert {i.item_id for i in erasure_items([case], erasure_id("k1:other"), NOW)}.isdisjoint(
        {i.item_id for i in items})


def _event(event_type: EventType) -> dict:
    return sealed_record(event_type, generate(event_type, random.Random(5)))


def test_an_erased_spouse_reads_erased_and_the_other_is_untouched():
    event = _event(EventType.MARRIAGE_REGISTERED)
    view = erased_view(event, ["spouse_a"])
    a, b = view["payload"]["spouse_a"], view["payload"]["spouse_b"]
    assert a["name"] == ERASED
    assert a["id_number"] == event["payload"]["spouse_a"]["id_number"]  # filed under it in the clear
    assert b == event["payload"]["spouse_b"]
    assert event["payload"]["spouse_a"]["name"] != ERASED  # the input is not changed


def test_a_legal_representative_s_number_is_sealed_so_it_reads_erased_too():
    event = _event(EventType.ENTERPRISE_REGISTERED)
    assert "payload.legal_representative.id_number" in sealed_paths(event, "legal_representative")
    clear, _ = split(event)
    view = erased_view(clear, ["legal_representative"])  # as a view decodes it: placeholders
    assert view["payload"]["legal_representative"] == {
        **clear["payload"]["legal_representative"], "name": ERASED, "id_number": ERASED}
    assert view["payload"]["enterprise_name"] == event["payload"]["enterprise_name"]


def test_the_audit_note_names_the_person_by_pseudonym_and_the_timeline_shows_the_erasure():
    from hub.audit.intake import decode_note, encode_note, note_key
    from hub.cli.audit_views import timeline_lines
    from hub.domain.audit_entries import ErasureNote, note_entry
    from hub.domain.disclosure_scope import Scope, timeline_view
    from hub.domain.departments import Department
    from hub.domain.timeline import is_empty, subject_timeline

    note = ErasureNote(erasure_id="e-1", at=NOW, requested_by="ops", subject_ref="k1:abc",
                       basis="PIPL art. 47(1): purpose achieved", keys_erased=2, items_sent=3,
                       departments=["TAX", "MEDICAL_INSURANCE"])
    assert decode_note(encode_note(note)) == note and note_key(note) == b"k1:abc"
    entry = note_entry(note, {"topic": "p.audit-intake", "partition": 0, "offset": 7})
    assert entry["kind"] == "erasure" and entry["subject_refs"] == ["k1:abc"] and "subject_ref" not in entry
    timeline = subject_timeline(ID, [], [], [], erasures=[{**entry, "audit": "0@9"}])
    assert not is_empty(timeline)
    [shown] = timeline["erasures"]
    assert (shown["keys_erased"], shown["items_sent"], shown["audit"]) == (2, 3, "0@9")
    lines = "\n".join(timeline_lines(timeline))
    assert "2 key(s) destroyed" in lines and "PIPL art. 47(1)" in lines
    tax = timeline_view(timeline, Scope.of(Department.TAX), {})
    assert tax["erasures"][0]["departments"] == ["TAX"] and "requested_by" not in tax["erasures"][0]
    fund = timeline_view(timeline, Scope.of(Department.PROVIDENT_FUND), {})
    assert fund["erasures"] == []
