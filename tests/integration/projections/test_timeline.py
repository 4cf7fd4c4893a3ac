"""Who has my data and why, on the real stack: the subject timeline, built from the audit trail
alone, against what actually reached the departments' inboxes and their registers.

Expectations come from the hub's own topics (routing log, inboxes, outcomes) and the reference
agencies' SQLite registers, never from the audit trail the timeline is built from.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub.security.pseudonym_keys import load_pseudonyms
from hub.api.app import create_app
from hub.audit.intake import KafkaAuditIntake
from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
from hub.memory.audit_notes import InMemoryAuditNotes
from hub.cli.app import app as cli
from hub.domain.audit_entries import FactQueryNote, QueriedField, iso
from hub.domain.outcomes import Outcome
from hub.kafka.topic_names import TopicNames
from hub.projections.timeline import TimelineProjection
from hub.wire.serde import model_deserializer
from tests.integration.audited_flow import audited_flow, hub_env
from tests.integration.flow_helpers import inbox_items, open_agencies, read_all, routing_decisions


def _recipients(timeline: dict) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r["department"], r["item_id"], tuple(f["field"] for f in r["fields"]))
            for r in timeline["recipients"]}


def test_the_timeline_shows_what_each_department_actually_received(settings, clients, tmp_path: Path):
    queried = {}
    pseudonyms = load_pseudonyms(settings.resolved_pseudonym_keys_file)

    def ask_about_a_subject() -> None:
        subject = routing_decisions(settings)[0].subject_ids[0]
        queried.update(subject=subject, note=FactQueryNote(
            query_id=str(uuid.uuid4()), at=datetime.now(timezone.utc), department="PROVIDENT_FUND",
            subject_ref=pseudonyms.of(subject), allowed=True,
            fields=[QueriedField(event_type="marriage_registered", field="payload.registered_on",
                                 basis="《住房公积金管理条例》第二十四条")]))
        intake = KafkaAuditIntake(clients)
        intake.post(queried["note"])
        intake.close()

    receipts = audited_flow(settings, tmp_path, count=12, seed=21, before_idle=ask_about_a_subject)

    # what the hub's own topics say happened
    decisions = routing_decisions(settings)
    assert {d.event_id for d in decisions} == {r.event_id for r in receipts}
    cases_of: dict[str, set[str]] = {}
    for d in decisions:
        for subject in d.subject_ids:
            cases_of.setdefault(subject, set()).add(d.case_id)
    inboxes = inbox_items(settings)
    names = TopicNames(settings.topic_prefix)
    decode = model_deserializer(clients.registry, "Outcome", Outcome)
    outcomes = [decode(r.value, r.topic) for t in names.all_outcomes() for r in read_all(settings, t)]

    # The chain names subjects by pseudonym: no subject's number is anywhere in it.
    trail = b"".join(r.value for r in read_all(settings, names.audit))
    assert trail and not [s for s in cases_of if s.encode() in trail]
    timeline = TimelineProjection(clients, tmp_path / "timeline.sqlite")
    timeline.catch_up()
    assert timeline.skipped == 0
    assert len(cases_of) >= 12  # several subjects: every one of them is checked
    with open_agencies(tmp_path) as agencies:
        for subject, case_ids in cases_of.items():
            got = timeline.subject_timeline(subject, pseudonyms.lookup_keys(subject))
            # the events: the decisions about the subject, and no other
            assert {(e["event_id"], e["case_id"], e["decision"]) for e in got["events"]} == {
                (d.event_id, d.case_id, d.kind.value) for d in decisions if d.case_id in case_ids}

            # the recipients: exactly the work items that reached an inbox, with their fields …
            sent = [(rec, item) for pairs in inboxes.values() for rec, item in pairs
                    if item.case_id in case_ids]
            assert sent, f"no inbox item for {subject}"
            assert _recipients(got) == {(i.department.value, i.item_id, tuple(sorted(i.data)))
                                        for _, i in sent}
            # … and exactly what the agencies' registers hold from those cases
            registered = {(d.value, reg.item_id, tuple(sorted(reg.data)))
                          for d, agency in agencies.items() for c in case_ids
                          for reg in agency.find_by_case(c)}
            assert _recipients(got) == registered

            by_item = {r["item_id"]: r for r in got["recipients"]}
            for rec, item in sent:
                entry = by_item[item.item_id]
                # when: the inbox record's own timestamp; why: the basis of the rule's grant
                assert entry["sent_at"] == iso(datetime.fromtimestamp(rec.timestamp / 1000, timezone.utc))
                grants = {g.field: g.basis for g in item.grants}
                for f in entry["fields"]:
                    parent = max((g for g in grants if f["field"] == g or f["field"].startswith(g + ".")),
                                 key=len)
                    assert f["basis"] == grants[parent]
                # the outcomes: those on the outcomes topic; the reference the agency filed it under
                assert {(o["status"], o["reference"], o["reason"]) for o in entry["outcomes"]} == {
                    (o.status.value, o.reference, o.reason) for o in outcomes if o.item_id == item.item_id}
                assert entry["status"] == "COMPLETED"
                [reference] = [o["reference"] for o in entry["outcomes"] if o["status"] == "COMPLETED"]
                assert agencies[item.department].get(item.item_id).reference == reference

            # the departments that hold the subject's data
            assert {d["department"] for d in got["departments"]} == {i.department.value for _, i in sent}

    # the fact query about one subject is on its timeline, and only on its
    subject, note = queried["subject"], queried["note"]
    [query] = timeline.subject_timeline(subject, pseudonyms.lookup_keys(subject))["fact_queries"]
    assert (query["query_id"], query["department"], query["allowed"]) == (note.query_id, "PROVIDENT_FUND", True)
    assert query["fields"] == [f.model_dump() for f in note.fields]
    assert all(not timeline.subject_timeline(s, pseudonyms.lookup_keys(s))["fact_queries"]
               for s in cases_of if s != subject)

    # the same answer from `hub audit subject --json` and from GET /v1/audit/subjects/{id}
    expected = timeline.subject_timeline(subject, pseudonyms.lookup_keys(subject))
    result = CliRunner().invoke(cli, ["audit", "subject", subject, "--json"],
                                env=hub_env(settings, tmp_path / "state"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected
    text = CliRunner().invoke(cli, ["audit", "subject", subject], env=hub_env(settings, tmp_path / "state"))
    assert text.exit_code == 0 and "Who has the data, and why:" in text.stdout
    # An auditor's token: it sees the whole timeline (a department sees only its own share).
    tokens = TokenStore([TokenRecord(role=Role.AUDITOR, sha256=token_hash("t"),
                                     issued_at=datetime.now(timezone.utc))])
    api = TestClient(create_app(settings, tokens, lambda d: None, timeline=timeline,
                                audit_intake=InMemoryAuditNotes()))
    response = api.get(f"/v1/audit/subjects/{subject}", headers={"Authorization": "Bearer t"})
    assert response.status_code == 200 and response.json() == expected
    timeline.close()
