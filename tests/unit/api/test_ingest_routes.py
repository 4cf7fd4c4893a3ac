"""The HTTP ingest status-code contract, with a fake publisher (no broker, no registry).

The fake stands in for ``producers.publisher.Publisher``: it validates and seals with the real
``hub.domain.sealing.seal`` (so 422 rule errors are real) and records what it would have written.
A refused request must never reach the publisher; a request refused by the rules reaches it but
writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from starlette.requests import Request

from hub.api.app import create_app
from hub.api.ingest_routes import BodyTooLarge, read_limited
from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for_publisher
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.receipts import Receipt
from hub.domain.sealing import seal
from hub.errors import PublishUnavailable
from producers.demo_data import generate

NOW = datetime.now(timezone.utc)  # generate() stamps instants from the real clock
TODAY = NOW.astimezone(CHINA_TZ).date()
CIVIL = "civil-affairs-test-token-3f9a"
HEALTH = "health-test-token-77c1"
MARRIAGE = "/v1/events/marriage_registered"
EVENT_ID = "0f6e1b52-9a61-4c1e-8d8e-2d6f3c4b5a69"


class FakePublisher:
    def __init__(self, department: Department, hub: "FakeHub"):
        self.department, self.hub = department, hub

    def publish_raw(self, event_type: str, submission: dict) -> Receipt:
        self.hub.calls.append((self.department, event_type, submission))
        if self.hub.unavailable:
            raise PublishUnavailable("Kafka at test:9092 did not answer; it was not written", 7)
        spec = spec_for_publisher(event_type, self.department)
        event = seal(spec, self.department, dict(submission), clock=lambda: NOW)
        self.hub.written.append(event)
        return Receipt(
            event_id=event.envelope.event_id, case_id=event.envelope.case_id,
            event_type=event_type, topic=spec.topic("test"), partition=1,
            offset=len(self.hub.written) - 1,
        )


class FakeHub:
    """The ``publisher_for`` collaborator: hands out fake publishers, records everything."""

    def __init__(self):
        self.asked_for: list[Department] = []
        self.calls: list[tuple] = []
        self.written: list = []
        self.unavailable = False
        self.closed = False

    def __call__(self, department: Department) -> FakePublisher:
        self.asked_for.append(department)
        return FakePublisher(department, self)

    def close(self) -> None:
        self.closed = True


def token_store() -> TokenStore:
    return TokenStore([
        TokenRecord(department=Department.CIVIL_AFFAIRS, sha256=token_hash(CIVIL), issued_at=NOW),
        TokenRecord(department=Department.HEALTH, sha256=token_hash(HEALTH), issued_at=NOW),
    ])


@pytest.fixture
def make():
    """``make(max_body_bytes=...) -> (client, hub)``; every client is closed after the test."""
    clients = []

    def _make(**settings):
        hub = FakeHub()
        app = create_app(HubSettings(**settings), token_store(), hub)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        return client, hub

    yield _make
    for client in clients:
        client.close()


def marriage(**extra) -> dict:
    raw = generate(EventType.MARRIAGE_REGISTERED, random.Random(42), TODAY)
    raw.update(extra)
    return raw


def encode(raw) -> bytes:
    return json.dumps(raw, ensure_ascii=False).encode()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def chunks(data: bytes, size: int = 64):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def assert_problem(response, status: int, field: str, rule: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert set(error) == {"field", "rule", "message"}
    assert (error["field"], error["rule"]) == (field, rule)
    assert error["message"]
    return error


# --- accepted ------------------------------------------------------------------------------

def test_accepted_event_returns_202_and_the_receipt(make):
    client, hub = make()
    raw = marriage()
    response = client.post(MARRIAGE, content=encode(raw), headers=auth(CIVIL))
    assert response.status_code == 202, response.text
    (event,) = hub.written
    assert response.json() == {
        "event_id": event.envelope.event_id, "case_id": f"case-{event.envelope.event_id}",
        "event_type": "marriage_registered", "topic": "test.events.marriage_registered",
        "partition": 1, "offset": 0,
    }
    assert hub.asked_for == [Department.CIVIL_AFFAIRS]
    assert hub.calls == [(Department.CIVIL_AFFAIRS, "marriage_registered", raw)]
    assert event.envelope.source_department is Department.CIVIL_AFFAIRS


def test_receipt_carries_the_client_event_id_and_case(make):
    client, hub = make()
    response = client.post(MARRIAGE, content=encode(marriage(event_id=EVENT_ID, case_id="xs-2024-7")),
                           headers=auth(CIVIL))
    assert response.status_code == 202, response.text
    assert response.json()["event_id"] == EVENT_ID
    assert response.json()["case_id"] == "xs-2024-7"


def test_each_department_publishes_its_own_types(make):
    client, hub = make()
    raw = generate(EventType.BIRTH_CERTIFIED, random.Random(1), TODAY)
    response = client.post("/v1/events/birth_certified", content=encode(raw), headers=auth(HEALTH))
    assert response.status_code == 202, response.text
    assert hub.asked_for == [Department.HEALTH]
    assert hub.written[0].envelope.source_department is Department.HEALTH


def test_bearer_scheme_is_case_insensitive(make):
    client, hub = make()
    response = client.post(MARRIAGE, content=encode(marriage()), headers={"Authorization": f"bearer {CIVIL}"})
    assert response.status_code == 202, response.text


def test_chunked_body_within_the_limit_is_read_whole(make):
    client, hub = make()
    body = encode(marriage())
    response = client.post(MARRIAGE, content=chunks(body, 50), headers=auth(CIVIL))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 202, response.text
    assert hub.calls[0][2] == json.loads(body)


@pytest.mark.parametrize("delta, status", [(0, 202), (-1, 413)])
def test_body_of_exactly_the_limit_is_accepted(make, delta, status):
    body = encode(marriage())
    client, hub = make(max_body_bytes=len(body) + delta)
    assert client.post(MARRIAGE, content=body, headers=auth(CIVIL)).status_code == status
    assert client.post(MARRIAGE, content=chunks(body), headers=auth(CIVIL)).status_code == status


# --- refused before the publisher ----------------------------------------------------------

LIMIT = 256
BIG = b'{"payload": "' + b"x" * LIMIT + b'"}'
REFUSED = [
    # id, path, headers, body, status, field, rule (chunked 413: see the test below)
    ("no-token", MARRIAGE, {}, encode(marriage()), 401, "(request)", "bearer_token"),
    ("unknown-token", MARRIAGE, auth("not-a-token"), encode(marriage()), 401, "(request)", "bearer_token"),
    ("basic-scheme", MARRIAGE, {"Authorization": f"Basic {CIVIL}"}, encode(marriage()), 401,
     "(request)", "bearer_token"),
    ("empty-bearer", MARRIAGE, {"Authorization": "Bearer  "}, encode(marriage()), 401,
     "(request)", "bearer_token"),
    ("no-token-unknown-type", "/v1/events/nope", {}, b"{}", 401, "(request)", "bearer_token"),
    ("unknown-type", "/v1/events/nope", auth(CIVIL), b"{}", 404, "(request)", "unknown_event_type"),
    ("unknown-type-too-big", "/v1/events/nope", auth(CIVIL), BIG, 404, "(request)", "unknown_event_type"),
    ("wrong-department", MARRIAGE, auth(HEALTH), encode(marriage()), 403, "(request)", "event_type_owner"),
    ("wrong-department-too-big", MARRIAGE, auth(HEALTH), BIG, 403, "(request)", "event_type_owner"),
    ("too-big-content-length", MARRIAGE, auth(CIVIL), BIG, 413, "(request)", "max_body_bytes"),
    ("malformed-json", MARRIAGE, auth(CIVIL), b'{"payload": ', 422, "(body)", "json_invalid"),
    ("empty-body", MARRIAGE, auth(CIVIL), b"", 422, "(body)", "json_invalid"),
    ("not-utf8", MARRIAGE, auth(CIVIL), b'{"payload": "\xff\xfe"}', 422, "(body)", "json_invalid"),
    ("json-list", MARRIAGE, auth(CIVIL), b"[]", 422, "(body)", "object_type"),
    ("json-string", MARRIAGE, auth(CIVIL), b'"hello"', 422, "(body)", "object_type"),
    ("json-number", MARRIAGE, auth(CIVIL), b"42", 422, "(body)", "object_type"),
    ("json-null", MARRIAGE, auth(CIVIL), b"null", 422, "(body)", "object_type"),
]


@pytest.mark.parametrize(
    "path, headers, body, status, field, rule", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused_requests_never_reach_the_publisher(make, path, headers, body, status, field, rule):
    client, hub = make(max_body_bytes=LIMIT)
    response = client.post(path, content=body, headers=headers)
    error = assert_problem(response, status, field, rule)
    assert hub.asked_for == [] and hub.calls == [] and hub.written == []
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if status == 403:
        assert "CIVIL_AFFAIRS" in error["message"] and "HEALTH" in error["message"]
    if status == 404:
        assert "marriage_registered" in error["message"]  # lists the known types
    if status == 413:
        assert str(LIMIT) in error["message"]


def test_chunked_oversize_body_is_refused_without_content_length(make):
    client, hub = make(max_body_bytes=LIMIT)
    response = client.post(MARRIAGE, content=chunks(BIG, 40), headers=auth(CIVIL))
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "(request)", "max_body_bytes")
    assert hub.calls == []


def test_body_reader_stops_at_the_limit():
    """The limit holds while streaming: reading stops at the first chunk past it."""
    sent = []

    async def receive():
        sent.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}  # endless

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_limited(Request(scope, receive), 250))
    assert len(sent) == 3


def test_declared_content_length_over_the_limit_is_refused_before_reading():
    async def receive():
        raise AssertionError("the body must not be read")

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-length", b"251")]}
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_limited(Request(scope, receive), 250))


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"a":' * 5000], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_422(make, body):
    client, hub = make()
    response = client.post(MARRIAGE, content=body, headers=auth(CIVIL))
    assert response.status_code == 422, response.status_code
    assert hub.calls == []


# --- refused by the rules, or by the infrastructure ----------------------------------------

def test_rule_errors_are_a_422_list_of_field_rule_message(make):
    client, hub = make()
    raw = marriage()
    spouse_a = raw["payload"]["spouse_a"]
    spouse_a["id_number"] = spouse_a["id_number"][:17] + ("0" if spouse_a["id_number"][17] != "0" else "1")
    raw["payload"]["spouse_b"]["sex"] = "MALE"
    del raw["payload"]["registration_office"]
    raw["source_department"] = "TAX"
    response = client.post(MARRIAGE, content=encode(raw), headers=auth(CIVIL))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert all(set(e) == {"field", "rule", "message"} and e["message"] for e in errors)
    assert sorted((e["field"], e["rule"]) for e in errors) == sorted([
        ("payload.spouse_a.id_number", "check_character"),
        ("payload.spouse_b.sex", "sex_matches_id_number"),
        ("payload.registration_office", "missing"),
        ("source_department", "extra_forbidden"),
    ])
    assert len(hub.calls) == 1 and hub.written == []


@pytest.mark.parametrize("value", [0, 1718000000, 1.5, True])
def test_a_number_for_a_time_or_a_date_is_refused_not_read_as_seconds_since_1970(make, value):
    client, hub = make()
    raw = marriage()
    raw["occurred_at"], raw["payload"]["registered_on"] = value, value
    response = client.post(MARRIAGE, content=encode(raw), headers=auth(CIVIL))
    assert response.status_code == 422, response.text
    assert sorted((e["field"], e["rule"]) for e in response.json()["errors"]) == [
        ("occurred_at", "iso_8601_text"), ("payload.registered_on", "iso_8601_text")]
    assert hub.written == []


def test_unavailable_broker_is_a_503_with_retry_after(make):
    client, hub = make()
    hub.unavailable = True
    response = client.post(MARRIAGE, content=encode(marriage()), headers=auth(CIVIL))
    error = assert_problem(response, 503, "(request)", "unavailable")
    assert response.headers["retry-after"] == "7"
    assert "not written" in error["message"]
    assert hub.written == []


# --- the rest of the app -------------------------------------------------------------------

def test_openapi_document_is_valid_and_lists_the_six_submissions(make):
    client, _ = make()
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    schemas = spec["components"]["schemas"]
    expected = {f"Submission_{s.record_name}_" for s in CATALOGUE.values()}
    assert expected <= set(schemas)
    # one operation per event type, each with its own body: a generated client sends each type
    # only its own submission
    assert "/v1/events/{event_type}" not in spec["paths"]
    for s in CATALOGUE.values():
        operation = spec["paths"][f"/v1/events/{s.event_type.value}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/Submission_{s.record_name}_"}
        assert operation["operationId"] == f"publish_{s.event_type.value}"
        assert operation["security"] == [{"bearerAuth": []}]
        responses = operation["responses"]
        assert {"202", "401", "403", "404", "409", "413", "422", "500", "503"} <= set(responses)
        assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Receipt"}
        for status, answer in responses.items():
            if int(status) >= 400:  # every refusal documents the error body
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Problems"}
    marriage_schema = schemas["Submission_MarriageRegistered_"]
    assert {"payload", "occurred_at"} <= set(marriage_schema["required"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"Receipt", "Problems"} <= set(schemas)


def test_event_types_endpoint_lists_the_catalogue(make):
    client, _ = make(topic_prefix="zj")
    listed = {t["event_type"]: t for t in client.get("/v1/event-types").json()}
    assert set(listed) == {t.value for t in EventType}
    assert listed["marriage_registered"]["owner"] == "CIVIL_AFFAIRS"
    assert listed["birth_certified"]["topic"] == "zj.events.birth_certified"
    supplements = listed["documents_supplemented"]
    assert supplements["topics"]["HEALTH"] == "zj.events.documents_supplemented.health"
    assert len(supplements["topics"]) == len(supplements["publishers"]) > 1


def test_healthz(make):
    client, _ = make()
    assert client.get("/healthz").json() == {"status": "ok"}


def test_shutdown_closes_the_publishers():
    hub = FakeHub()
    with TestClient(create_app(HubSettings(), token_store(), hub)) as client:
        assert client.get("/healthz").status_code == 200
        assert not hub.closed
    assert hub.closed


# --- integers too long to convert, and tokens that are no department's ----------------------

@pytest.mark.parametrize("where, field", [
    (lambda raw, n: raw["payload"].update(certificate_number=n), "payload.certificate_number"),
    (lambda raw, n: raw.update(extra=[1, {"deep": n}]), "extra[1].deep"),
])
def test_an_integer_of_more_than_4300_digits_is_a_422_naming_the_field(make, where, field):
    client, hub = make()
    raw = marriage()
    where(raw, 1234567890123)  # replaced in the encoded text: json.dumps cannot write the number
    body = encode(raw).replace(b"1234567890123", b"9" * 4301)
    response = client.post("/v1/events/marriage_registered", content=body,
                           headers={**auth(CIVIL), "content-type": "application/json"})
    error = assert_problem(response, 422, field, "integer_digits")
    assert "4301 digits" in error["message"] and "4300" in error["message"]
    assert hub.written == []


def test_an_integer_of_4300_digits_is_parsed_and_judged_by_the_event_rules(make):
    client, hub = make()
    body = encode(marriage(extra=7)).replace(b'"extra": 7', b'"extra": ' + b"9" * 4300)
    response = client.post("/v1/events/marriage_registered", content=body,
                           headers={**auth(CIVIL), "content-type": "application/json"})
    assert response.status_code != 500


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.AUDITOR])
def test_operator_and_auditor_tokens_publish_nothing(role):
    hub = FakeHub()
    tokens = TokenStore([TokenRecord(role=role, sha256=token_hash("staff"), issued_at=NOW)])
    client = TestClient(create_app(HubSettings(), tokens, hub))
    response = client.post("/v1/events/marriage_registered", json=marriage(), headers=auth("staff"))
    assert_problem(response, 403, "(request)", "role")
    assert hub.asked_for == []


@pytest.mark.parametrize("record, reason", [
    (dict(expires_at=NOW), "bearer token expired"), (dict(revoked_at=NOW), "bearer token revoked")])
def test_expired_and_revoked_tokens_publish_nothing(record, reason):
    hub = FakeHub()
    tokens = TokenStore([TokenRecord(department=Department.CIVIL_AFFAIRS, sha256=token_hash("t"),
                                     issued_at=NOW - timedelta(days=1), **record)],
                        clock=lambda: NOW + timedelta(seconds=1))
    response = TestClient(create_app(HubSettings(), tokens, hub)).post(
        "/v1/events/marriage_registered", json=marriage(), headers=auth("t"))
    error = assert_problem(response, 401, "(request)", "bearer_token")
    assert error["message"] == reason and hub.asked_for == []
