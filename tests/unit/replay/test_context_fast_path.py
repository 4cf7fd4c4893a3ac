"""The replay's context fast path: records before the window go through
``RouterProcessor.remember``, which must leave the router's tables exactly as ``process`` does,
so the window's items are the same as when the context was routed in full.

The log mixes what depends on the tables: corrections, an annulment, events held for documents
and released by supplements (one still waiting), consent withdrawals (of a routed event and of a
held one), a re-delivery, an id reused with other content, a reference and a case join by
another department, a stray supplement and undecodable bytes.
"""

from __future__ import annotations

import copy
import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.replay import ReplayFilters, ReplayRequest, ReplaySummary, ReplayWindow
from hub.kafka.topic_names import TopicNames
from hub.replay.window_router import WindowRouter
from hub.rules import load_rules
from hub.worker.processor import SourceRecord
from producers.demo_data import generate
from tests.factories import (
    change_record, pickle_router, sealed_record, submission, supplement_record, withdrawal_record)

NAMES = TopicNames("unit")
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
CONSENT = ["marriage_housing_loan_notice"]


def _marriage(seed: int, **hints) -> dict:
    body = {**generate(EventType.MARRIAGE_REGISTERED, random.Random(seed)), "consents": CONSENT, **hints}
    return sealed_record(EventType.MARRIAGE_REGISTERED, body)


def _mixed_log() -> list[dict | bytes]:
    """Events (decoded records) and raw bytes, in log order."""
    marriage, held_marriage = _marriage(4), _marriage(5, pending_documents=["户口簿"])
    enterprise = sealed_record(EventType.ENTERPRISE_REGISTERED, seed=4)
    enterprise["payload"]["foreign_invested"] = True  # COMMERCE receives the original
    domestic = sealed_record(EventType.ENTERPRISE_REGISTERED, seed=5)
    domestic["payload"]["foreign_invested"] = False  # COMMERCE does not
    birth = sealed_record(EventType.BIRTH_CERTIFIED, seed=2)
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=3,
                         pending_documents=["住所证明", "章程"])
    waiting = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=6, pending_documents=["章程"])
    reused = copy.deepcopy(birth)
    reused["payload"] = sealed_record(EventType.BIRTH_CERTIFIED, seed=7)["payload"]
    joiner = submission(EventType.BIRTH_CERTIFIED, 8)
    joiner["case_id"] = marriage["envelope"]["case_id"]  # a case another department opened
    at = held["envelope"]["recorded_at"]
    return [
        marriage, enterprise, birth, held, held_marriage, waiting, domestic,
        change_record(enterprise, 4, foreign_invested=False, investor_countries=[]),
        supplement_record(held, ["章程"], at),
        withdrawal_record(marriage, CONSENT, NOW),
        withdrawal_record(held_marriage, CONSENT, NOW),
        birth,  # re-delivered: the same content, harmless
        reused,  # the same id with other content: refused
        sealed_record(EventType.BIRTH_CERTIFIED, joiner),
        change_record(birth, 5, kind="ANNULMENT", department=Department.PUBLIC_SECURITY),  # not its owner
        sealed_record(EventType.DOCUMENTS_SUPPLEMENTED, seed=3),  # for nothing held
        b"garbage",
        supplement_record(held, ["住所证明"], at),  # releases it
        supplement_record(held_marriage, ["户口簿"], at),  # releases it without the withdrawn item
        change_record(marriage, 6),
        change_record(enterprise, 7, kind="ANNULMENT"),
        change_record(birth, 9, kind="ANNULMENT"),
        change_record(domestic, 8, kind="ANNULMENT"),  # reaches what the original reached
    ]


def _record(event: dict | bytes, offset: int) -> SourceRecord:
    if isinstance(event, bytes):
        return SourceRecord(NAMES.events(CATALOGUE[EventType.BIRTH_CERTIFIED]), 1, offset, b"k", event)
    env = event["envelope"]
    spec, department = CATALOGUE[EventType(env["event_type"])], Department(env["source_department"])
    # One from a department that does not publish its type: on the owner's topic (refused).
    topic = NAMES.events(spec, department) if department in spec.publishers else NAMES.events(spec)
    return SourceRecord(topic, 0, offset, env["subject_ids"][0].encode(), pickle.dumps(event))


def _tables(processor) -> tuple[dict, dict, dict]:
    return (dict(processor._routed.base), dict(processor._held.base), dict(processor._cases.base))


LOG = _mixed_log()
RECORDS = [_record(e, n) for n, e in enumerate(LOG)]


@pytest.mark.parametrize("remembered", ["all", "even", "odd", "first_half"])
def test_remember_leaves_the_tables_exactly_as_process_does(remembered):
    full, fast = pickle_router(NAMES, lambda: NOW), pickle_router(NAMES, lambda: NOW)
    pick = {"all": lambda n: True, "even": lambda n: n % 2 == 0, "odd": lambda n: n % 2 == 1,
            "first_half": lambda n: n < len(RECORDS) // 2}[remembered]
    refused = 0
    for n, record in enumerate(RECORDS):
        outputs = full.process(record)
        letters = [o for o in outputs if o.topic == NAMES.dead_letters]
        refused += bool(letters)
        if pick(n):
            got = fast.remember(record)
            # Only the record's dead letters come back, the same ones (ids from the clock and
            # the record's place).
            assert [(o.topic, o.key) for o in got] == [(o.topic, o.key) for o in letters], n
        else:
            assert fast.process(record) == outputs, n
        assert _tables(fast) == _tables(full), n
    routed, held, cases = _tables(full)
    # The log does what it says: releases, withdrawals kept with their events, one event still
    # waiting, five records refused (reused id, case join, foreign annulment, stray, garbage),
    # an item chosen by its condition for one event and not for another.
    assert list(held) == [LOG[5]["envelope"]["event_id"]]
    assert sum(1 for e in routed.values() if isinstance(e, dict) and "withdrawn" in e) >= 2
    assert cases and refused == 5
    commerce = [["COMMERCE", i] for d, i in routed[LOG[1]["envelope"]["event_id"]]["items"] if d == "COMMERCE"]
    assert commerce and not [p for p in routed[LOG[6]["envelope"]["event_id"]]["items"] if p in commerce]


def test_remember_builds_no_outputs_and_process_is_unchanged_after_it():
    processor = pickle_router(NAMES, lambda: NOW)
    assert processor.remember(RECORDS[0]) == []
    # The processor is back to building outputs (a correction of the remembered event).
    outputs = processor.process(_record(change_record(LOG[0], 6), 99))
    assert any(".inbox." in o.topic for o in outputs) and any(o.topic == NAMES.routing_log for o in outputs)


START = datetime(2026, 11, 2, tzinfo=timezone.utc)
WINDOW = ReplayWindow(START, START + timedelta(days=1))


def _replay(cut: int, full_context: bool, filters: ReplayFilters = ReplayFilters()):
    """Window router over the log, the records before ``cut`` as context; ``full_context``: as
    before the fast path (context routed by ``process``)."""
    summary = ReplaySummary("r", ReplayRequest(WINDOW))
    router = WindowRouter(rules=load_rules(), names=NAMES, specs_by_topic=NAMES.event_specs(),
                          decode=lambda spec, data, topic: pickle.loads(data), window=WINDOW,
                          filters=filters, summary=summary, clock=lambda: NOW)
    if full_context:
        router._processor.remember = router._processor.process
    inside, after = WINDOW.start_ms + 1, WINDOW.end_ms
    out = []
    for n, record in enumerate(RECORDS):
        in_range = n >= cut
        # The last record lies in the offset range but is stamped after the window: not sent.
        stamp = inside if in_range and n < len(RECORDS) - 1 else (after if in_range else inside - 10)
        out.append([(r.item, r.topic, r.key) for r in router.feed(record, stamp, in_range)])
    return out, summary.as_dict(), _tables(router._processor)


@pytest.mark.parametrize("cut", [0, 3, 8, 13, 17, len(RECORDS) - 3])
@pytest.mark.parametrize("filters", [ReplayFilters(),
                                     ReplayFilters(event_type=EventType.SOCIAL_ORGANISATION_REGISTERED),
                                     ReplayFilters(department=Department.COMMERCE)])
def test_the_window_yields_the_same_items_as_with_the_context_routed_in_full(cut, filters):
    fast, full = _replay(cut, False, filters), _replay(cut, True, filters)
    assert fast == full
    items = [i for per_record in fast[0] for i in per_record]
    if cut == 13 and filters == ReplayFilters():
        # Releases and changes whose originals are in the context reach the window.
        assert {i.change.value for i, _t, _k in items} >= {"NEW", "CORRECTION", "ANNULMENT"}
