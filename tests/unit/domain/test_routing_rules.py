"""Routing rules are validated on load; the worker refuses to start with a bad rule."""

from __future__ import annotations

import copy
import random

import pytest
import yaml

from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import REGISTRATIONS, EventType
from hub.domain.routing import route
from hub.domain.rules import RuleError, build_rulebook
from hub.rules import RULES_FILE, load_rules
from tests.factories import sealed_record
from producers.demo_data import generate

RAW = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
TRIGGERS = list(REGISTRATIONS)


def test_all_six_seed_triggers_are_covered_and_every_grant_has_a_basis():
    book = load_rules()
    assert {t for t in TRIGGERS} == set(book.event_types)
    assert all(g.basis for items in book.event_types.values() for i in items for g in i.grants)


def _broken(change):
    data = copy.deepcopy(RAW)
    change(data["event_types"])
    return data


@pytest.mark.parametrize("change,expected", [
    (lambda t: t["enterprise_registered"][0]["grants"].append({"field": "payload.salary", "basis": "《某法》"}),
     "enterprise_registered/tax_registration: field payload.salary: no such field"),
    (lambda t: t["marriage_registered"][0].update(department="ARMY"),
     "event_types/marriage_registered/0/department"),
    (lambda t: t["birth_certified"][1].update(deadline="soon"),
     "event_types/birth_certified/1/deadline"),
    (lambda t: t["birth_certified"][1].update(deadline="-P1D"),
     "event_types/birth_certified/1/deadline"),
    (lambda t: t["enterprise_registered"][3]["condition"].update(field="payload.foreign"),
     "enterprise_registered/foreign_investment_filing: field payload.foreign: no such field"),
    (lambda t: t.update(parking_permit=[]), "event_types/parking_permit"),
], ids=["unknown-field", "unknown-department", "malformed-deadline", "negative-deadline",
        "unknown-condition-field", "unknown-event-type"])
def test_bad_rules_are_refused_naming_the_rule_and_why(change, expected):
    with pytest.raises(RuleError) as info:
        build_rulebook(_broken(change))
    assert any(expected in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize("event_type", TRIGGERS, ids=lambda t: t.value)
def test_items_carry_only_granted_fields(event_type):
    book = load_rules()
    for seed in range(20):
        event = sealed_record(event_type, seed=seed)
        for item in route(event, book):
            granted = [g.field for g in item.grants]
            assert item.data and all(any(k == g or k.startswith(g + ".") for g in granted) for k in item.data)
            assert not any("cause_category" in k for k in item.data)


def test_commerce_filing_only_for_foreign_invested_enterprises():
    spec, book = CATALOGUE[EventType.ENTERPRISE_REGISTERED], load_rules()
    for foreign in (True, False):
        raw = generate(spec.event_type, random.Random(5))
        raw["payload"]["foreign_invested"], raw["payload"]["investor_countries"] = foreign, ["US"] if foreign else []
        departments = {i.department.value for i in route(sealed_record(spec, raw), book)}
        assert ("COMMERCE" in departments) is foreign
        assert {"TAX", "HUMAN_RESOURCES_SOCIAL_SECURITY", "PROVIDENT_FUND"} <= departments
