"""The data runs, not the people: registrations routed to the departments' inboxes and completed
in the reference agencies' own databases, on the real broker and registry, with the router
running as its own process (`hub worker`).

Expectations come from the rules file and the test's own submissions (item ids are derived from
the event id, department and item), never from what the router wrote.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kafka import KafkaProducer

from hub.kafka.clients import Clients
from hub.config import HubSettings
from hub.demo.back_office import wait_for_cases
from hub.domain.case import CaseState, CaseStatus, ItemStatus
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import ItemChange, item_id
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.worker.stall_guard import StallGuard
from producers.demo_data import generate
from producers.publisher import Receipt
from tests.integration.helpers import read_record
from tests.integration.flow_helpers import (
    SEED_TYPES,
    Departments,
    Expected,
    back_office,
    dead_letters,
    enterprise,
    expected_items,
    fresh_settings,
    identifiers_of,
    inbox_items,
    open_agencies,
    routing_decisions,
    rule_for,
    wait_until,
)

CASE_TIMEOUT_S = 120.0
CAUSE_OF_DEATH = "INJURY"  # distinctive, so its absence from every inbox record means something


@dataclass
class Published:
    label: str
    event_type: EventType
    submission: dict
    receipt: Receipt
    expected: list[Expected] = field(default_factory=list)


@dataclass
class SeedRun:
    settings: HubSettings
    base_dir: Path
    published: dict[str, Published]
    cases: dict[str, CaseState]

    @property
    def expected(self) -> list[Expected]:
        return [e for p in self.published.values() for e in p.expected]


def _seed_submissions(rng: random.Random) -> dict[str, tuple[EventType, dict]]:
    """The six seed triggers; the enterprise twice (foreign-invested and domestic, seed 004)."""
    out: dict[str, tuple[EventType, dict]] = {}
    for event_type in SEED_TYPES:
        if event_type is EventType.ENTERPRISE_REGISTERED:
            out["enterprise_foreign"] = (event_type, enterprise(rng, foreign=True))
            out["enterprise_domestic"] = (event_type, enterprise(rng, foreign=False))
            continue
        submission = generate(event_type, rng)
        if event_type is EventType.DEATH_CERTIFIED:
            submission["payload"]["cause_category"] = CAUSE_OF_DEATH
        if event_type is EventType.SOCIAL_ORGANISATION_REGISTERED:
            submission["payload"]["organisation_name"] = "杭州市萧山区瑜伽协会"  # seed 003
        out[event_type.value] = (event_type, submission)
    return out


@pytest.fixture(scope="module")
def seed_run(endpoints, tmp_path_factory) -> SeedRun:
    """Every seed scenario published on a fresh prefix and carried until every case is done."""
    settings = fresh_settings(endpoints)
    base_dir = tmp_path_factory.mktemp("seed-run")
    published: dict[str, Published] = {}
    projection = CaseProjection(Clients(settings))
    try:
        with back_office(settings, base_dir), Departments(settings) as departments:
            for label, (event_type, submission) in _seed_submissions(random.Random(2017)).items():
                receipt = departments.publish(event_type, submission)
                published[label] = Published(label, event_type, submission, receipt,
                                             expected_items(event_type, receipt, submission["payload"]))
            cases = wait_for_cases(projection, [p.receipt.case_id for p in published.values()],
                                   CASE_TIMEOUT_S)
    finally:
        projection.close()
    return SeedRun(settings, base_dir, published, {c.case_id: c for c in cases})


# -- 1. every seed scenario completes, one agency row per item -----------------------------------
def test_every_seed_scenario_completes_with_one_agency_row_per_item(seed_run):
    assert len(seed_run.published) == 7
    for p in seed_run.published.values():
        case = seed_run.cases[p.receipt.case_id]
        assert case.status is CaseStatus.COMPLETED
        assert case.event_type == p.event_type.value
        assert {(i.department, i.item) for i in case.items.values()} == \
            {(e.department.value, e.item) for e in p.expected}, p.label
        assert set(case.items) == {e.item_id for e in p.expected}, p.label
        for state in case.items.values():
            assert state.status is ItemStatus.COMPLETED, (p.label, state)
            assert state.reference and state.change == "NEW"

    expected_by_dept: dict[Department, list[Expected]] = {}
    for e in seed_run.expected:
        expected_by_dept.setdefault(e.department, []).append(e)
    # All six agencies take part in the seed scenarios.
    assert set(expected_by_dept) == {
        Department.TAX, Department.HUMAN_RESOURCES_SOCIAL_SECURITY, Department.MEDICAL_INSURANCE,
        Department.PROVIDENT_FUND, Department.PUBLIC_SECURITY, Department.COMMERCE}

    with open_agencies(seed_run.base_dir) as agencies:
        for department, agency in agencies.items():
            expected = expected_by_dept.get(department, [])
            rows = agency.rows()
            assert agency.count() == len(expected) == len(rows), department
            assert Counter(r.item_id for r in rows) == Counter(e.item_id for e in expected), department
            for e in expected:
                row = agency.get(e.item_id)
                case_item = seed_run.cases[e.case_id].items[e.item_id]
                assert row is not None
                assert (row.status, row.case_id, row.event_id, row.item) == \
                    ("ACTIVE", e.case_id, e.event_id, e.item)
                assert row.reference == case_item.reference  # the agency's own number, reported back
                submission = next(p.submission for p in seed_run.published.values()
                                  if p.receipt.event_id == e.event_id)
                assert row.subject in identifiers_of(submission["payload"])
                assert [r.item_id for r in agency.find_by_case(e.case_id)] == [e.item_id]


def test_routing_log_records_one_decision_per_event_with_the_rules_items(seed_run):
    decisions = routing_decisions(seed_run.settings)
    by_event = {d.event_id: d for d in decisions}
    assert set(by_event) == {p.receipt.event_id for p in seed_run.published.values()}
    for p in seed_run.published.values():
        decision = by_event[p.receipt.event_id]
        assert decision.case_id == p.receipt.case_id
        assert decision.kind.value == "ROUTED" and decision.change is ItemChange.NEW
        assert {(i.department, i.item, i.item_id) for i in decision.items} == \
            {(e.department, e.item, e.item_id) for e in p.expected}


# -- 2. minimum data: nothing outside the grants reaches any inbox ------------------------------
def _under_grant(key: str, granted: list[str]) -> bool:
    return any(key == g or key.startswith(g + ".") for g in granted)


def test_every_inbox_message_carries_only_its_granted_fields(seed_run):
    inboxes = inbox_items(seed_run.settings)
    names = TopicNames(seed_run.settings.topic_prefix)
    seen = [item.item_id for records in inboxes.values() for _, item in records]
    assert set(seen) == {e.item_id for e in seed_run.expected}  # nothing misrouted, nothing missing
    submissions = {p.receipt.event_id: p.submission for p in seed_run.published.values()}
    checked: dict[str, bytes] = {}  # item id -> its bytes
    for department, records in inboxes.items():
        for record, item in records:
            assert record.topic == names.inbox(department)
            assert item.department is department
            rule = rule_for(item.event_type, item.item)
            assert rule.department is department
            assert [(g.field, g.basis) for g in item.grants] == [(g.field, g.basis) for g in rule.grants]
            granted = [g.field for g in rule.grants]
            assert item.data, item.item_id
            outside = [k for k in item.data if not _under_grant(k, granted)]
            assert not outside, f"{department.value} {item.item} got ungranted fields {outside}"
            for g in granted:  # and each grant is delivered (a record grant: all its leaves)
                assert any(_under_grant(k, [g]) for k in item.data), (item.item, g)
            payload = submissions[item.event_id]["payload"]
            for key, value in item.data.items():  # the values are the event's own
                leaf = payload
                for part in key.split(".")[1:]:
                    leaf = leaf[part]
                if isinstance(leaf, str) and ":" not in leaf:  # instants are re-rendered in UTC
                    assert value == leaf, (key, value, leaf)
            # The cause of death is granted to no one.
            assert b"cause_category" not in record.value
            assert CAUSE_OF_DEATH.encode() not in record.value
            assert CAUSE_OF_DEATH not in item.data.values()
            # At-least-once: a re-routed event may put an item in an inbox twice, but routing is
            # deterministic, so every copy must be the same bytes.
            assert checked.setdefault(item.item_id, record.value) == record.value
    assert len(checked) == len(seed_run.expected) >= 18
    death = seed_run.published[EventType.DEATH_CERTIFIED.value]
    assert death.submission["payload"]["cause_category"] == CAUSE_OF_DEATH
    assert len(death.expected) == 4  # four departments got the death, none its cause


# -- 3. conditional route: the commerce filing only for a foreign-invested enterprise -----------
def test_commerce_filing_only_for_the_foreign_invested_enterprise(seed_run):
    foreign = seed_run.published["enterprise_foreign"]
    domestic = seed_run.published["enterprise_domestic"]
    common = {"tax_registration", "social_insurance_unit_registration", "provident_fund_unit_account"}
    foreign_items = {i.item for i in seed_run.cases[foreign.receipt.case_id].items.values()}
    domestic_items = {i.item for i in seed_run.cases[domestic.receipt.case_id].items.values()}
    assert foreign_items == common | {"foreign_investment_filing"}
    assert domestic_items == common

    commerce_inbox = inbox_items(seed_run.settings)[Department.COMMERCE]
    assert {item.event_id for _, item in commerce_inbox} == {foreign.receipt.event_id}
    with open_agencies(seed_run.base_dir) as agencies:
        commerce, tax = agencies[Department.COMMERCE], agencies[Department.TAX]
        assert [r.subject for r in commerce.rows()] == [foreign.submission["payload"]["uscc"]]
        assert commerce.find_by_case(domestic.receipt.case_id) == []
        assert commerce.get(item_id(domestic.receipt.event_id, Department.COMMERCE,
                                    "foreign_investment_filing")) is None
        assert [r.subject for r in tax.find_by_case(domestic.receipt.case_id)] == \
            [domestic.submission["payload"]["uscc"]]


# -- 4. corrections and annulments reach every department that received the original ------------
def _change(original: Receipt, submission: dict, kind: str) -> dict:
    return {**submission, "event_id": None,
            "refers_to": {"event_id": original.event_id, "change_kind": kind}}


def test_correction_and_annulment_reach_every_department_that_got_the_original(settings, clients, tmp_path):
    rng = random.Random(41)
    foreign_sub, domestic_sub = enterprise(rng, foreign=True), enterprise(rng, foreign=False)
    projection = CaseProjection(clients)
    try:
        with back_office(settings, tmp_path) as fleet, Departments(settings) as departments:
            agencies = fleet.agencies
            foreign = departments.publish(EventType.ENTERPRISE_REGISTERED, foreign_sub)
            domestic = departments.publish(EventType.ENTERPRISE_REGISTERED, domestic_sub)
            kind = EventType.ENTERPRISE_REGISTERED
            originals = {"foreign": expected_items(kind, foreign, foreign_sub["payload"]),
                         "domestic": expected_items(kind, domestic, domestic_sub["payload"])}
            assert len(originals["foreign"]) == 4 and len(originals["domestic"]) == 3
            wait_for_cases(projection, [foreign.case_id, domestic.case_id], CASE_TIMEOUT_S)
            before = {e.item_id: agencies[e.department].get(e.item_id)
                      for e in originals["foreign"] + originals["domestic"]}
            assert all(r is not None and r.status == "ACTIVE" for r in before.values())

            # Correct the registered address of both enterprises.
            new_address = "浙江省杭州市萧山区北干街道建设一路88号（更正）"
            corrected = {"foreign": foreign_sub, "domestic": domestic_sub}
            corrections = {}
            for label, original in (("foreign", foreign), ("domestic", domestic)):
                submission = _change(original, corrected[label], "CORRECTION")
                submission["payload"] = {**submission["payload"], "registered_address": new_address}
                corrections[label] = departments.publish(EventType.ENTERPRISE_REGISTERED, submission)
            # A correction keeps its original's key, hence its partition (and the router's memory).
            assert corrections["foreign"].partition == foreign.partition
            wait_for_cases(projection, [c.case_id for c in corrections.values()], CASE_TIMEOUT_S)

            items = inbox_items(settings)
            for label, original in (("foreign", foreign), ("domestic", domestic)):
                correction = corrections[label]
                got = {(d, w.item): w for d, records in items.items() for _, w in records
                       if w.event_id == correction.event_id}
                # Exactly the departments that received the original, and no other.
                assert set(got) == {(e.department, e.item) for e in originals[label]}, label
                for e in originals[label]:
                    work = got[(e.department, e.item)]
                    assert work.change is ItemChange.CORRECTION
                    assert work.refers_to_item_id == e.item_id
                    assert work.item_id == item_id(correction.event_id, e.department, e.item)
                    granted = [g.field for g in rule_for(e.event_type, e.item).grants]
                    row = agencies[e.department].get(e.item_id)
                    assert row.status == "CORRECTED"
                    assert row.reference == before[e.item_id].reference  # same registration
                    assert agencies[e.department].get(work.item_id).reference == row.reference
                    if "payload.registered_address" in granted:
                        assert row.data["payload.registered_address"] == new_address
                        assert before[e.item_id].data["payload.registered_address"] != new_address
                    else:  # commerce is not granted the address: it never sees it
                        assert "payload.registered_address" not in row.data
                    assert row.data == work.data
                    history = agencies[e.department].history(row.reference)
                    assert [h["outcome"] for h in history] == ["REGISTERED", "CORRECTED"]
            case = projection.case(corrections["foreign"].case_id)
            assert {(i.department, i.change, i.status) for i in case.items.values()} == {
                (e.department.value, "CORRECTION", ItemStatus.COMPLETED) for e in originals["foreign"]}

            # Annul the foreign-invested registration.
            annulment = departments.publish(EventType.ENTERPRISE_REGISTERED,
                                            _change(foreign, corrected["foreign"], "ANNULMENT"))
            wait_for_cases(projection, [annulment.case_id], CASE_TIMEOUT_S)
            items = inbox_items(settings)
            got = {(d, w.item): w for d, records in items.items() for _, w in records
                   if w.event_id == annulment.event_id}
            assert set(got) == {(e.department, e.item) for e in originals["foreign"]}
            for e in originals["foreign"]:
                work = got[(e.department, e.item)]
                assert work.change is ItemChange.ANNULMENT and work.refers_to_item_id == e.item_id
                row = agencies[e.department].get(e.item_id)
                assert row.status == "ANNULLED" and row.reference == before[e.item_id].reference
            for e in originals["domestic"]:
                assert agencies[e.department].get(e.item_id).status == "CORRECTED"
            # Changes never add rows: one registration per original item, in every agency.
            for department, agency in agencies.items():
                want = sorted(e.item_id for e in originals["foreign"] + originals["domestic"]
                              if e.department is department)
                assert sorted(r.item_id for r in agency.rows()) == want, department
    finally:
        projection.close()


# -- 容缺受理 when the topics race: the supplement is read before the event it completes -----------
def test_a_supplement_read_before_its_event_releases_the_event_when_it_comes(settings, clients, tmp_path):
    rng = random.Random(23)
    association = generate(EventType.SOCIAL_ORGANISATION_REGISTERED, rng)
    association.update(event_id=str(uuid.uuid4()), pending_documents=["章程"])
    projection = CaseProjection(clients)
    try:
        with back_office(settings, tmp_path) as fleet, Departments(settings) as departments:
            supplement = departments.publish(EventType.DOCUMENTS_SUPPLEMENTED, {
                "occurred_at": datetime.now(timezone.utc).isoformat(),
                "payload": {"supplements_event_id": association["event_id"],
                            "subject_id": association["payload"]["uscc"], "documents": ["章程"]}})
            supplement_topic = CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED].topic(settings.topic_prefix)
            router_group = StallGuard(clients, f"{settings.topic_prefix}-router")
            try:
                wait_until(lambda: router_group.committed(supplement_topic, supplement.partition)
                           > supplement.offset, 60, "the router to read the supplement first")
            finally:
                router_group.close()
            event = departments.publish(EventType.SOCIAL_ORGANISATION_REGISTERED, association)
            assert event.event_id == association["event_id"] and event.partition == supplement.partition
            (case,) = wait_for_cases(projection, [event.case_id], CASE_TIMEOUT_S)
            expected = expected_items(EventType.SOCIAL_ORGANISATION_REGISTERED, event, association["payload"])
            assert expected and all(fleet.agencies[e.department].get(e.item_id) is not None for e in expected)
        assert case.status is CaseStatus.COMPLETED
        kinds = [d.kind.value for d in routing_decisions(settings) if d.event_id == event.event_id]
        assert kinds == ["HELD", "RELEASED"]  # as if read in order
        assert dead_letters(settings) == []  # the early supplement was kept, not parked
    finally:
        projection.close()


# -- 5. a poison record is parked with its coordinates; the partition keeps flowing --------------
def test_poison_records_go_to_the_dead_letter_topic_and_later_events_still_flow(settings, clients, tmp_path):
    rng = random.Random(5)
    submission = enterprise(rng, foreign=False)
    key = submission["payload"]["uscc"].encode()
    topic = CATALOGUE[EventType.ENTERPRISE_REGISTERED].topic(settings.topic_prefix)
    garbage = b"\xde\xad\xbe\xef not avro at all"
    unknown_schema = struct.pack(">bI", 0, 987_654_321) + b"\x02\x04\x06"
    producer = KafkaProducer(**Clients(settings).connection(), acks="all")
    try:
        poison = [producer.send(topic, key=key, value=v).get(timeout=30) for v in (garbage, unknown_schema)]
    finally:
        producer.close(timeout=5)
    assert poison[0].partition == poison[1].partition

    projection = CaseProjection(clients)
    try:
        with Departments(settings) as departments:
            # Valid events after the poison, on the same partition (same key): an enterprise and
            # its correction.
            first = departments.publish(EventType.ENTERPRISE_REGISTERED, submission)
            fixed = _change(first, submission, "CORRECTION")
            fixed["payload"] = {**submission["payload"], "business_scope": "技术开发；技术服务"}
            second = departments.publish(EventType.ENTERPRISE_REGISTERED, fixed)
        assert {first.partition, second.partition} == {poison[0].partition}
        assert poison[1].offset < first.offset < second.offset

        with back_office(settings, tmp_path) as fleet:
            wait_for_cases(projection, [first.case_id, second.case_id], CASE_TIMEOUT_S)
            def two_letters():
                found = dead_letters(settings)
                return found if len(found) >= 2 else None

            letters = wait_until(two_letters, 60, "two dead letters")
            expected = expected_items(EventType.ENTERPRISE_REGISTERED, first, submission["payload"])
            for e in expected:
                row = fleet.agencies[e.department].get(e.item_id)
                assert row is not None and row.status == "CORRECTED"

        assert len(letters) == 2  # the poison only: nothing valid was parked
        by_offset = {letter.source_offset: letter for letter in letters}
        assert set(by_offset) == {p.offset for p in poison}
        for meta, value in zip(poison, (garbage, unknown_schema), strict=True):
            letter = by_offset[meta.offset]
            assert (letter.source_topic, letter.source_partition, letter.source_offset) == \
                (topic, meta.partition, meta.offset)
            assert letter.stage == "router"
            assert letter.reason and letter.error_type
            # coordinates only; the record, as it came, is still where they point
            assert (letter.key, letter.value) == (None, None)
            at = read_record(settings, topic, meta.partition, meta.offset)
            assert (at.key, at.value) == (key, value)
        assert "987654321" in by_offset[poison[1].offset].reason  # names the unknown schema id

        decisions = {d.event_id for d in routing_decisions(settings)}
        assert decisions == {first.event_id, second.event_id}
        routed = {w.event_id for records in inbox_items(settings).values() for _, w in records}
        assert routed == {first.event_id, second.event_id}
    finally:
        projection.close()
