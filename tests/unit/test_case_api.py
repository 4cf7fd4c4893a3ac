"""GET /v1/cases/{id} and /v1/subjects/{id}/cases: the citizen's view, for authenticated systems."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.case import CaseState
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind, decision_for, route
from hub.domain.sealing import seal
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

TOKEN = "tax-system-token"


class FakeCases:
    """Stands in for CaseProjection: the same three calls, over one routed case."""

    def __init__(self):
        spec = CATALOGUE[EventType.DEATH_CERTIFIED]
        event = event_to_record(seal(spec, spec.owner, generate(spec.event_type, random.Random(1))))
        decision = decision_for(event, DecisionKind.ROUTED, route(event, load_rules()))
        self.state = CaseState(case_id=decision.case_id)
        self.state.apply_decision(decision)
        self.subject = decision.subject_ids[0]
        self.catch_ups = 0

    def catch_up(self):
        self.catch_ups += 1

    def case(self, case_id):
        return self.state if case_id == self.state.case_id else None

    def for_subject(self, subject_id):
        return [self.state] if subject_id == self.subject else []


def _client(cases):
    tokens = TokenStore([TokenRecord(department=Department.TAX, sha256=token_hash(TOKEN),
                                     issued_at=datetime.now(timezone.utc))])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, cases=cases))


def test_case_and_subject_views():
    cases = FakeCases()
    client, auth = _client(cases), {"Authorization": f"Bearer {TOKEN}"}
    body = client.get(f"/v1/cases/{cases.state.case_id}", headers=auth).json()
    assert body["status"] == "IN_PROGRESS" and len(body["items"]) == 4
    assert {i["department"] for i in body["items"].values()} == {
        "PUBLIC_SECURITY", "HUMAN_RESOURCES_SOCIAL_SECURITY", "MEDICAL_INSURANCE", "PROVIDENT_FUND"}
    listing = client.get(f"/v1/subjects/{cases.subject}/cases", headers=auth).json()
    assert [c["case_id"] for c in listing["cases"]] == [cases.state.case_id]
    assert client.get("/v1/subjects/nobody/cases", headers=auth).json()["cases"] == []
    assert client.get("/v1/cases/case-unknown", headers=auth).status_code == 404
    assert cases.catch_ups == 4  # every answer reads the log up to now first


def test_case_views_need_a_token():
    cases = FakeCases()
    client = _client(cases)
    assert client.get(f"/v1/cases/{cases.state.case_id}").status_code == 401
    assert client.get(f"/v1/subjects/{cases.subject}/cases",
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert cases.catch_ups == 0
