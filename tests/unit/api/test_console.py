"""The operator console on the in-memory case view and audit intake: operator sign-in with a
session cookie (never the token), today's figures, case search and timeline — audited — and
refusals for other tokens, other origins and no session."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.console.sessions import COOKIE
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.kafka.lag import PartitionLag
from hub.memory import InMemoryAuditNotes
from tests.unit.api.test_case_routes import NOW, TOKENS, Hub

ORIGIN = {"Origin": "http://testserver"}


def _console(broker=None):
    hub, notes = Hub(), InMemoryAuditNotes()
    client = TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                   cases=hub.cases, audit_intake=notes, broker_figures=broker))
    return hub, notes, client


def _signed_in(client: TestClient, token: str = "ops"):
    return client.post("/console/login", data={"token": token}, headers=ORIGIN, follow_redirects=False)


def test_an_operator_signs_in_and_the_browser_holds_a_session_not_the_token():
    _, _, client = _console()
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    answer = _signed_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "ops" not in cookie.split(";")[0].split("=", 1)[1]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert client.get("/console").status_code == 200
    client.post("/console/logout", headers=ORIGIN)
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_other_tokens_other_origins_and_forged_sessions_are_refused():
    _, _, client = _console()
    for token, why in (("police", "operator tokens"), ("audit", "operator tokens"), ("nope", "unknown"),
                       ("old", "expired"), ("gone", "revoked")):
        answer = _signed_in(client, token)
        assert answer.status_code == 401 and why.split()[0] in answer.text, token
    assert client.post("/console/login", data={"token": "ops"}).status_code == 403  # no Origin
    assert client.post("/console/login", data={"token": "ops"},
                       headers={"Origin": "http://evil.example"}).status_code == 403
    client.cookies.set(COOKIE, "made-up", path="/console")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_today_shows_trips_saved_the_on_time_rate_lag_and_dead_letters():
    lags = [PartitionLag("oncehub.agency.tax", "oncehub.inbox.tax", 0, committed=1, end=4)]
    _, _, client = _console(broker=lambda: (lags, {"oncehub.dlq": 2, "oncehub.dlq.tax": 0}))
    _signed_in(client)
    html = client.get("/console").text
    # the marriage: the provident fund completed its item (one trip saved), public security refused its own
    assert 'id="trips-saved-all"><div class="value">1<' in html
    assert "PROVIDENT_FUND" in html and "PUBLIC_SECURITY" in html
    assert "oncehub.agency.tax</td><td class=\"num\">3" in html
    assert 'id="dead-letters"><div class="value error">2<' in html


def test_case_search_and_timeline_are_audited_reads():
    hub, notes, client = _console()
    _signed_in(client)
    found = client.get("/console/cases", params={"q": hub.spouse_a}).text
    assert hub.case_id in found
    page = client.get(f"/console/cases/{hub.case_id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "HPF-778899" in page.text and "not in this household" in page.text
    routes = [n.route for n in notes.notes]
    assert routes == ["console_search", "console_case"]
    assert all(n.role == "operator" and n.case_ids == [hub.case_id] for n in notes.notes)
    assert hub.spouse_a not in str([n.model_dump() for n in notes.notes])  # pseudonymised
    assert client.get("/console/cases/no-such-case").status_code == 404


class _Desk:
    """A dead-letter desk holding two letters: a parked event (re-drivable) and an agency's item."""

    def __init__(self):
        from datetime import datetime, timezone

        from hub.domain.dead_letters import DeadLetter

        at = datetime(2026, 6, 1, tzinfo=timezone.utc)
        self.event = DeadLetter.of(stage="router", error=ValueError("no such case"), topic="p.events.x",
                                   partition=0, offset=7, parked_at=at)
        self.item = DeadLetter.of(stage="inbox:TAX", error=ValueError("agency down"), topic="p.inbox.tax",
                                  partition=1, offset=3, parked_at=at)
        self.calls = []

    def letters(self):
        return [self.event, self.item]

    def redrivable(self, letter):
        return letter is self.event

    def redrive(self, ids, requested_by):
        from hub.kafka.dead_letters import Redriven

        self.calls.append((ids, requested_by))
        return Redriven(len(ids), [])


def test_the_dead_letter_page_redrives_the_chosen_letters_and_says_so():
    hub, desk = Hub(), _Desk()
    client = TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                   cases=hub.cases, audit_intake=InMemoryAuditNotes(), dead_letters=desk))
    _signed_in(client)
    page = client.get("/console/dead-letters").text
    assert desk.event.dead_letter_id in page and "no such case" in page
    assert f'value="{desk.item.dead_letter_id}"' not in page  # an agency's item: the operator's CLI
    assert client.post("/console/dead-letters/redrive", data={"id": desk.event.dead_letter_id}).status_code == 403
    done = client.post("/console/dead-letters/redrive", data={"id": desk.event.dead_letter_id}, headers=ORIGIN)
    assert done.status_code == 200 and 'id="redriven"' in done.text and "Sent back to their source topics: 1" in done.text
    assert desk.calls == [([desk.event.dead_letter_id], "token:id-ops")]


class _Operations:
    def __init__(self):
        self.replays = []

    def verify(self):
        from hub.domain.audit import Verdict

        return Verdict(ok=True, count=12, heads={0: (11, "ab" * 32)}), {(0, 5): "cd" * 32}

    def dry_run(self, window, requested_by):
        self.replays.append((window, requested_by))
        return [f"replay r-1 completed: [{window.start.isoformat()}, {window.end.isoformat()}) -> inbox (dry run)"]


def test_the_audit_chain_is_verified_on_request_and_a_replay_dry_run_reports_its_summary():
    hub, ops = Hub(), _Operations()
    client = TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                   cases=hub.cases, audit_intake=InMemoryAuditNotes(), operations=ops))
    _signed_in(client)
    assert 'id="verify"' in client.get("/console/audit").text
    assert client.post("/console/audit").status_code == 403  # no Origin
    verified = client.post("/console/audit", headers=ORIGIN).text
    assert "OK: 12 audit record(s) verified" in verified and "ab" * 32 in verified and "cd" * 32 in verified
    ran = client.post("/console/replay", data={"from": "2026-06-01T00:00", "to": "2026-06-02T00:00+08:00"},
                      headers=ORIGIN)
    assert ran.status_code == 200 and "(dry run)" in ran.text
    [(window, who)] = ops.replays
    assert window.start.utcoffset().total_seconds() == 8 * 3600 and who == "token:id-ops"  # CST by default
    bad = client.post("/console/replay", data={"from": "yesterday", "to": "2026-06-02"}, headers=ORIGIN)
    assert bad.status_code == 422 and "not an ISO 8601" in bad.text and len(ops.replays) == 1


def test_a_subjects_data_trail_is_shown_from_the_audit_timeline_and_audited():
    from hub.memory import InMemoryTimeline
    from tests.unit.api.test_audit_routes import DECISION, SENT, SUBJECT

    hub, notes, trail = Hub(), InMemoryAuditNotes(), InMemoryTimeline()
    trail.add(DECISION, SENT, partition=1)  # a birth routed to public security, its item sent
    client = TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                   cases=hub.cases, audit_intake=notes, timeline=trail))
    _signed_in(client)
    page = client.get("/console/subjects", params={"q": SUBJECT})
    assert page.status_code == 200
    assert "PUBLIC_SECURITY" in page.text and "payload.child" in page.text and "《户口登记条例》第七条" in page.text
    [note] = notes.notes
    assert (note.route, note.case_ids) == ("console_subject_timeline", ["c-1"])
    assert SUBJECT not in note.model_dump_json()  # by pseudonym


def test_today_still_shows_the_cases_figures_when_the_broker_cannot_answer():
    def down():
        raise ConnectionError("broker unreachable")

    _, _, client = _console(broker=down)
    _signed_in(client)
    page = client.get("/console")
    assert page.status_code == 200 and "unavailable now (ConnectionError)" in page.text
    assert 'id="trips-saved-all"><div class="value">1<' in page.text
