"""撤回同意 (PIPL art. 15): a withdrawn consent stops the items that rested on it, for good, and
every department that received them is told; nothing else changes."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timezone

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import ItemChange, RoutingDecision, WorkItem, item_id
from hub.domain.rules import CONSENT_WITHDRAWN
from hub.kafka.topic_names import TopicNames
from hub.worker.processor import SourceRecord
from producers.demo_data import generate
from tests.factories import (
    change_record,
    pickle_router,
    sealed_record,
    supplement_record,
    withdrawal_record,
)

NAMES = TopicNames("unit")
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
NOTICE = ("PROVIDENT_FUND", "marriage_housing_loan_notice")
CONSENT = ["marriage_housing_loan_notice"]


@pytest.fixture
def processor():
    return pickle_router(NAMES, lambda: NOW)


def _marriage(consents=CONSENT, seed: int = 4, **hints) -> dict:
    body = {**generate(EventType.MARRIAGE_REGISTERED, random.Random(seed)), "consents": consents, **hints}
    return sealed_record(EventType.MARRIAGE_REGISTERED, body)


def _run(processor, event: dict, offset: int = 0):
    env = event["envelope"]
    topic = NAMES.events(CATALOGUE[EventType(env["event_type"])], Department(env["source_department"]))
    out = processor.process(SourceRecord(topic, 0, offset, env["subject_ids"][0].encode(), pickle.dumps(event)))
    return [pickle.loads(o.value) for o in out]


def _items(out) -> list[WorkItem]:
    return [m for m in out if isinstance(m, WorkItem)]


def _decision(out) -> RoutingDecision:
    [decision] = [m for m in out if isinstance(m, RoutingDecision)]
    return decision


def test_the_recipient_is_told_and_the_notice_carries_no_data(processor):
    original = _marriage()
    assert NOTICE in {(w.department.value, w.item) for w in _items(_run(processor, original))}
    out = _run(processor, withdrawal_record(original, CONSENT, NOW), 1)
    [notice] = _items(out)
    assert (notice.department.value, notice.item, notice.change) == (*NOTICE, ItemChange.ANNULMENT)
    assert notice.refers_to_item_id == item_id(original["envelope"]["event_id"], *NOTICE)
    assert notice.data == {} and notice.grants == []  # it names the item it annuls, nothing more
    assert notice.case_id == original["envelope"]["case_id"]
    assert [p.item_id for p in _decision(out).items] == [notice.item_id]


def test_a_correction_after_the_withdrawal_no_longer_reaches_it(processor):
    original = _marriage()
    _run(processor, original)
    _run(processor, withdrawal_record(original, CONSENT, NOW), 1)
    correction = change_record(original, 5, registration_office="杭州市西湖区婚姻登记处")
    out = _run(processor, correction, 2)
    sent = {(w.department.value, w.item) for w in _items(out)}
    assert NOTICE not in sent  # even though the correction repeats the consent
    assert ("PUBLIC_SECURITY", "household_marital_status") in sent  # the law's items still go
    [withheld] = _decision(out).withheld
    assert (withheld.department.value, withheld.item, withheld.reason) == (*NOTICE, CONSENT_WITHDRAWN)


def test_a_withdrawal_while_the_event_waits_for_documents_keeps_the_item_from_going(processor):
    original = _marriage(pending_documents=["户口簿"])
    assert _items(_run(processor, original)) == []
    assert _items(_run(processor, withdrawal_record(original, CONSENT, NOW), 1)) == []  # nobody had it
    released = _run(processor, supplement_record(original, ["户口簿"], NOW), 2)
    assert NOTICE not in {(w.department.value, w.item) for w in _items(released)}
    assert [w.reason for w in _decision(released).withheld] == [CONSENT_WITHDRAWN]


def test_nothing_is_sent_where_nothing_was_shared(processor):
    original = _marriage(consents=[])
    _run(processor, original)
    out = _run(processor, withdrawal_record(original, CONSENT, NOW), 1)
    assert _items(out) == [] and _decision(out).items == []


def test_the_same_withdrawal_again_sends_the_same_notice(processor):
    original = _marriage()
    _run(processor, original)
    withdrawal = withdrawal_record(original, CONSENT, NOW)
    assert _items(_run(processor, withdrawal, 1)) == _items(_run(processor, withdrawal, 1))


@pytest.mark.parametrize("case, reason", [
    ("law item", "household_marital_status is not a consent-based item of marriage_registered"),
    ("other department", "was recorded by CIVIL_AFFAIRS, not by HEALTH"),
    ("unknown event", "was never recorded by the hub"),
])
def test_a_withdrawal_that_reaches_beyond_its_own_is_a_dead_letter(processor, case, reason):
    original = _marriage()
    _run(processor, original)
    if case == "law item":
        withdrawal = withdrawal_record(original, ["household_marital_status"], NOW)
    elif case == "other department":
        withdrawal = withdrawal_record(original, CONSENT, NOW, department=Department.HEALTH)
        withdrawal["envelope"]["case_id"] = "9b9a4c36-0b0e-4d59-8c8d-3f7e6d1f0a11"  # its own case
    else:
        withdrawal = withdrawal_record(_marriage(seed=9), CONSENT, NOW)
    [letter] = _run(processor, withdrawal, 1)
    assert isinstance(letter, DeadLetter) and reason in letter.reason
    assert processor.recorded(original["envelope"]["event_id"]) is not None
