"""GET /v1/cases/{id} and /v1/subjects/{id}/cases: scoped to the caller, audited, limited per
token (the in-memory case reader and audit-note sink, no broker)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.audit_entries import ReadNote
from hub.security.pseudonym_keys import load_pseudonyms
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.identifiers import mask_id
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.memory import InMemoryAuditNotes, InMemoryCases
from tests.builders import T0, decided, event_of

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
CIVIL, POLICE, FUND, TAX = (Department.CIVIL_AFFAIRS, Department.PUBLIC_SECURITY,
                            Department.PROVIDENT_FUND, Department.TAX)


def record(token: str, role: Role = Role.DEPARTMENT, department: Department | None = None,
           **more) -> TokenRecord:
    fields = {"issued_at": NOW - timedelta(days=1), "expires_at": NOW + timedelta(days=1), **more}
    return TokenRecord(id=f"id-{token}", role=role, department=department, sha256=token_hash(token),
                       **fields)


TOKENS = [record("civil", department=CIVIL), record("police", department=POLICE),
          record("fund", department=FUND), record("tax", department=TAX),
          record("ops", Role.OPERATOR), record("audit", Role.AUDITOR),
          record("old", department=POLICE, expires_at=NOW - timedelta(seconds=1)),
          record("gone", department=POLICE, revoked_at=NOW - timedelta(hours=1))]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Hub:
    """A marriage registered by civil affairs, routed to public security (rejected, with a
    reason) and the provident fund (completed, with a reference), behind the API."""

    def __init__(self, read_rate_limit: str = "120/minute"):
        self.decision, self.items = decided(event_of(EventType.MARRIAGE_REGISTERED, 1))
        police, fund = sorted(self.items, key=lambda i: i.department is FUND)
        outcomes = [Outcome.for_item(police, OutcomeStatus.REJECTED, T0, reason="not in this household"),
                    Outcome.for_item(fund, OutcomeStatus.COMPLETED, T0, reference="HPF-778899")]
        self.police_item, self.fund_item = police, fund
        self.cases = InMemoryCases(self.decision, *outcomes)
        self.notes = InMemoryAuditNotes()
        self.client = TestClient(create_app(
            HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None, cases=self.cases,
            audit_intake=self.notes, read_rate_limit=read_rate_limit))
        self.case_id = self.decision.case_id
        self.spouse_a, self.spouse_b = self.decision.subject_ids

    def case(self, token: str, case_id: str | None = None):
        return self.client.get(f"/v1/cases/{case_id or self.case_id}", headers=auth(token))

    def subject(self, token: str, subject: str | None = None):
        return self.client.get(f"/v1/subjects/{subject or self.spouse_a}/cases", headers=auth(token))


@pytest.fixture
def hub() -> Hub:
    return Hub()


def test_a_recipient_reads_only_its_own_item_of_the_case(hub):
    police = hub.case("police")
    assert police.status_code == 200
    body = police.json()
    assert list(body["items"]) == [hub.police_item.item_id]
    assert body["items"][hub.police_item.item_id]["reason"] == "not in this household"
    assert "HPF-778899" not in police.text and hub.fund_item.item_id not in police.text
    assert body["scope"] == "PUBLIC_SECURITY"
    fund = hub.case("fund")
    assert list(fund.json()["items"]) == [hub.fund_item.item_id]
    assert "not in this household" not in fund.text


def test_the_registering_department_reads_the_case_without_others_items(hub):
    body = hub.case("civil").json()
    assert body["items"] == {} and body["subject_ids"] == [hub.spouse_a, hub.spouse_b]
    assert body["status"] == "COMPLETED"


@pytest.mark.parametrize("token", ["ops", "audit"])
def test_operators_and_auditors_read_the_whole_case(hub, token):
    body = hub.case(token).json()
    hub.cases.catch_up()
    assert body == hub.cases.case(hub.case_id).as_json()
    assert len(body["items"]) == 2


def test_another_departments_case_is_a_404_like_an_unknown_one(hub):
    other, unknown = hub.case("tax"), hub.case("tax", "case-unknown")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["errors"][0]["rule"] == unknown.json()["errors"][0]["rule"] == "unknown_case"
    assert other.json()["errors"][0]["message"] == f"no case {hub.case_id!r}"
    assert hub.spouse_a not in other.text
    # both audited, as reads that disclosed nothing
    assert [(n.requested_case_id, n.case_ids, n.disclosed) for n in hub.notes.notes] == [
        (hub.case_id, [], False), ("case-unknown", [], False)]


def test_a_subjects_cases_are_those_the_department_is_party_to(hub):
    assert [c["case_id"] for c in hub.subject("police").json()["cases"]] == [hub.case_id]
    assert hub.subject("tax").json() == {"subject_id": hub.spouse_a, "cases": []}
    assert [c["case_id"] for c in hub.subject("ops").json()["cases"]] == [hub.case_id]
    [case] = hub.subject("fund", hub.spouse_b).json()["cases"]
    assert list(case["items"]) == [hub.fund_item.item_id]


def test_every_read_is_audited_with_the_token_and_no_clear_subject_id(hub):
    hub.case("police")
    hub.subject("fund", hub.spouse_b)
    hub.subject("ops")
    case_read, subject_read, operator_read = hub.notes.notes
    assert isinstance(case_read, ReadNote)
    assert (case_read.token_id, case_read.role, case_read.department, case_read.route,
            case_read.case_ids, case_read.disclosed) == (
        "id-police", "department", "PUBLIC_SECURITY", "case", [hub.case_id], True)
    pseudonym = load_pseudonyms(HubSettings().resolved_pseudonym_keys_file).of(hub.spouse_b)
    assert (subject_read.token_id, subject_read.route, subject_read.subject_ref, subject_read.case_ids) == (
        "id-fund", "subject_cases", pseudonym, [hub.case_id])
    assert (operator_read.role, operator_read.department) == ("operator", None)
    for note in hub.notes.notes:
        dumped = note.model_dump_json()
        assert hub.spouse_a not in dumped and hub.spouse_b not in dumped
        assert mask_id(hub.spouse_b) not in dumped


def test_a_read_that_cannot_be_audited_is_not_served(hub):
    hub.notes.refuse()
    for response in (hub.case("police"), hub.subject("police")):
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.json()["errors"][0]["rule"] == "audit_unavailable"
        assert hub.spouse_a not in response.text and "items" not in response.text
    assert hub.notes.notes == []


@pytest.mark.parametrize("token, reason", [
    ("old", "bearer token expired"), ("gone", "bearer token revoked"),
    ("nope", "missing or unknown bearer token")])
def test_expired_revoked_and_unknown_tokens_are_refused_with_why(hub, token, reason):
    for response in (hub.case(token), hub.subject(token)):
        assert response.status_code == 401
        assert response.json()["errors"][0] == {"field": "(request)", "rule": "bearer_token",
                                                "message": reason}
        assert response.headers["www-authenticate"] == "Bearer"
    assert hub.cases.catch_ups == 0 and hub.notes.notes == []


def test_no_token_is_a_401(hub):
    assert hub.client.get(f"/v1/cases/{hub.case_id}").status_code == 401


def test_past_the_read_limit_a_token_gets_429_with_retry_after():
    hub = Hub(read_rate_limit="3/minute")
    assert [hub.case("police").status_code for _ in range(3)] == [200, 200, 200]
    refused = hub.subject("police")
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["rule"] == "read_rate_limit"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert len(hub.notes.notes) == 3  # the refused read was neither read nor audited
    assert hub.case("fund").status_code == 200  # another token has its own allowance


def test_every_answer_reads_the_log_up_to_now_first(hub):
    hub.case("police")
    hub.subject("police")
    assert hub.cases.catch_ups == 2


def test_a_log_that_cannot_be_read_is_a_503(hub):
    hub.cases.refuse()
    response = hub.case("police")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert hub.notes.notes == []


def test_case_routes_without_an_audit_intake_are_refused_at_start():
    with pytest.raises(ValueError, match="audit intake"):
        create_app(HubSettings(), TokenStore(TOKENS), lambda d: None, cases=InMemoryCases())


def test_the_openapi_document_links_a_receipt_to_its_case_and_a_case_to_its_subjects(hub):
    spec = hub.client.get("/openapi.json").json()
    get_case = spec["paths"]["/v1/cases/{case_id}"]["get"]
    subject_cases = spec["paths"]["/v1/subjects/{subject_id}/cases"]["get"]
    publish = spec["paths"]["/v1/events/marriage_registered"]["post"]
    link = publish["responses"]["202"]["links"]["GetCase"]
    assert link == {"operationId": get_case["operationId"], "parameters": {"case_id": "$response.body#/case_id"},
                    "description": link["description"]}
    onward = get_case["responses"]["200"]["links"]["GetSubjectCases"]
    assert onward["operationId"] == subject_cases["operationId"]
    assert onward["parameters"] == {"subject_id": "$response.body#/subject_ids/0"}
    assert {"401", "404", "429", "500", "503"} <= set(get_case["responses"])
