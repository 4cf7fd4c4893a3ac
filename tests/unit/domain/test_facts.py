"""Facts: derivation per event type, current values, and what each department may see of them
(the routing rules' grants, nothing more); the facts projection skipping what it cannot decode.

Corrections, annulments and held events as the facts readers store them are the contract of
every facts reader: ``tests/contract/test_facts_reader.py``."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.envelope import REGISTRATIONS, EventType
from hub.domain.facts import (
    FactKind,
    current,
    derive_facts,
    disclosed_fields,
    grants_anything,
    visible_to,
)
from hub.memory import InMemoryClients
from hub.projections.facts import FactsProjection
from tests.builders import RULES, event_of

SEED_TYPES = list(REGISTRATIONS)
HPF_WITHDRAW = "《住房公积金管理条例》第二十四条"


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


# -- the projection: what only the SQLite one does (the rest: tests/contract/test_facts_reader.py) --

@pytest.fixture
def projection(tmp_path):
    """A facts projection whose registry is in memory: no server is asked anything."""
    facts = FactsProjection(InMemoryClients.provisioned(HubSettings(topic_prefix="unit", state_dir=tmp_path)),
                            path=tmp_path / "facts.sqlite")
    yield facts
    facts.close()


def test_an_undecodable_record_is_skipped_not_fatal(projection, caplog):
    topic = projection.topics()[0]
    conn = projection.connection()
    with caplog.at_level(logging.WARNING, logger="hub.projections.facts"):
        for value in (b"not avro at all", b"\x00\x00\x00\x00\x63 unregistered schema id", None):
            projection.apply(conn, SimpleNamespace(topic=topic, partition=0, offset=3, key=b"k",
                                                   value=value))
    assert len([r for r in caplog.records if "skipping" in r.getMessage()]) == 3
    assert projection.skipped == 3
    assert conn.execute("SELECT count(*) FROM facts").fetchone()[0] == 0
