"""GET /v1/subjects/{id}/facts: granted fields only, every query audited, nothing disclosed
unless its audit note is durable."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from kafka.errors import KafkaConnectionError, KafkaTimeoutError
from openapi_spec_validator import validate

from hub.api.app import create_app
from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.security.pseudonym_keys import load_pseudonyms
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.errors import TopicMissing, Unavailable
from hub.memory import InMemoryAuditNotes, InMemoryFacts
from tests.builders import event_of

TOKENS = {d: f"token-{d.value.lower()}" for d in
          (Department.PROVIDENT_FUND, Department.TAX, Department.HEALTH)}


def ref(subject: str) -> str:
    """How the audit note names ``subject``: its pseudonym under the keys the app loaded."""
    return load_pseudonyms(HubSettings().resolved_pseudonym_keys_file).of(subject)


def refusing(reader, failure: BaseException):
    """``reader`` (an in-memory facts reader or audit-note sink) told to fail with ``failure``."""
    reader.refuse(failure)
    return reader


@pytest.fixture
def marriage():
    return event_of(EventType.MARRIAGE_REGISTERED, 11)


def _client(facts, intake) -> TestClient:
    tokens = TokenStore([TokenRecord(department=d, sha256=token_hash(t), issued_at=datetime.now(timezone.utc))
                         for d, t in TOKENS.items()])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, facts=facts, audit_intake=intake))


def _get(client, subject, department: Department | None = None, token: str | None = None):
    token = token or (TOKENS[department] if department else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"/v1/subjects/{subject}/facts", headers=headers)


def test_the_provident_fund_gets_its_granted_fields_and_the_query_is_audited(marriage):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    subject = marriage["payload"]["spouse_a"]["id_number"]
    response = _get(_client(facts, intake), subject, Department.PROVIDENT_FUND)
    assert response.status_code == 200
    body = response.json()
    assert (body["subject_id"], body["department"]) == (subject, "PROVIDENT_FUND")
    [fact] = body["facts"]
    assert (fact["fact"], fact["status"], fact["event_type"]) == (
        "marital_status", "MARRIED", "marriage_registered")
    assert fact["event_id"] == marriage["envelope"]["event_id"]
    assert set(fact["fields"]) == {"payload.spouse_a.name", "payload.spouse_a.id_number",
                                   "payload.spouse_b.name", "payload.spouse_b.id_number",
                                   "payload.registered_on"}
    assert fact["fields"]["payload.spouse_b.name"]["value"] == marriage["payload"]["spouse_b"]["name"]
    assert marriage["payload"]["certificate_number"] not in response.text
    assert facts.catch_ups == 1  # read the log up to now before answering
    [note] = intake.notes
    assert (note.allowed, note.department, note.subject_ref, note.query_id) == (
        True, "PROVIDENT_FUND", ref(subject), body["query_id"])
    assert {(f.event_type, f.field) for f in note.fields} == {
        ("marriage_registered", path) for path in fact["fields"]}
    assert {f.basis for f in note.fields} == {fact["fields"]["payload.registered_on"]["basis"]}


def test_nothing_known_or_nothing_granted_is_an_empty_answer_still_audited(marriage):
    intake = InMemoryAuditNotes()
    client = _client(InMemoryFacts(marriage), intake)
    for subject, department in ((marriage["payload"]["spouse_a"]["id_number"], Department.TAX),
                                ("110101199003074514", Department.PROVIDENT_FUND)):
        response = _get(client, subject, department)
        assert response.status_code == 200 and response.json()["facts"] == []
    assert [(n.allowed, n.department, n.fields) for n in intake.notes] == [
        (True, "TAX", []), (True, "PROVIDENT_FUND", [])]


def test_a_department_granted_nothing_is_refused_and_audited(marriage):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    subject = marriage["payload"]["spouse_a"]["id_number"]
    response = _get(_client(facts, intake), subject, Department.HEALTH)
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "fact_grant"
    assert marriage["payload"]["spouse_b"]["name"] not in response.text
    assert facts.catch_ups == 0
    [note] = intake.notes
    assert (note.allowed, note.department, note.subject_ref, note.fields) == (False, "HEALTH", ref(subject), [])
    assert "HEALTH" in note.reason


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_an_unknown_caller_is_refused_and_audited(marriage, token):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    response = _get(_client(facts, intake), "91330100MA2XXXXX0X", token=token)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    [note] = intake.notes
    assert (note.allowed, note.department, note.subject_ref) == (False, None, ref("91330100MA2XXXXX0X"))
    assert facts.catch_ups == 0


@pytest.mark.parametrize("failure", [KafkaTimeoutError("no ack"), KafkaConnectionError("no broker"),
                                     RuntimeError("boom")])
def test_no_disclosure_without_a_durable_audit_note(marriage, failure):
    client = _client(InMemoryFacts(marriage), refusing(InMemoryAuditNotes(), failure))
    response = _get(client, marriage["payload"]["spouse_a"]["id_number"], Department.PROVIDENT_FUND)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["errors"][0]["rule"] == "audit_unavailable"
    assert marriage["payload"]["spouse_b"]["name"] not in response.text
    assert marriage["payload"]["spouse_b"]["id_number"] not in response.text


def test_a_refusal_stands_when_it_cannot_be_audited(marriage):
    client = _client(InMemoryFacts(marriage), refusing(InMemoryAuditNotes(), KafkaConnectionError("no broker")))
    assert _get(client, "x" * 18, Department.HEALTH).status_code == 403
    assert _get(client, "x" * 18).status_code == 401


@pytest.mark.parametrize("failure", [Unavailable("no broker"), TopicMissing(["p.events.x"]),
                                     KafkaConnectionError("no broker"), TimeoutError("stalled")])
def test_an_unreadable_log_is_503_and_nothing_is_posted(marriage, failure):
    intake = InMemoryAuditNotes()
    client = _client(refusing(InMemoryFacts(marriage), failure), intake)
    response = _get(client, marriage["payload"]["spouse_a"]["id_number"], Department.PROVIDENT_FUND)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert intake.notes == []


def test_the_query_needs_an_audit_intake(marriage):
    with pytest.raises(ValueError, match="audit intake"):
        _client(InMemoryFacts(marriage), None)


def test_the_query_is_documented_in_openapi(marriage):
    spec = _client(InMemoryFacts(marriage), InMemoryAuditNotes()).get("/openapi.json").json()
    validate(spec)
    operation = spec["paths"]["/v1/subjects/{subject_id}/facts"]["get"]
    assert operation["summary"].startswith("Shared-data query")
    assert {"200", "401", "403", "429", "503"} <= set(operation["responses"])
    assert "SubjectFacts" in spec["components"]["schemas"]


def test_refusals_without_a_token_are_audited_one_by_one_up_to_the_limit(marriage):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    app = create_app(HubSettings(unauthenticated_audit_limit="3/second"), TokenStore([]), lambda d: None,
                     facts=facts, audit_intake=intake)
    client = TestClient(app)
    statuses = [_get(client, "x" * 18, token="guess").status_code for _ in range(8)]
    assert statuses == [401] * 3 + [429] * 5
    assert len(intake.notes) == 3  # the flood does not reach the audit trail one by one
    throttled = _get(client, "x" * 18)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["errors"][0]["rule"] == "unauthenticated_audit_limit"
    time.sleep(1.05)  # the next window
    assert _get(client, "x" * 18).status_code == 401
    note = intake.notes[-1]
    assert (note.allowed, note.department) == (False, None)
    assert "6 earlier refusal(s) from testclient were over 3 per 1 second" in note.reason
    assert _get(client, "x" * 18).status_code == 401
    assert "earlier" not in intake.notes[-1].reason  # told once
    # refusals of departments with a token are not throttled: every query of theirs is audited
    # (up to the token's read limit, 120 a minute by default)
    provident = _client(facts, intake)
    before = len(intake.notes)
    assert all(_get(provident, "x" * 18, Department.HEALTH).status_code == 403 for _ in range(25))
    assert len(intake.notes) == before + 25


@pytest.mark.parametrize("limit, rule", [("lots", "not a rate limit"), ("0/minute", "allows nothing")])
def test_the_refusal_limit_setting_is_checked(limit, rule):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=rule):
        HubSettings(unauthenticated_audit_limit=limit)


# --- roles, expiry, the per-token read limit ---------------------------------------------------

def _store(*records: TokenRecord) -> TokenStore:
    return TokenStore(list(records))


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.AUDITOR])
def test_operator_and_auditor_tokens_are_granted_no_field_and_audited(marriage, role):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    record = TokenRecord(role=role, sha256=token_hash("staff"), issued_at=datetime.now(timezone.utc))
    client = TestClient(create_app(HubSettings(), _store(record), lambda d: None, facts=facts,
                                   audit_intake=intake))
    response = _get(client, marriage["payload"]["spouse_a"]["id_number"], token="staff")
    assert response.status_code == 403 and response.json()["errors"][0]["rule"] == "fact_grant"
    [note] = intake.notes
    assert not note.allowed and record.id in note.reason and role.value in note.reason


def test_an_expired_token_is_refused_with_why_and_audited(marriage):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    now = datetime.now(timezone.utc)
    record = TokenRecord(department=Department.PROVIDENT_FUND, sha256=token_hash("old"),
                         issued_at=now - timedelta(days=91), expires_at=now - timedelta(days=1))
    client = TestClient(create_app(HubSettings(), _store(record), lambda d: None, facts=facts,
                                   audit_intake=intake))
    response = _get(client, marriage["payload"]["spouse_a"]["id_number"], token="old")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "bearer token expired"
    [note] = intake.notes
    assert (note.allowed, note.department, note.reason) == (False, None, "bearer token expired")


def test_a_departments_queries_are_limited_per_token(marriage):
    facts, intake = InMemoryFacts(marriage), InMemoryAuditNotes()
    tokens = TokenStore([TokenRecord(department=d, sha256=token_hash(t), issued_at=datetime.now(timezone.utc))
                         for d, t in TOKENS.items()])
    client = TestClient(create_app(HubSettings(), tokens, lambda d: None, facts=facts, audit_intake=intake,
                                   read_rate_limit="2/minute"))
    subject = marriage["payload"]["spouse_a"]["id_number"]
    statuses = [_get(client, subject, Department.PROVIDENT_FUND).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(intake.notes) == 2
    assert _get(client, subject, Department.TAX).status_code in (200, 403)  # its own allowance
