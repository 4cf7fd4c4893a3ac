"""Consent-based routes (PIPL art. 13(1)(1), 14): an item whose basis is the citizen's consent is
sent only with that consent, and the decision says so when it is not."""

from __future__ import annotations

import random

import pytest

from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind, decision_for, route, withheld
from hub.domain.rules import NO_CONSENT, BasisKind, RuleError, build_rulebook
from hub.errors import InvalidEvent
from hub.rules import load_rules
from producers.demo_data import generate
from tests.builders import change_of
from tests.factories import sealed_record

RULES = load_rules()
NOTICE = ("PROVIDENT_FUND", "marriage_housing_loan_notice")


def _marriage(consents: list[str] | None = None, seed: int = 4) -> dict:
    body = generate(EventType.MARRIAGE_REGISTERED, random.Random(seed))
    if consents is not None:
        body["consents"] = consents
    return sealed_record(EventType.MARRIAGE_REGISTERED, body)


def _sent(event: dict, before=None) -> set[tuple[str, str]]:
    return {(w.department.value, w.item) for w in route(event, RULES, before)}


def test_the_seed_rules_hold_a_consent_route():
    [notice] = [r for r in RULES.items_for("marriage_registered") if r.basis_kind is BasisKind.CONSENT]
    assert (notice.department.value, notice.item) == NOTICE
    assert all("本人同意" in g.basis for g in notice.grants)


def test_without_consent_the_item_is_not_sent_and_the_decision_says_why():
    event = _marriage()
    items = route(event, RULES)
    assert NOTICE not in _sent(event)
    assert {("PUBLIC_SECURITY", "household_marital_status"),
            ("PROVIDENT_FUND", "provident_fund_marital_status")} <= _sent(event)  # the law's items go
    decision = decision_for(event, DecisionKind.ROUTED, items, withheld_items=withheld(event, RULES, items))
    [held_back] = decision.withheld
    assert (held_back.department.value, held_back.item, held_back.reason) == (*NOTICE, NO_CONSENT)


def test_with_consent_the_item_is_sent_and_nothing_is_withheld():
    event = _marriage(["marriage_housing_loan_notice"])
    assert event["envelope"]["consents"] == ["marriage_housing_loan_notice"]
    items = route(event, RULES)
    assert NOTICE in _sent(event) and withheld(event, RULES, items) == []


def test_consent_to_something_else_is_not_consent_to_this():
    event = _marriage(["newborn_something_else"])
    assert NOTICE not in _sent(event) and len(withheld(event, RULES, route(event, RULES))) == 1


def test_a_correction_reaches_a_department_that_received_the_original_under_consent():
    original = _marriage(["marriage_housing_loan_notice"])
    correction = change_of(original, "CORRECTION", registered_on=original["payload"]["registered_on"])
    assert NOTICE in _sent(correction, {NOTICE})  # it holds the data: it must learn of the change
    assert NOTICE not in _sent(correction, set())  # without consent now, and never sent: no


def test_a_consent_must_name_an_item_in_the_item_name_form():
    body = generate(EventType.MARRIAGE_REGISTERED, random.Random(4))
    body["consents"] = ["Housing Loan!"]
    with pytest.raises(InvalidEvent) as refused:
        sealed_record(EventType.MARRIAGE_REGISTERED, body)
    assert refused.value.errors[0].field == "consents.0"


def test_an_unknown_basis_kind_is_a_rule_error():
    raw = {"version": 1, "event_types": {"marriage_registered": [{
        "item": "some_notice", "department": "PROVIDENT_FUND", "name_zh": "告知", "name_en": "Notice",
        "deadline": "P1D", "basis_kind": "because", "grants": [
            {"field": "payload.registered_on", "basis": "本人同意"}]}]}}
    with pytest.raises(RuleError, match="basis_kind"):
        build_rulebook(raw)
