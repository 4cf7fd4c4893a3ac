"""A consent-based route on the real stack: the provident fund's housing-loan notice reaches it
only for the couple who agreed at the window; for the other, the routing decision and the
timeline say "not shared: no consent"."""

from __future__ import annotations

import random

from hub.domain.envelope import EventType
from hub.domain.rules import NO_CONSENT
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
