"""GET /v1/audit/subjects/{id}: the subject timeline over HTTP, scoped and audited (the in-memory
timeline and case readers and audit-note sink, no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from kafka.errors import KafkaConnectionError

from hub.api.app import create_app
from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.audit_entries import ReadNote
from hub.domain.departments import Department
from hub.domain.identifiers import mask_id
from hub.domain.routing import RoutingDecision
from hub.memory import InMemoryAuditNotes, InMemoryCases, InMemoryTimeline
from hub.security.pseudonym_keys import load_pseudonyms

TOKEN = "auditor-token"
SUBJECT = "110101199003074514"
DECISION = {"kind": "routing_decision", "at": "2026-05-01T02:00:00.000Z", "case_id": "c-1", "event_id": "e-1",
            "event_type": "birth_certified", "source_department": "HEALTH", "subject_ids": [SUBJECT],
            "decision": "ROUTED", "change": "NEW", "pending_documents": [],
            "items": [{"item_id": "i-1", "department": "PUBLIC_SECURITY", "item": "household_birth",
                       "deadline_at": "2026-05-08T02:00:00.000Z"}]}
SENT = {"kind": "item_sent", "at": "2026-05-01T02:00:01.000Z", "case_id": "c-1", "event_id": "e-1",
        "event_type": "birth_certified", "item_id": "i-1", "department": "PUBLIC_SECURITY",
        "item": "household_birth", "change": "NEW", "replay_id": None,
        "grants": [{"field": "payload.child", "basis": "《户口登记条例》第七条"}],
        "fields": ["payload.child.name", "payload.child.sex"]}


def _timeline() -> InMemoryTimeline:
    """A birth routed to public security and sent, in the audit trail (not read until caught up)."""
    timeline = InMemoryTimeline()
    timeline.add(DECISION, SENT, partition=1)
    return timeline


def _case() -> InMemoryCases:
    """The case view of the same birth (public security was given the subject's field)."""
    decision = RoutingDecision.model_validate({
        "decision_id": "d-1", "case_id": "c-1", "event_id": "e-1", "event_type": "birth_certified",
        "source_department": "HEALTH", "subject_ids": [SUBJECT], "kind": "ROUTED", "change": "NEW",
        "decided_at": "2026-05-01T02:00:00Z", "pending_documents": [],
        "items": [{"item_id": "i-1", "department": "PUBLIC_SECURITY", "item": "household_birth",
                   "name_zh": "落户", "name_en": "Birth", "change": "NEW", "refers_to_item_id": None,
                   "deadline_at": "2026-05-08T02:00:00Z",
                   "grants": [{"field": "payload.certificate_number", "basis": "《户口登记条例》第七条"}]}]})
    return InMemoryCases(decision)


TOKENS = [TokenRecord(role=Role.AUDITOR, sha256=token_hash(TOKEN), issued_at=datetime.now(timezone.utc)),
          TokenRecord(department=Department.PUBLIC_SECURITY, sha256=token_hash("police"),
                      issued_at=datetime.now(timezone.utc)),
          TokenRecord(department=Department.TAX, sha256=token_hash("tax"),
                      issued_at=datetime.now(timezone.utc))]


def _client(timeline, notes: InMemoryAuditNotes | None = None, cases: InMemoryCases | None = None):
    return TestClient(create_app(HubSettings(), TokenStore(TOKENS), lambda d: None, timeline=timeline,
                                 cases=cases, audit_intake=notes or InMemoryAuditNotes()))


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_the_timeline_of_a_subject_after_catching_up():
    timeline = _timeline()
    response = _client(timeline).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["subject_id"] == SUBJECT
    assert [(e["case_id"], e["audit"]) for e in body["events"]] == [("c-1", "1@0")]
    [recipient] = body["recipients"]
    assert (recipient["department"], recipient["item_id"], recipient["sent_at"]) == (
        "PUBLIC_SECURITY", "i-1", "2026-05-01T02:00:01.000Z")
    assert recipient["fields"] == [{"field": "payload.child.name", "basis": "《户口登记条例》第七条"},
                                   {"field": "payload.child.sex", "basis": "《户口登记条例》第七条"}]
    assert timeline.catch_ups == 1


def test_an_unknown_subject_gets_an_empty_timeline_not_a_404():
    response = _client(_timeline()).get("/v1/audit/subjects/nobody", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"subject_id": "nobody", "events": [], "departments": [],
                               "recipients": [], "fact_queries": [], "erasures": []}


def test_the_timeline_needs_a_known_token():
    timeline = _timeline()
    client = _client(timeline)
    assert client.get(f"/v1/audit/subjects/{SUBJECT}").status_code == 401
    refused = client.get(f"/v1/audit/subjects/{SUBJECT}", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert timeline.catch_ups == 0


def test_kafka_unreachable_is_a_503_with_retry_after():
    timeline = _timeline()
    timeline.refuse(KafkaConnectionError())  # translated to Unavailable, as the projection does
    response = _client(timeline).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


def test_the_route_is_in_the_openapi_document():
    paths = _client(_timeline()).get("/openapi.json").json()["paths"]
    assert "/v1/audit/subjects/{subject_id}" in paths


def test_every_timeline_read_is_audited_with_the_token_and_the_subject_by_pseudonym():
    notes = InMemoryAuditNotes()
    _client(_timeline(), notes).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    [note] = notes.notes
    assert isinstance(note, ReadNote)
    pseudonym = load_pseudonyms(HubSettings().resolved_pseudonym_keys_file).of(SUBJECT)
    assert (note.token_id, note.role, note.department, note.route, note.subject_ref, note.case_ids) == (
        TOKENS[0].id, "auditor", None, "subject_timeline", pseudonym, ["c-1"])
    assert SUBJECT not in note.model_dump_json() and mask_id(SUBJECT) not in note.model_dump_json()


def test_a_timeline_that_cannot_be_audited_is_not_served():
    notes = InMemoryAuditNotes()
    notes.refuse()
    response = _client(_timeline(), notes).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    assert response.status_code == 503 and response.json()["errors"][0]["rule"] == "audit_unavailable"
    assert "c-1" not in response.text


def test_a_department_sees_its_own_entries_of_the_cases_it_is_party_to():
    client = _client(_timeline(), cases=_case())
    police = client.get(f"/v1/audit/subjects/{SUBJECT}", headers={"Authorization": "Bearer police"})
    assert police.status_code == 200
    assert [r["item_id"] for r in police.json()["recipients"]] == ["i-1"]
    assert police.json()["scope"] == "PUBLIC_SECURITY"
    tax = client.get(f"/v1/audit/subjects/{SUBJECT}", headers={"Authorization": "Bearer tax"}).json()
    assert tax["events"] == tax["recipients"] == tax["departments"] == []


def test_without_the_case_view_a_department_is_not_served_the_timeline():
    response = _client(_timeline()).get(f"/v1/audit/subjects/{SUBJECT}",
                                        headers={"Authorization": "Bearer police"})
    assert response.status_code == 403 and response.json()["errors"][0]["rule"] == "role"
