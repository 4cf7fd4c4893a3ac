"""The timeline projection and its assembly, on audit records built by the real entry builders.

Records are shaped like Kafka's (topic, partition, offset, key, value) and applied directly to a
projection in ``tmp_path``: no broker, no registry.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from hub.kafka.clients import Clients
from hub.audit.codec import encode_record
from hub.cli.timeline import timeline_lines
from hub.config import HubSettings
from hub.domain.audit import GENESIS, AuditRecord
from hub.domain.audit_entries import (
    FactQueryNote,
    QueriedField,
    ReplayNote,
    decision_entry,
    item_entry,
    note_entry,
    outcome_entry,
    source,
)
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, decision_for, route
from hub.domain.sealing import seal
from hub.domain.timeline import basis_of, is_empty, subject_timeline
from hub.projections.timeline import TimelineProjection
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)


class Trail:
    """An audit topic in memory: chained records per partition, as the auditor writes them."""

    def __init__(self, topic: str = "p.audit", partitions: int = 3):
        self.topic, self.partitions = topic, partitions
        self.heads = {p: GENESIS for p in range(partitions)}
        self.records: list[SimpleNamespace] = []

    def raw(self, partition: int, value: bytes | None, key: bytes = b"k") -> SimpleNamespace:
        offset = sum(1 for r in self.records if r.partition == partition)
        rec = SimpleNamespace(topic=self.topic, partition=partition, offset=offset, key=key,
                              value=value, timestamp=0, headers=[])
        self.records.append(rec)
        return rec

    def add(self, content: dict, partition: int = 0) -> SimpleNamespace:
        record = AuditRecord.after(self.heads[partition], content)
        self.heads[partition] = record.hash
        return self.raw(partition, encode_record(record))


def routed(event_type: EventType, seed: int):
    spec = CATALOGUE[event_type]
    event = event_to_record(seal(spec, spec.owner, generate(spec.event_type, random.Random(seed))))
    items = route(event, load_rules())
    return decision_for(event, DecisionKind.ROUTED, items), items


def src(n: int) -> dict:
    return source("p.routing", 0, n)


@pytest.fixture
def projection(tmp_path):
    proj = TimelineProjection(Clients(HubSettings(state_dir=tmp_path, topic_prefix="p")), tmp_path / "t.sqlite")
    yield proj
    proj.close()


def apply(projection: TimelineProjection, records) -> None:
    conn = projection.connection()
    conn.execute("BEGIN IMMEDIATE")
    for rec in records:
        projection.apply(conn, rec)
    projection.flush(conn)
    conn.execute("COMMIT")


def marriage_trail():
    """A marriage (two subjects) routed to two departments, sent, completed; one item replayed,
    one rejected elsewhere; a fact query about spouse A; an unrelated death certificate."""
    trail = Trail()
    decision, items = routed(EventType.MARRIAGE_REGISTERED, 1)
    trail.add(decision_entry(decision, src(0)), partition=1)
    for n, item in enumerate(items):
        trail.add(item_entry(item, src(n), T0 + timedelta(seconds=1 + n)), partition=1)
        trail.add(outcome_entry(Outcome.for_item(item, OutcomeStatus.DELIVERED, T0 + timedelta(seconds=3)),
                                src(10 + n)), partition=1)
        trail.add(outcome_entry(Outcome.for_item(item, OutcomeStatus.COMPLETED, T0 + timedelta(seconds=4),
                                                 reference=f"REF-{n}"), src(20 + n)), partition=1)
    replay = ReplayNote(replay_id="r-1", requested_by="ops@hub", at=T0 + timedelta(hours=1),
                        window_from=T0 - timedelta(days=1), window_to=T0 + timedelta(days=1),
                        target="inbox", read=10, matched=1, emitted=1)
    trail.add(item_entry(items[0], src(30), T0 + timedelta(minutes=59), replay_id="r-1"), partition=1)
    trail.add(note_entry(replay, src(31)), partition=2)
    query = FactQueryNote(query_id="q-1", at=T0 + timedelta(hours=2), department="TAX",
                          subject_id=decision.subject_ids[0], allowed=False, reason="no grant")
    trail.add(note_entry(query, src(32)), partition=0)
    other, other_items = routed(EventType.DEATH_CERTIFIED, 2)
    trail.add(decision_entry(other, src(40)), partition=2)
    trail.add(item_entry(other_items[0], src(41), T0), partition=2)
    return trail, decision, items


def test_a_subject_timeline_names_every_recipient_field_basis_and_outcome(projection):
    trail, decision, items = marriage_trail()
    apply(projection, trail.records)
    spouse_a, spouse_b = decision.subject_ids
    timeline = projection.subject_timeline(spouse_a)

    assert timeline["subject_id"] == spouse_a
    [event] = timeline["events"]
    assert (event["event_id"], event["case_id"], event["decision"], event["event_type"]) == (
        decision.event_id, decision.case_id, "ROUTED", "marriage_registered")
    assert event["source_department"] == decision.source_department
    assert {i["item_id"] for i in event["items"]} == {w.item_id for w in items}

    by_item = {r["item_id"]: r for r in timeline["recipients"]}
    assert set(by_item) == {w.item_id for w in items}
    for n, work in enumerate(items):
        got = by_item[work.item_id]
        assert got["department"] == work.department.value and got["item"] == work.item
        assert [f["field"] for f in got["fields"]] == sorted(work.data)
        bases = {g.field: g.basis for g in work.grants}
        for f in got["fields"]:  # leaves of a granted object carry the object's basis
            assert f["basis"] == next(b for g, b in bases.items() if f["field"] == g
                                      or f["field"].startswith(g + "."))
        assert got["sent_at"] == f"2026-05-01T02:00:0{1 + n}.000Z"
        assert [(o["status"], o["reference"]) for o in got["outcomes"]] == [
            ("DELIVERED", None), ("COMPLETED", f"REF-{n}")]
        assert got["status"] == "COMPLETED"
    replayed = by_item[items[0].item_id]["replays"]
    assert [(r["replay_id"], r["requested_by"], r["target"]) for r in replayed] == [("r-1", "ops@hub", "inbox")]
    assert by_item[items[0].item_id]["sent_at"] == "2026-05-01T02:00:01.000Z"  # not the replay's time

    assert {d["department"] for d in timeline["departments"]} == {w.department.value for w in items}
    [query] = timeline["fact_queries"]
    assert (query["department"], query["allowed"], query["reason"]) == ("TAX", False, "no grant")

    # the other spouse: the same case, no query; an unrelated subject sees nothing of it
    other = projection.subject_timeline(spouse_b)
    assert other["recipients"] == timeline["recipients"] and other["fact_queries"] == []
    assert is_empty(projection.subject_timeline("nobody"))


def test_applying_the_same_records_again_changes_nothing(projection):
    trail, decision, _ = marriage_trail()
    apply(projection, trail.records)
    before = projection.dump()
    apply(projection, trail.records)  # e.g. a catch-up that re-read a batch
    apply(projection, trail.records[:5])
    assert projection.dump() == before
    assert projection.counts()["sent"] == 4 and projection.counts()["case_subjects"] == 3


def test_unreadable_records_are_skipped_and_counted_never_stalling(projection, caplog):
    trail, decision, items = marriage_trail()
    trail.raw(0, b"not json")
    trail.raw(0, None)
    trail.add({"kind": "something_new", "at": "2026-05-01T00:00:00.000Z"})
    broken = decision_entry(decision, src(99))
    del broken["subject_ids"]
    trail.add(broken)
    trail.add(item_entry(items[0], src(100), T0))  # a good record after the bad ones
    apply(projection, trail.records)
    assert projection.skipped == 4
    assert "timeline skips p.audit[0]@" in caplog.text
    assert len(projection.subject_timeline(decision.subject_ids[0])["recipients"]) == 2


def test_an_outcome_before_its_send_and_a_redelivered_outcome():
    """Order across source topics is not guaranteed; a repeated outcome is one fact."""
    decision, items = routed(EventType.DEATH_CERTIFIED, 3)
    item = items[0]
    completed = Outcome.for_item(item, OutcomeStatus.COMPLETED, T0 + timedelta(seconds=5), reference="X")

    def audit(content, n):
        return {**content, "audit": f"0@{n}"}

    timeline = subject_timeline(
        decision.subject_ids[0], [audit(decision_entry(decision, src(0)), 0)],
        sent=[],
        outcomes=[audit(outcome_entry(completed, src(1)), 1), audit(outcome_entry(completed, src(2)), 2)])
    [recipient] = timeline["recipients"]
    assert recipient["sent_at"] is None and recipient["fields"] == []
    assert [o["status"] for o in recipient["outcomes"]] == ["COMPLETED"]


def test_basis_is_the_longest_matching_grant():
    grants = [{"field": "payload.a", "basis": "general"}, {"field": "payload.a.b", "basis": "specific"}]
    assert basis_of("payload.a.b", grants) == "specific"
    assert basis_of("payload.a.b.c", grants) == "specific"
    assert basis_of("payload.a.c", grants) == "general"
    assert basis_of("payload.ab", grants) is None


def test_the_text_rendering_names_departments_fields_and_outcomes(projection):
    trail, decision, items = marriage_trail()
    apply(projection, trail.records)
    text = "\n".join(timeline_lines(projection.subject_timeline(decision.subject_ids[0])))
    assert "Who has the data, and why:" in text
    assert "PROVIDENT_FUND (" in text and "《住房公积金管理条例》第二十四条" in text
    assert "REF-0" in text and "replayed" in text and "refused (no grant)" in text
    assert timeline_lines(projection.subject_timeline("nobody")) == ["nobody: no audited data about this subject"]


def test_the_timeline_is_json_serialisable(projection):
    trail, decision, _ = marriage_trail()
    apply(projection, trail.records)
    body = projection.subject_timeline(decision.subject_ids[0])
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body
