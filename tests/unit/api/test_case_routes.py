"""GET /v1/cases/{id} and /v1/subjects/{id}/cases: the citizen's view, for authenticated systems
(the in-memory case reader, no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.memory import InMemoryCases
from tests.builders import decided, event_of

TOKEN = "tax-system-token"


def _cases() -> tuple[InMemoryCases, str, str]:
    """The case reader over one routed case (in the log, not applied until caught up): the
    reader, the case id, a subject of it."""
    decision, _ = decided(event_of(EventType.DEATH_CERTIFIED, 1))
    return InMemoryCases(decision), decision.case_id, decision.subject_ids[0]


def _client(cases):
    tokens = TokenStore([TokenRecord(department=Department.TAX, sha256=token_hash(TOKEN),
                                     issued_at=datetime.now(timezone.utc))])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, cases=cases))


def test_case_and_subject_views():
    cases, case_id, subject = _cases()
    client, auth = _client(cases), {"Authorization": f"Bearer {TOKEN}"}
    body = client.get(f"/v1/cases/{case_id}", headers=auth).json()
    assert body["status"] == "IN_PROGRESS" and len(body["items"]) == 4
    assert {i["department"] for i in body["items"].values()} == {
        "PUBLIC_SECURITY", "HUMAN_RESOURCES_SOCIAL_SECURITY", "MEDICAL_INSURANCE", "PROVIDENT_FUND"}
    listing = client.get(f"/v1/subjects/{subject}/cases", headers=auth).json()
    assert [c["case_id"] for c in listing["cases"]] == [case_id]
    assert client.get("/v1/subjects/nobody/cases", headers=auth).json()["cases"] == []
    assert client.get("/v1/cases/case-unknown", headers=auth).status_code == 404
    assert cases.catch_ups == 4  # every answer reads the log up to now first


def test_case_views_need_a_token():
    cases, case_id, subject = _cases()
    client = _client(cases)
    assert client.get(f"/v1/cases/{case_id}").status_code == 401
    assert client.get(f"/v1/subjects/{subject}/cases",
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert cases.catch_ups == 0


def test_a_log_that_cannot_be_read_is_a_503():
    cases, case_id, _ = _cases()
    cases.refuse()
    response = _client(cases).get(f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
