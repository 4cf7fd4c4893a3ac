"""Facts: derivation per event type, current values, corrections/annulments/held events, and what
each department may see of them (the routing rules' grants, nothing more)."""

from __future__ import annotations

import logging
import random
from types import SimpleNamespace

import pytest

from hub.kafka.clients import Clients
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.facts import (
    FactKind,
    current,
    derive_facts,
    disclosed_fields,
    grants_anything,
    visible_to,
)
from hub.domain.sealing import seal
from hub.projections.facts import FactsProjection
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

RULES = load_rules()
SEED_TYPES = [t for t in EventType if t is not EventType.DOCUMENTS_SUPPLEMENTED]
HPF_WITHDRAW = "《住房公积金管理条例》第二十四条"


def sealed(event_type: EventType, submission: dict, department: Department | None = None) -> dict:
    spec = CATALOGUE[event_type]
    return event_to_record(seal(spec, department or spec.owner, submission))


def event_of(event_type: EventType, seed: int = 1, **payload_changes) -> dict:
    submission = generate(event_type, random.Random(seed))
    submission["payload"].update(payload_changes)
    return sealed(event_type, submission)


def change_of(original: dict, kind: str, **payload_changes) -> dict:
    """A correction or annulment of ``original`` (full payload, changes applied)."""
    event_type = EventType(original["envelope"]["event_type"])
    payload = CATALOGUE[event_type].payload_model.model_validate(original["payload"])
    submission = {"payload": {**payload.model_dump(mode="json"), **payload_changes},
                  "occurred_at": original["envelope"]["occurred_at"].isoformat(),
                  "refers_to": {"event_id": original["envelope"]["event_id"], "change_kind": kind}}
    return sealed(event_type, submission)


def shown(department: Department, event: dict, subject_id: str) -> list:
    return visible_to(department, [f for f in derive_facts(event) if f.subject_id == subject_id], RULES)


# -- derivation ---------------------------------------------------------------------------------

def test_a_marriage_makes_both_spouses_married():
    event = event_of(EventType.MARRIAGE_REGISTERED)
    facts = derive_facts(event)
    payload = event["payload"]
    assert [(f.subject_id, f.fact, f.status, f.role) for f in facts] == [
        (payload["spouse_a"]["id_number"], FactKind.MARITAL_STATUS, "MARRIED", "spouse"),
        (payload["spouse_b"]["id_number"], FactKind.MARITAL_STATUS, "MARRIED", "spouse")]
    fact = facts[0]
    assert fact.event_id == event["envelope"]["event_id"]
    assert fact.values["payload.spouse_b.name"] == payload["spouse_b"]["name"]
    assert fact.values["payload.registered_on"] == str(payload["registered_on"])
    assert fact.values["payload.certificate_number"] == payload["certificate_number"]


@pytest.mark.parametrize("event_type", [EventType.ENTERPRISE_REGISTERED,
                                        EventType.SOCIAL_ORGANISATION_REGISTERED])
def test_an_organisation_is_registered_and_listed_for_its_legal_representative(event_type):
    event = event_of(event_type)
    payload = event["payload"]
    assert [(f.subject_id, f.fact, f.role, f.key) for f in derive_facts(event)] == [
        (payload["uscc"], FactKind.REGISTERED_ORGANISATION, "organisation", payload["uscc"]),
        (payload["legal_representative"]["id_number"], FactKind.REGISTERED_ORGANISATION,
         "legal_representative", payload["uscc"])]


def test_a_birth_gives_the_child_a_vital_status_and_each_parent_a_child_entry():
    event = event_of(EventType.BIRTH_CERTIFIED, seed=3)
    payload = event["payload"]
    assert payload["father"] is not None
    assert [(f.subject_id, f.fact, f.status, f.role, f.key) for f in derive_facts(event)] == [
        (payload["certificate_number"], FactKind.VITAL_STATUS, "BORN", "child", ""),
        (payload["mother"]["id_number"], FactKind.CHILD, "BORN", "mother", payload["certificate_number"]),
        (payload["father"]["id_number"], FactKind.CHILD, "BORN", "father", payload["certificate_number"])]
    fatherless = event_of(EventType.BIRTH_CERTIFIED, seed=3, father=None)
    assert [f.role for f in derive_facts(fatherless)] == ["child", "mother"]


def test_a_death_and_a_retirement():
    death, retirement = event_of(EventType.DEATH_CERTIFIED), event_of(EventType.RETIREMENT_APPROVED)
    assert [(f.subject_id, f.fact, f.status) for f in derive_facts(death)] == [
        (death["payload"]["deceased"]["id_number"], FactKind.VITAL_STATUS, "DECEASED")]
    assert [(f.subject_id, f.fact, f.status) for f in derive_facts(retirement)] == [
        (retirement["payload"]["person"]["id_number"], FactKind.RETIREMENT, "RETIREMENT_APPROVED")]


@pytest.mark.parametrize("event_type", SEED_TYPES)
def test_every_subject_of_an_event_gets_a_fact(event_type):
    for seed in range(20):
        event = event_of(event_type, seed)
        assert set(event["envelope"]["subject_ids"]) <= {f.subject_id for f in derive_facts(event)}


def test_the_latest_marriage_is_the_current_one():
    first = event_of(EventType.MARRIAGE_REGISTERED, seed=5)
    again = event_of(EventType.MARRIAGE_REGISTERED, seed=6,
                     spouse_a=first["payload"]["spouse_a"])
    again["envelope"]["occurred_at"] = first["envelope"]["occurred_at"].replace(
        year=first["envelope"]["occurred_at"].year + 1)
    subject = first["payload"]["spouse_a"]["id_number"]
    facts = [f for e in (again, first) for f in derive_facts(e) if f.subject_id == subject]
    assert [f.event_id for f in current(facts)] == [again["envelope"]["event_id"]]


def test_organisations_and_children_are_many_valued():
    one = event_of(EventType.ENTERPRISE_REGISTERED, seed=1)
    rep = one["payload"]["legal_representative"]
    two = event_of(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=2, legal_representative=rep)
    facts = [f for e in (one, two) for f in derive_facts(e) if f.subject_id == rep["id_number"]]
    assert {f.key for f in current(facts)} == {one["payload"]["uscc"], two["payload"]["uscc"]}


# -- what a department may see ------------------------------------------------------------------

def test_the_provident_fund_sees_who_is_married_to_whom_and_since_when_but_not_the_certificate():
    event = event_of(EventType.MARRIAGE_REGISTERED)
    payload = event["payload"]
    [fact] = shown(Department.PROVIDENT_FUND, event, payload["spouse_b"]["id_number"])
    assert (fact.fact, fact.status) == (FactKind.MARITAL_STATUS, "MARRIED")
    assert {p: (v.value, v.basis) for p, v in fact.fields.items()} == {
        "payload.spouse_a.name": (payload["spouse_a"]["name"], HPF_WITHDRAW),
        "payload.spouse_a.id_number": (payload["spouse_a"]["id_number"], HPF_WITHDRAW),
        "payload.spouse_b.name": (payload["spouse_b"]["name"], HPF_WITHDRAW),
        "payload.spouse_b.id_number": (payload["spouse_b"]["id_number"], HPF_WITHDRAW),
        "payload.registered_on": (str(payload["registered_on"]), HPF_WITHDRAW),
    }


def test_a_grant_of_a_record_grants_its_fields():
    event = event_of(EventType.MARRIAGE_REGISTERED)
    [fact] = shown(Department.PUBLIC_SECURITY, event, event["payload"]["spouse_a"]["id_number"])
    assert set(fact.fields) == {f"payload.{s}.{k}" for s in ("spouse_a", "spouse_b")
                                for k in ("name", "id_number", "sex")} | {
        "payload.registered_on", "payload.certificate_number"}
    assert "payload.registration_office" not in fact.fields  # granted to no one


def test_no_field_of_an_event_type_granted_means_no_fact():
    event = event_of(EventType.MARRIAGE_REGISTERED)
    assert shown(Department.TAX, event, event["payload"]["spouse_a"]["id_number"]) == []


def test_the_cause_of_death_is_shown_to_no_one():
    event = event_of(EventType.DEATH_CERTIFIED)
    subject = event["payload"]["deceased"]["id_number"]
    seen = [f for d in Department for f in shown(d, event, subject)]
    assert len(seen) == 4  # public security, pensions, medical insurance, provident fund
    assert all("payload.died_at" in f.fields and "payload.cause_category" not in f.fields for f in seen)


def test_a_fact_is_shown_only_to_departments_granted_the_identifier_it_was_found_by():
    event = event_of(EventType.ENTERPRISE_REGISTERED)
    payload = event["payload"]
    rep_id = payload["legal_representative"]["id_number"]
    # The provident fund receives the representative's name, never the identity number: a query
    # by that number must not link it to the enterprise.
    assert shown(Department.PROVIDENT_FUND, event, rep_id) == []
    [by_code] = shown(Department.PROVIDENT_FUND, event, payload["uscc"])
    assert "payload.legal_representative.name" in by_code.fields
    assert "payload.legal_representative.id_number" not in by_code.fields
    [hrss] = shown(Department.HUMAN_RESOURCES_SOCIAL_SECURITY, event, rep_id)
    assert hrss.fields["payload.legal_representative.id_number"].value == rep_id
    assert hrss.role == "legal_representative"


def test_a_conditional_grant_applies_only_when_its_condition_holds():
    domestic = event_of(EventType.ENTERPRISE_REGISTERED, foreign_invested=False, investor_countries=[])
    foreign = event_of(EventType.ENTERPRISE_REGISTERED, foreign_invested=True, investor_countries=["SG"])
    assert shown(Department.COMMERCE, domestic, domestic["payload"]["uscc"]) == []
    [fact] = shown(Department.COMMERCE, foreign, foreign["payload"]["uscc"])
    assert fact.fields["payload.investor_countries"].value == '["SG"]'


def test_source_only_departments_are_granted_nothing():
    assert {d for d in Department if not grants_anything(RULES, d)} == {
        Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION, Department.HEALTH}


def test_the_audit_names_each_disclosed_field_once_with_its_basis():
    one = event_of(EventType.ENTERPRISE_REGISTERED, seed=1)
    rep = one["payload"]["legal_representative"]
    two = event_of(EventType.ENTERPRISE_REGISTERED, seed=2, legal_representative=rep)
    facts = [f for e in (one, two) for f in derive_facts(e) if f.subject_id == rep["id_number"]]
    seen = visible_to(Department.TAX, current(facts), RULES)
    assert len(seen) == 2
    named = disclosed_fields(seen)
    assert len(named) == len(seen[0].fields) == len({n.field for n in named})
    assert {(n.event_type, n.basis) for n in named} == {
        ("enterprise_registered", seen[0].fields["payload.uscc"].basis)}


# -- the projection's storage: corrections, annulments, held events ------------------------------

@pytest.fixture
def projection(tmp_path):
    facts = FactsProjection(Clients(HubSettings(topic_prefix="unit")), path=tmp_path / "facts.sqlite")
    yield facts
    facts.close()


def apply(projection, *events):
    conn = projection.connection()
    for event in events:
        projection.apply_event(conn, event)


def test_a_correction_replaces_the_facts_of_the_event_it_corrects(projection):
    original = event_of(EventType.MARRIAGE_REGISTERED, seed=7)
    spouse_a = original["payload"]["spouse_a"]["id_number"]
    corrected = change_of(original, "CORRECTION", registration_office="杭州市西湖区婚姻登记处")
    apply(projection, original, corrected)
    [fact] = projection.facts_for(spouse_a)
    assert fact.event_id == corrected["envelope"]["event_id"]
    assert fact.values["payload.registration_office"] == "杭州市西湖区婚姻登记处"


def test_a_correction_of_a_subject_leaves_the_old_subject_with_nothing(projection):
    original = event_of(EventType.MARRIAGE_REGISTERED, seed=7)
    other = event_of(EventType.MARRIAGE_REGISTERED, seed=8)["payload"]["spouse_b"]
    corrected = change_of(original, "CORRECTION", spouse_b=other)
    apply(projection, original, corrected)
    assert projection.facts_for(original["payload"]["spouse_b"]["id_number"]) == []
    assert len(projection.facts_for(other["id_number"])) == 1


def test_an_annulment_withdraws_the_whole_chain_of_corrections(projection):
    original = event_of(EventType.RETIREMENT_APPROVED, seed=2)
    subject = original["payload"]["person"]["id_number"]
    first = change_of(original, "CORRECTION", insured_region="330106")
    second = change_of(first, "CORRECTION", insured_region="330109")
    apply(projection, original, first, second)
    [fact] = projection.facts_for(subject)
    assert fact.values["payload.insured_region"] == "330109"
    apply(projection, change_of(second, "ANNULMENT"))
    assert projection.facts_for(subject) == []


def _held_marriage(seed: int, documents: list[str]) -> tuple[dict, str]:
    submission = generate(EventType.MARRIAGE_REGISTERED, random.Random(seed))
    submission["pending_documents"] = documents
    held = sealed(EventType.MARRIAGE_REGISTERED, submission)
    return held, held["payload"]["spouse_a"]["id_number"]


def _supplement(held: dict, subject: str, *documents: str) -> dict:
    return sealed(EventType.DOCUMENTS_SUPPLEMENTED, {
        "occurred_at": held["envelope"]["occurred_at"],
        "payload": {"supplements_event_id": held["envelope"]["event_id"], "subject_id": subject,
                    "documents": list(documents)}}, Department.CIVIL_AFFAIRS)


def test_an_event_held_for_documents_states_nothing_until_they_are_supplemented(projection):
    held, subject = _held_marriage(9, ["户口簿", "身份证复印件"])
    apply(projection, held)
    assert projection.facts_for(subject) == []
    apply(projection, _supplement(held, subject, "户口簿"))
    assert projection.facts_for(subject) == []
    apply(projection, _supplement(held, subject, "身份证复印件"))
    assert [f.event_id for f in projection.facts_for(subject)] == [held["envelope"]["event_id"]]


def test_documents_read_before_their_held_event_count_when_it_comes(projection):
    held, subject = _held_marriage(10, ["户口簿", "身份证复印件"])
    apply(projection, _supplement(held, subject, "户口簿"), _supplement(held, subject, "身份证复印件"))
    apply(projection, held)  # read after its supplements (another topic)
    assert [f.event_id for f in projection.facts_for(subject)] == [held["envelope"]["event_id"]]
    partly, other = _held_marriage(11, ["户口簿", "身份证复印件"])
    apply(projection, _supplement(partly, other, "户口簿"), partly)
    assert projection.facts_for(other) == []  # still waiting for the second document
    apply(projection, _supplement(partly, other, "身份证复印件"))
    assert [f.event_id for f in projection.facts_for(other)] == [partly["envelope"]["event_id"]]
    assert projection.query("SELECT count(*) FROM early_documents")[0][0] == 0


def test_an_undecodable_record_is_skipped_not_fatal(projection, caplog):
    topic = projection.topics()[0]
    conn = projection.connection()
    with caplog.at_level(logging.WARNING, logger="hub.projections.facts"):
        for value in (b"not avro at all", None):
            projection.apply(conn, SimpleNamespace(topic=topic, partition=0, offset=3, key=b"k",
                                                   value=value))
    assert len([r for r in caplog.records if "skipping" in r.getMessage()]) == 2
    assert projection.skipped == 2
    assert conn.execute("SELECT count(*) FROM facts").fetchone()[0] == 0
