"""The HTTP API's one table from HubError to status.

Each kind of error gets its status and rule, every 503 a ``Retry-After``; a route that raises a
HubError is answered through the table (no route maps errors itself); ``hub/api`` reaches the
publisher only through its port, never the Kafka publisher SDK.
"""

from __future__ import annotations

import ast
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.responses import (
    INTERNAL_MESSAGE,
    RETRY_AFTER_S,
    STATUS_CODES,
    hub_error_response,
    install_error_answers,
)
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.departments import Department
import hub.api
from hub.errors import (Conflict, ConfigurationError, FieldError, HubError, InvalidEvent,
                        InvalidOption, NotAudited, NotFound, NotOwner, PublishOutcomeUnknown, PublishUnavailable,
                        TopicMissing, Unavailable, UnknownEventType)
from hub.memory import InMemoryAuditNotes, InMemoryCases

API = Path(hub.api.__file__).parent  # located by import, so moving this test cannot empty it
TOKEN = "provident-fund-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBJECT = "110101199003074514"


def body_of(response) -> tuple[int, dict[str, str]]:
    (error,) = json.loads(response.body)["errors"]
    return response.status_code, error


# --- the table ------------------------------------------------------------------------------

@pytest.mark.parametrize("error, status, rule", [
    (UnknownEventType("nope", ["marriage_registered"]), 404, "unknown_event_type"),
    (NotOwner("HEALTH", "marriage_registered", "CIVIL_AFFAIRS"), 403, "event_type_owner"),
    (NotFound("no dead letter 7"), 404, "not_found"),
    (Conflict("another writer holds the chain"), 409, "conflict"),
    (InvalidOption("--since: not a date"), 422, "invalid_option"),
    (NotAudited("the note was not written"), 503, "audit_unavailable"),
    (Unavailable("Kafka did not answer"), 503, "unavailable"),
    (PublishUnavailable("not written"), 503, "unavailable"),
    (PublishOutcomeUnknown("may have been recorded", "e1"), 503, "outcome_unknown"),
    (TopicMissing(["hub.audit"]), 503, "unavailable"),
], ids=lambda v: type(v).__name__ if isinstance(v, HubError) else None)
def test_each_kind_of_error_has_its_status_and_rule(error, status, rule):
    response = hub_error_response(error)
    assert body_of(response) == (status, {"field": "(request)", "rule": rule, "message": str(error)})
    assert ("retry-after" in response.headers) == (status == 503)


def test_an_invalid_event_is_answered_with_its_own_field_errors():
    errors = [FieldError("payload.spouse_a.id_number", "check_character", "bad check digit"),
              FieldError("payload.registered_on", "missing", "required")]
    response = hub_error_response(InvalidEvent("marriage_registered", errors))
    assert response.status_code == 422 and "retry-after" not in response.headers
    assert json.loads(response.body) == {"errors": [e.as_dict() for e in errors]}


def test_retry_after_is_the_hint_of_the_unavailable_error():
    assert hub_error_response(PublishUnavailable("not written", 7)).headers["retry-after"] == "7"
    assert hub_error_response(TopicMissing(["t"])).headers["retry-after"] == str(RETRY_AFTER_S)


def test_a_not_audited_caused_by_unavailable_is_a_503_with_the_causes_hint():
    try:
        try:
            raise Unavailable("the audit intake is unreachable", retry_after_s=9)
        except Unavailable as cause:
            raise NotAudited("the query cannot be audited now") from cause
    except NotAudited as exc:
        response = hub_error_response(exc)
    status, error = body_of(response)
    assert (status, error["rule"], response.headers["retry-after"]) == (503, "audit_unavailable", "9")


def test_any_hub_error_caused_by_unavailable_is_a_503():
    error = ConfigurationError("could not read the tokens")
    error.__cause__ = Unavailable("registry away", 4)
    response = hub_error_response(error)
    assert (response.status_code, response.headers["retry-after"]) == (503, "4")


def test_an_unexpected_hub_error_is_a_500_that_discloses_nothing():
    response = hub_error_response(ConfigurationError("secret path /etc/hub/tokens.json is broken"))
    assert body_of(response) == (500, {"field": "(request)", "rule": "internal",
                                       "message": INTERNAL_MESSAGE})


def test_the_table_ends_with_the_root_and_lists_every_kind_once():
    kinds = [row.kind for row in STATUS_CODES]
    assert kinds[-1] is HubError and len(kinds) == len(set(kinds))
    assert all(row.status == 503 for row in STATUS_CODES if issubclass(row.kind, Unavailable))


# --- through the app ------------------------------------------------------------------------

def test_a_route_raising_a_hub_error_is_answered_by_the_table():
    app = FastAPI()
    install_error_answers(app)

    @app.get("/down")
    def down():
        raise PublishUnavailable("Kafka did not accept the event; it was not written", 6)

    @app.get("/broken")
    def broken():
        raise ConfigurationError("schema not registered")

    client = TestClient(app)
    down_ = client.get("/down")
    assert (down_.status_code, down_.headers["retry-after"]) == (503, "6")
    assert down_.json()["errors"][0]["rule"] == "unavailable"
    assert client.get("/broken").json()["errors"][0]["rule"] == "internal"


class Reader:
    """A reader of any of the views (cases, facts, timeline) whose log cannot be read."""

    def __init__(self, error: HubError):
        self.error = error

    def catch_up(self):
        raise self.error


class Facts:
    def catch_up(self):
        return 0

    def facts_for(self, subject_id):
        return []


def _client(**collaborators) -> TestClient:
    tokens = TokenStore([TokenRecord(department=Department.PROVIDENT_FUND, sha256=token_hash(TOKEN),
                                     issued_at=datetime.now(timezone.utc))])
    return TestClient(create_app(HubSettings(), tokens, lambda d: None, **collaborators))


@pytest.mark.parametrize("error", [Unavailable("Kafka away", 8), TopicMissing(["hub.routing"])],
                         ids=["unavailable", "topic-missing"])
@pytest.mark.parametrize("collaborator, path", [
    ("timeline", f"/v1/audit/subjects/{SUBJECT}"),
    ("cases", f"/v1/subjects/{SUBJECT}/cases"),
    ("facts", f"/v1/subjects/{SUBJECT}/facts"),
])
def test_an_unreadable_view_is_a_503_with_retry_after(collaborator, path, error):
    notes = InMemoryAuditNotes()
    views = {"cases": InMemoryCases()} if collaborator == "timeline" else {}  # scopes a department's
    views[collaborator] = Reader(error)
    response = _client(**views, audit_intake=notes).get(path, headers=AUTH)
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["rule"] == "unavailable"
    assert response.headers["retry-after"] == str(getattr(error, "retry_after_s", RETRY_AFTER_S))
    assert notes.notes == []  # nothing read, nothing answered, nothing to audit


def test_the_facts_query_is_a_503_when_its_note_cannot_be_written():
    notes = InMemoryAuditNotes()
    notes.refuse()
    response = _client(facts=Facts(), audit_intake=notes).get(f"/v1/subjects/{SUBJECT}/facts",
                                                              headers=AUTH)
    assert response.status_code == 503 and response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.json()["errors"][0]["rule"] == "audit_unavailable"
    assert "query_id" not in response.text and notes.notes == []


# --- what hub/api depends on ---------------------------------------------------------------
# (no private imports and no import cycle: tests/unit/test_architecture.py, for the whole tree)

def _modules_imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_hub_api_does_not_import_the_publisher_sdk():
    assert len(list(API.glob("*.py"))) > 5
    offenders = [f"{path.name}: {module}" for path in sorted(API.glob("*.py"))
                 for module in _modules_imported(path) if module.split(".")[0] == "producers"]
    assert offenders == []
