"""A consent-based route on the real stack: the provident fund's housing-loan notice reaches it
only for the couple who agreed at the window; for the other, the routing decision and the
timeline say "not shared: no consent". After the couple withdraws the consent (撤回同意) the
provident fund is told and a correction no longer reaches it with that item."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from hub.domain.envelope import EventType
from hub.domain.routing import ItemChange, item_id
from hub.domain.rules import CONSENT_WITHDRAWN, NO_CONSENT
from producers.demo_data import generate
from tests.integration.flow_helpers import (
    Departments, expected_items, inbox_items, routing_decisions, wait_until, worker)

NOTICE = "marriage_housing_loan_notice"


def test_the_notice_goes_with_consent_only_and_its_absence_is_recorded(settings, tmp_path):
    rng = random.Random(1414)
    agreed, declined = generate(EventType.MARRIAGE_REGISTERED, rng), generate(EventType.MARRIAGE_REGISTERED, rng)
    agreed["consents"] = [NOTICE]
    with Departments(settings) as departments, worker(settings, tmp_path):
        with_consent = departments.publish(EventType.MARRIAGE_REGISTERED, agreed)
        without = departments.publish(EventType.MARRIAGE_REGISTERED, declined)
        expected = (expected_items(EventType.MARRIAGE_REGISTERED, with_consent, agreed["payload"], [NOTICE])
                    + expected_items(EventType.MARRIAGE_REGISTERED, without, declined["payload"]))
        wait_until(lambda: sum(len(v) for v in inbox_items(settings).values()) >= len(expected) or None,
                   90, "the items of both marriages")
        found = wait_until(lambda: routing_decisions(settings) if len(routing_decisions(settings)) >= 2
                           else None, 30, "two decisions")
        decisions = {d.event_id: d for d in found}

    sent = {(w.event_id, w.department.value, w.item) for items in inbox_items(settings).values()
            for _, w in items}
    assert sent == {(e.event_id, e.department.value, e.item) for e in expected}
    assert (with_consent.event_id, "PROVIDENT_FUND", NOTICE) in sent
    assert (without.event_id, "PROVIDENT_FUND", NOTICE) not in sent
    assert decisions[with_consent.event_id].withheld == []
    [held_back] = decisions[without.event_id].withheld
    assert (held_back.department.value, held_back.item, held_back.reason) == ("PROVIDENT_FUND", NOTICE, NO_CONSENT)


def test_after_a_withdrawal_the_recipient_is_told_and_a_correction_passes_it_by(settings, tmp_path):
    marriage = generate(EventType.MARRIAGE_REGISTERED, random.Random(1515))
    marriage["consents"] = [NOTICE]
    subject = marriage["payload"]["spouse_a"]["id_number"]
    today = datetime.now(timezone.utc).date().isoformat()
    with Departments(settings) as departments, worker(settings, tmp_path):
        original = departments.publish(EventType.MARRIAGE_REGISTERED, marriage)
        notice_id = item_id(original.event_id, "PROVIDENT_FUND", NOTICE)
        wait_until(lambda: _item(settings, notice_id), 90, "the consented notice")
        withdrawal = departments.publish(EventType.CONSENT_WITHDRAWN, {
            "occurred_at": datetime.now(timezone.utc).isoformat(), "case_id": original.case_id,
            "payload": {"withdraws_consent_of": original.event_id, "subject_id": subject,
                        "items": [NOTICE], "withdrawn_on": today}})
        told = wait_until(lambda: _item(settings, item_id(withdrawal.event_id, "PROVIDENT_FUND", NOTICE)),
                          60, "the withdrawal notice")
        correction = departments.publish(EventType.MARRIAGE_REGISTERED, {
            **generate(EventType.MARRIAGE_REGISTERED, random.Random(1616)),
            "payload": {**marriage["payload"], "registration_office": "杭州市西湖区婚姻登记处"},
            "consents": [NOTICE], "case_id": original.case_id,
            "refers_to": {"event_id": original.event_id, "change_kind": "CORRECTION"}})
        decision = wait_until(lambda: next((d for d in routing_decisions(settings)
                                            if d.event_id == correction.event_id), None), 60, "the correction's decision")

    assert (told.change, told.refers_to_item_id, told.data, told.case_id) == (
        ItemChange.ANNULMENT, notice_id, {}, original.case_id)
    corrected = {(w.department.value, w.item) for items in inbox_items(settings).values()
                 for _, w in items if w.event_id == correction.event_id}
    assert ("PUBLIC_SECURITY", "household_marital_status") in corrected  # the law's items still go
    assert ("PROVIDENT_FUND", NOTICE) not in corrected
    [held_back] = decision.withheld
    assert (held_back.department.value, held_back.item, held_back.reason) == ("PROVIDENT_FUND", NOTICE, CONSENT_WITHDRAWN)


def _item(settings, wanted: str):
    return next((w for items in inbox_items(settings).values() for _, w in items if w.item_id == wanted), None)
