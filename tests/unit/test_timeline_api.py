"""GET /v1/audit/subjects/{id}: the subject timeline over HTTP (fake projection, no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from kafka.errors import KafkaConnectionError

from hub.api.app import create_app
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.timeline import subject_timeline

TOKEN = "portal-token"
SUBJECT = "110101199003074514"


class FakeTimeline:
    """Stands in for TimelineProjection: ``catch_up`` and ``subject_timeline``."""

    def __init__(self, down: bool = False):
        self.catch_ups, self.asked, self.down = 0, [], down
        self.decision = {"kind": "routing_decision", "at": "2026-05-01T02:00:00.000Z", "audit": "1@0",
                         "case_id": "c-1", "event_id": "e-1", "event_type": "birth_certified",
                         "source_department": "HEALTH", "subject_ids": [SUBJECT], "decision": "ROUTED",
                         "change": "NEW", "pending_documents": [],
                         "items": [{"item_id": "i-1", "department": "PUBLIC_SECURITY",
                                    "item": "household_birth", "deadline_at": "2026-05-08T02:00:00.000Z"}]}
        self.sent = {"kind": "item_sent", "at": "2026-05-01T02:00:01.000Z", "audit": "1@1",
                     "case_id": "c-1", "event_id": "e-1", "event_type": "birth_certified",
                     "item_id": "i-1", "department": "PUBLIC_SECURITY", "item": "household_birth",
                     "change": "NEW", "replay_id": None,
                     "grants": [{"field": "payload.child", "basis": "《户口登记条例》第七条"}],
                     "fields": ["payload.child.name", "payload.child.sex"]}

    def catch_up(self):
        if self.down:
            raise KafkaConnectionError()
        self.catch_ups += 1

    def subject_timeline(self, subject_id):
        self.asked.append(subject_id)
        if subject_id != SUBJECT:
            return subject_timeline(subject_id, [], [], [])
        return subject_timeline(subject_id, [self.decision], [self.sent], [])


def _client(timeline):
    tokens = TokenStore([TokenRecord(department=Department.PUBLIC_SECURITY, sha256=token_hash(TOKEN),
                                     issued_at=datetime.now(timezone.utc))])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, timeline=timeline))


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_the_timeline_of_a_subject_after_catching_up():
    timeline = FakeTimeline()
    response = _client(timeline).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["subject_id"] == SUBJECT
    assert [e["case_id"] for e in body["events"]] == ["c-1"]
    [recipient] = body["recipients"]
    assert (recipient["department"], recipient["item_id"], recipient["sent_at"]) == (
        "PUBLIC_SECURITY", "i-1", "2026-05-01T02:00:01.000Z")
    assert recipient["fields"] == [{"field": "payload.child.name", "basis": "《户口登记条例》第七条"},
                                   {"field": "payload.child.sex", "basis": "《户口登记条例》第七条"}]
    assert timeline.catch_ups == 1


def test_an_unknown_subject_gets_an_empty_timeline_not_a_404():
    response = _client(FakeTimeline()).get("/v1/audit/subjects/nobody", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"subject_id": "nobody", "events": [], "departments": [],
                               "recipients": [], "fact_queries": []}


def test_the_timeline_needs_a_known_token():
    timeline = FakeTimeline()
    client = _client(timeline)
    assert client.get(f"/v1/audit/subjects/{SUBJECT}").status_code == 401
    refused = client.get(f"/v1/audit/subjects/{SUBJECT}", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert timeline.catch_ups == 0 and timeline.asked == []


def test_kafka_unreachable_is_a_503_with_retry_after():
    response = _client(FakeTimeline(down=True)).get(f"/v1/audit/subjects/{SUBJECT}", headers=AUTH)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


def test_the_route_is_in_the_openapi_document():
    paths = _client(FakeTimeline()).get("/openapi.json").json()["paths"]
    assert "/v1/audit/subjects/{subject_id}" in paths
