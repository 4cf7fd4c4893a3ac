"""Reference agency systems: registration, corrections, annulments, refusals, concurrency, webhook.

That a redelivered item (also to a restarted agency, also through the webhook adapter) gets the
first answer and changes nothing is the agency-handler contract,
``tests/contract/test_agency_handler.py``.

Work items are built the way the hub builds them: a generated submission is sealed by its owner,
turned into its wire record and routed with the real rules file. Each agency writes to its own
SQLite file under ``tmp_path``.
"""

from __future__ import annotations

import copy
import random
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from adapters.webhook import sign
from consumers.reference_agencies import REFERENCE_PREFIXES, ReferenceAgency, reference_agencies
from consumers.reference_agencies.http import agency_webhook_app
from tests import factories
from hub.domain.catalogue import CATALOGUE
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import REGISTRATIONS, EventType
from hub.domain.identifiers import mask_id
from hub.domain.outcomes import Completed, Rejected
from hub.domain.routing import ItemChange, WorkItem, route, withdrawal_notices
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TODAY = NOW.astimezone(CHINA_TZ).date()
AGENCY_NOW = datetime(2026, 5, 1, 4, 0, tzinfo=timezone.utc)
RULES = load_rules()
T = EventType
TAX, HRSS, MI = Department.TAX, Department.HUMAN_RESOURCES_SOCIAL_SECURITY, Department.MEDICAL_INSURANCE
HPF, PSB, MOFCOM = Department.PROVIDENT_FUND, Department.PUBLIC_SECURITY, Department.COMMERCE


def submission(event_type: EventType, seed: int = 11) -> dict:
    raw = generate(event_type, random.Random(seed), TODAY)
    if event_type is T.ENTERPRISE_REGISTERED:  # foreign-invested, so commerce gets an item too
        raw["payload"].update(foreign_invested=True, investor_countries=["SG"])
    return raw


def sealed(event_type: EventType, raw: dict):
    spec = CATALOGUE[event_type]
    return factories.sealed(spec, raw, clock=lambda: NOW)


def items_of(event, routed_before=None) -> list[WorkItem]:
    return route(event_to_record(event), RULES, routed_before)


def change_of(event_type: EventType, original, raw: dict, kind: str) -> list[WorkItem]:
    """Items of an event that corrects or annuls ``original``, routed like the router would."""
    raw = {**raw, "refers_to": {"event_id": original.envelope.event_id, "change_kind": kind},
           "case_id": original.envelope.case_id}
    before = {(i.department.value, i.item) for i in items_of(original)}
    return items_of(sealed(event_type, raw), routed_before=before)


def corrected(event_type: EventType, raw: dict) -> dict:
    """``raw`` with one granted field changed, as a department would correct it."""
    raw = copy.deepcopy(raw)
    p = raw["payload"]
    if event_type is T.SOCIAL_ORGANISATION_REGISTERED:
        p["organisation_name"] = "杭州市萧山区更正协会"
    elif event_type is T.ENTERPRISE_REGISTERED:  # the name is granted to all four agencies
        p["enterprise_name"] = "杭州更正科技有限公司"
    elif event_type is T.MARRIAGE_REGISTERED:
        p["registered_on"] = (datetime.fromisoformat(p["registered_on"]) - timedelta(days=1)).date().isoformat()
    elif event_type is T.BIRTH_CERTIFIED:
        p["child_name"] = "李思远"
    elif event_type is T.DEATH_CERTIFIED:
        p["died_at"] = (datetime.fromisoformat(p["died_at"]) - timedelta(hours=1)).isoformat()
    else:
        p["approval_number"] = "TX-CORRECTED-00001"
    return raw


@pytest.fixture
def agencies(tmp_path):
    opened = reference_agencies(tmp_path, clock=lambda: AGENCY_NOW)
    yield opened
    for agency in opened.values():
        agency.close()


def deliver(agencies, items):
    return [agencies[i.department](i) for i in items]


def reference_pattern(department: Department) -> re.Pattern:
    return re.compile(rf"{re.escape(REFERENCE_PREFIXES[department])}-2026-\d{{6}}")


ALL_TYPES = list(REGISTRATIONS)  # the six triggers


def test_six_agencies_each_with_its_own_database(agencies, tmp_path):
    assert set(agencies) == {TAX, HRSS, MI, HPF, PSB, MOFCOM}
    for department, agency in agencies.items():
        path = tmp_path / f"{department.value}.sqlite3"
        assert agency.db_path == path and path.exists()
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len({p.prefix for p in agencies.values()}) == 6


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=lambda t: t.value)
def test_every_item_registered_once_with_the_agencys_reference(agencies, event_type):
    event = sealed(event_type, submission(event_type))
    items = items_of(event)
    results = deliver(agencies, items)
    for item, result in zip(items, results, strict=True):
        assert isinstance(result, Completed), result
        assert reference_pattern(item.department).fullmatch(result.reference)
        row = agencies[item.department].get(item.item_id)
        assert row.reference == result.reference and row.status == "ACTIVE"
        assert (row.case_id, row.event_id, row.item, row.data) == (item.case_id, item.event_id, item.item, item.data)
        assert row.subject and row.subject in item.data.values()
    per_department = {d: sum(i.department is d for i in items) for d in agencies}
    assert {d: a.count() for d, a in agencies.items()} == per_department
    assert sorted(r.item_id for a in agencies.values() for r in a.find_by_case(event.envelope.case_id)) \
        == sorted(i.item_id for i in items)


def test_only_foreign_invested_enterprises_reach_commerce(agencies):
    raw = submission(T.ENTERPRISE_REGISTERED)
    raw["payload"].update(foreign_invested=False, investor_countries=[])
    deliver(agencies, items_of(sealed(T.ENTERPRISE_REGISTERED, raw)))
    assert agencies[MOFCOM].count() == 0 and agencies[TAX].count() == 1


def test_references_follow_a_per_agency_sequence(agencies):
    refs = [deliver(agencies, items_of(sealed(T.DEATH_CERTIFIED, submission(T.DEATH_CERTIFIED, s))))
            for s in (1, 2, 3)]
    assert [r[0].reference for r in refs] == [f"户政-2026-00000{n}" for n in (1, 2, 3)]
    assert [r[1].reference for r in refs] == [f"社保-2026-00000{n}" for n in (1, 2, 3)]


def test_concurrent_redelivery_registers_once(agencies):
    item = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(agencies[HPF], [item] * 16))
    assert len(set(results)) == 1 and agencies[HPF].count() == 1


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=lambda t: t.value)
def test_correction_updates_the_original_registration(agencies, event_type):
    raw = submission(event_type)
    original = sealed(event_type, raw)
    first = {i.item_id: r.reference for i, r in zip(items_of(original), deliver(agencies, items_of(original)))}
    fixes = change_of(event_type, original, corrected(event_type, raw), "CORRECTION")
    assert fixes and all(f.change is ItemChange.CORRECTION for f in fixes)
    counts = {d: a.count() for d, a in agencies.items()}
    for fix in fixes:
        result = agencies[fix.department](fix)
        assert result == Completed(reference=first[fix.refers_to_item_id])
        row = agencies[fix.department].get(fix.refers_to_item_id)
        assert row.status == "CORRECTED" and row.data == fix.data and row.item_id == fix.refers_to_item_id
        assert agencies[fix.department].get(fix.item_id) == row
        history = agencies[fix.department].history(row.reference)
        assert [h["outcome"] for h in history] == ["REGISTERED", "CORRECTED"]
        assert history[0]["data"] != history[1]["data"] == fix.data
    assert {d: a.count() for d, a in agencies.items()} == counts


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=lambda t: t.value)
def test_annulment_marks_the_original_annulled(agencies, event_type):
    raw = submission(event_type)
    original = sealed(event_type, raw)
    refs = {i.item_id: r.reference for i, r in zip(items_of(original), deliver(agencies, items_of(original)))}
    for cancel in change_of(event_type, original, raw, "ANNULMENT"):
        assert agencies[cancel.department](cancel) == Completed(reference=refs[cancel.refers_to_item_id])
        assert agencies[cancel.department].get(cancel.refers_to_item_id).status == "ANNULLED"
    fix = change_of(event_type, original, corrected(event_type, raw), "CORRECTION")[0]
    result = agencies[fix.department](fix)
    assert isinstance(result, Rejected) and "annulled" in result.reason


def test_correction_of_an_unseen_original_registers_it_and_recognises_the_late_original(agencies):
    raw = submission(T.SOCIAL_ORGANISATION_REGISTERED)
    original = sealed(T.SOCIAL_ORGANISATION_REGISTERED, raw)
    fix = change_of(T.SOCIAL_ORGANISATION_REGISTERED, original, corrected(T.SOCIAL_ORGANISATION_REGISTERED, raw),
                    "CORRECTION")[0]
    registered = agencies[TAX](fix)
    assert isinstance(registered, Completed) and agencies[TAX].get(fix.item_id).origin_item_id == fix.refers_to_item_id
    late = items_of(original)[0]
    assert agencies[TAX](late) == registered  # not a duplicate: the same registration
    row = agencies[TAX].get(late.item_id)
    assert agencies[TAX].count() == 1 and row.data == fix.data and row.status == "ACTIVE"


def test_annulment_of_an_unseen_original_leaves_a_tombstone(agencies):
    raw = submission(T.BIRTH_CERTIFIED)
    original = sealed(T.BIRTH_CERTIFIED, raw)
    cancels = change_of(T.BIRTH_CERTIFIED, original, raw, "ANNULMENT")
    refs = deliver(agencies, cancels)
    assert deliver(agencies, items_of(original)) == refs  # the late original does not come alive
    assert all(a.rows()[0].status == "ANNULLED" for d, a in agencies.items() if d in (PSB, MI, HRSS))


DUPLICATE_RULES = [  # (event type, agency, item refused the second time, words of the reason)
    (T.SOCIAL_ORGANISATION_REGISTERED, TAX, "tax_registration", "duplicate tax registration"),
    (T.ENTERPRISE_REGISTERED, TAX, "tax_registration", "duplicate tax registration"),
    (T.ENTERPRISE_REGISTERED, MOFCOM, "foreign_investment_filing", "duplicate establishment filing"),
    (T.BIRTH_CERTIFIED, MI, "newborn_medical_insurance", "重复参保"),
    (T.DEATH_CERTIFIED, HRSS, "pension_stop", "pension already stopped"),
    (T.RETIREMENT_APPROVED, HPF, "provident_fund_retirement_withdrawal", "retirement withdrawal already paid"),
]


@pytest.mark.parametrize("event_type, department, item_name, words", DUPLICATE_RULES,
                         ids=lambda v: getattr(v, "value", v))
def test_a_second_registration_of_the_same_subject_is_refused(agencies, event_type, department, item_name, words):
    raw = submission(event_type)
    first_event = sealed(event_type, raw)
    first = dict(zip([i.item for i in items_of(first_event)], deliver(agencies, items_of(first_event))))
    # The same facts again under a new event id (a department re-sent without its event id).
    again = items_of(sealed(event_type, raw))
    results = dict(zip([i.item for i in again], deliver(agencies, again)))
    refused = results[item_name]
    assert isinstance(refused, Rejected) and words in refused.reason
    assert first[item_name].reference in refused.reason
    subject = agencies[department].rows()[0].subject
    assert subject not in refused.reason and mask_id(subject) in refused.reason
    once_only = {name for _, _, name, _ in DUPLICATE_RULES}
    others = [r for name, r in results.items() if name not in once_only]
    assert all(isinstance(r, Completed) for r in others)  # items without such a rule complete again
    # The refusal is final for that item, even once the first registration is annulled ...
    duplicate = next(i for i in again if i.item == item_name)
    deliver(agencies, [c for c in change_of(event_type, first_event, raw, "ANNULMENT") if c.item == item_name])
    assert agencies[department](duplicate) == refused
    # ... but the subject may be registered afresh by a new event.
    fresh = next(i for i in items_of(sealed(event_type, raw)) if i.item == item_name)
    assert isinstance(agencies[department](fresh), Completed)


def test_public_security_refuses_marital_status_of_a_deceased_spouse(agencies):
    marriage_raw = submission(T.MARRIAGE_REGISTERED)
    death_raw = submission(T.DEATH_CERTIFIED)
    death_raw["payload"]["deceased"] = marriage_raw["payload"]["spouse_b"]
    deregistered = deliver(agencies, items_of(sealed(T.DEATH_CERTIFIED, death_raw)))[0]
    marriage = items_of(sealed(T.MARRIAGE_REGISTERED, marriage_raw))
    results = {i.item: r for i, r in zip(marriage, deliver(agencies, marriage), strict=True)}
    refused = results["household_marital_status"]
    spouse = marriage_raw["payload"]["spouse_b"]["id_number"]
    assert isinstance(refused, Rejected) and deregistered.reference in refused.reason
    assert spouse not in refused.reason and f"spouse_b {mask_id(spouse)}" in refused.reason
    assert isinstance(results["provident_fund_marital_status"], Completed)


def test_misrouted_item_is_a_failure_not_a_decision(agencies):
    item = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    with pytest.raises(ValueError, match="PROVIDENT_FUND"):
        agencies[TAX](item)
    assert agencies[TAX].count() == 0


def test_item_without_an_identifier_is_refused(agencies):
    item = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    result = agencies[HPF](item.model_copy(update={"data": {"payload.retirement_type": "NORMAL"}}))
    assert isinstance(result, Rejected) and agencies[HPF].count() == 0


def test_identity_numbers_are_masked_in_logs(agencies, caplog):
    raw = submission(T.RETIREMENT_APPROVED)
    with caplog.at_level("INFO", logger="consumers.reference_agencies"):
        deliver(agencies, items_of(sealed(T.RETIREMENT_APPROVED, raw)))
    person = raw["payload"]["person"]["id_number"]
    assert mask_id(person) in caplog.text and person not in caplog.text


# -- the webhook ------------------------------------------------------------------------------
SECRET = "s3cret-for-tests"


def signed_post(client, item: WorkItem, *, key: str | None = None, secret: str = SECRET, stamp: int | None = None):
    body = item.model_dump_json().encode()
    headers = {"Idempotency-Key": key or item.item_id,
               "X-OnceHub-Signature": sign(secret, body, stamp or int(time.time())),
               "Content-Type": "application/json"}
    return client.post("/webhook", content=body, headers=headers)


@pytest.fixture
def hpf_client(agencies):
    with TestClient(agency_webhook_app(agencies[HPF], SECRET)) as client:
        yield client


def test_webhook_completes_with_the_agencys_reference(agencies, hpf_client):
    item = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    first = signed_post(hpf_client, item)
    assert first.status_code == 200 and reference_pattern(HPF).fullmatch(first.json()["reference"])
    assert first.json()["reference"] == agencies[HPF].get(item.item_id).reference
    assert hpf_client.get("/health").json() == {"department": "PROVIDENT_FUND", "registrations": 1}


def test_webhook_refusal_is_422_with_the_reason(agencies, hpf_client):
    raw = submission(T.RETIREMENT_APPROVED)
    signed_post(hpf_client, items_of(sealed(T.RETIREMENT_APPROVED, raw))[0])
    second = signed_post(hpf_client, items_of(sealed(T.RETIREMENT_APPROVED, raw))[0])
    assert second.status_code == 422 and "already paid" in second.json()["reason"]


def test_webhook_refuses_bad_requests_without_applying_them(agencies, hpf_client):
    item = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    assert signed_post(hpf_client, item, secret="wrong").status_code == 401
    assert signed_post(hpf_client, item, stamp=int(time.time()) - 3600).status_code == 401
    assert hpf_client.post("/webhook", content=item.model_dump_json()).status_code == 401
    assert signed_post(hpf_client, item, key="another-id").status_code == 400
    bad = item.model_copy(update={"item_id": ""}).model_dump_json().replace('"grants"', '"grantz"')
    stamp = int(time.time())
    response = hpf_client.post("/webhook", content=bad, headers={
        "Idempotency-Key": "", "X-OnceHub-Signature": sign(SECRET, bad.encode(), stamp)})
    assert response.status_code == 400
    tax_item = items_of(sealed(T.ENTERPRISE_REGISTERED, submission(T.ENTERPRISE_REGISTERED)))[0]
    assert signed_post(hpf_client, tax_item).status_code == 500
    assert agencies[HPF].count() == 0 and agencies[TAX].count() == 0


def test_only_receiving_departments_have_agencies(tmp_path):
    with pytest.raises(ValueError, match="CIVIL_AFFAIRS receives no follow-on items"):
        ReferenceAgency(Department.CIVIL_AFFAIRS, tmp_path / "x.sqlite3")


def _withdrawal_notices(original, sent) -> list[WorkItem]:
    """What the router sends when the citizen withdraws the consent given with ``original``."""
    withdrawal = factories.withdrawal_record(event_to_record(original), ["marriage_housing_loan_notice"], NOW)
    return withdrawal_notices(withdrawal, "marriage_registered", {(i.department.value, i.item) for i in sent}, RULES)


def test_a_withdrawn_consent_erases_the_registration_it_brought(agencies):
    raw = {**submission(T.MARRIAGE_REGISTERED), "consents": ["marriage_housing_loan_notice"]}
    original = sealed(T.MARRIAGE_REGISTERED, raw)
    items = items_of(original)
    [notice_item] = [i for i in items if i.item == "marriage_housing_loan_notice"]
    registered = agencies[HPF](notice_item)
    assert agencies[HPF].get(notice_item.item_id).data == notice_item.data  # held on consent
    others = {i.item_id: agencies[i.department](i) for i in items if i is not notice_item}

    [withdrawal] = _withdrawal_notices(original, items)
    assert agencies[HPF](withdrawal) == registered  # the same registration, now erased
    row = agencies[HPF].get(notice_item.item_id)
    assert (row.status, row.data, row.subject) == ("ANNULLED", {}, "erased")
    assert all(change["data"] == {} for change in agencies[HPF].history(row.reference))
    for other in (i for i in items if i is not notice_item):  # what the law grants stays
        assert isinstance(others[other.item_id], Completed)
        assert agencies[other.department].get(other.item_id).data == other.data


def test_a_withdrawal_of_an_item_never_seen_leaves_an_empty_tombstone(agencies):
    raw = {**submission(T.MARRIAGE_REGISTERED), "consents": ["marriage_housing_loan_notice"]}
    original = sealed(T.MARRIAGE_REGISTERED, raw)
    items = items_of(original)
    [withdrawal] = _withdrawal_notices(original, items)
    assert isinstance(agencies[HPF](withdrawal), Completed)
    [late] = [i for i in items if i.item == "marriage_housing_loan_notice"]
    agencies[HPF](late)  # the original comes late: it is not kept either
    assert agencies[HPF].get(withdrawal.item_id).data == {}
    assert all(r.data == {} for r in agencies[HPF].rows() if r.item == late.item)


def test_an_erasure_erases_every_registration_the_person_s_items_brought(agencies):
    from hub.domain.case import CaseState, ItemState
    from hub.domain.erasure import erasure_items

    original = sealed(T.ENTERPRISE_REGISTERED, submission(T.ENTERPRISE_REGISTERED))
    items = items_of(original)
    answers = {i.item_id: agencies[i.department](i) for i in items}
    case = CaseState(case_id=original.envelope.case_id, items={
        i.item_id: ItemState(item_id=i.item_id, department=i.department.value, item=i.item,
                             change=i.change.value) for i in items})
    erasures = erasure_items([case], "erasure-1", AGENCY_NOW)
    assert {e.refers_to_item_id for e in erasures} == {i.item_id for i in items}
    for erasure in erasures:
        assert agencies[erasure.department](erasure) == answers[erasure.refers_to_item_id]  # same reference
        assert agencies[erasure.department](erasure) == answers[erasure.refers_to_item_id]  # once
        row = agencies[erasure.department].get(erasure.refers_to_item_id)
        assert (row.status, row.data, row.subject) == ("ANNULLED", {}, "erased")
        assert all(change["data"] == {} for change in agencies[erasure.department].history(row.reference))


def test_a_batch_answers_as_one_item_at_a_time_would_in_one_transaction(agencies, tmp_path):
    raw = submission(T.SOCIAL_ORGANISATION_REGISTERED)
    original = sealed(T.SOCIAL_ORGANISATION_REGISTERED, raw)
    other = sealed(T.SOCIAL_ORGANISATION_REGISTERED, submission(T.SOCIAL_ORGANISATION_REGISTERED, seed=12))
    [first] = items_of(original)
    [cancel] = change_of(T.SOCIAL_ORGANISATION_REGISTERED, original, raw, "ANNULMENT")
    [fix] = change_of(T.SOCIAL_ORGANISATION_REGISTERED, original,
                      corrected(T.SOCIAL_ORGANISATION_REGISTERED, raw), "CORRECTION")
    batch = [first, *items_of(other), cancel, fix, first]  # the last: a redelivery within the batch
    one_by_one = reference_agencies(tmp_path / "one-by-one", clock=lambda: AGENCY_NOW)
    try:
        expected = [one_by_one[TAX](item) for item in batch]
    finally:
        for agency in one_by_one.values():
            agency.close()
    assert agencies[TAX].handle_many(batch) == expected
    assert isinstance(expected[3], Rejected) and expected[4] == expected[0]  # refused; same answer
    assert agencies[TAX].count() == 2 and agencies[TAX].get(first.item_id).status == "ANNULLED"


def test_a_batch_holding_a_misrouted_item_records_nothing(agencies):
    tax_item = items_of(sealed(T.SOCIAL_ORGANISATION_REGISTERED, submission(T.SOCIAL_ORGANISATION_REGISTERED)))[0]
    misrouted = items_of(sealed(T.RETIREMENT_APPROVED, submission(T.RETIREMENT_APPROVED)))[0]
    with pytest.raises(ValueError, match="PROVIDENT_FUND"):
        agencies[TAX].handle_many([tax_item, misrouted])
    assert agencies[TAX].count() == 0
