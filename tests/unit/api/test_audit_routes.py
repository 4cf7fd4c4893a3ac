"""GET /v1/audit/subjects/{id}: the subject timeline over HTTP (the in-memory timeline reader,
no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from kafka.errors import KafkaConnectionError

from hub.api.app import create_app
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.memory import InMemoryTimeline

TOKEN = "portal-token"
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


def _client(timeline):
    tokens = TokenStore([TokenRecord(department=Department.PUBLIC_SECURITY, sha256=token_hash(TOKEN),
                                     issued_at=datetime.now(timezone.utc))])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, timeline=timeline))


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
                               "recipients": [], "fact_queries": []}


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
