"""The timeline projection's own behaviour, on audit records built by the real entry builders,
and the timeline's text rendering.

Records are shaped like Kafka's (topic, partition, offset, key, value) and applied directly to a
projection in ``tmp_path``: no broker, no registry. What every timeline reader answers (the
recipients, fields, bases and outcomes of a subject; skipping unknown content) is the contract in
``tests/contract/test_timeline_reader.py``.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from hub.audit.codec import encode_record
from hub.cli.audit_views import timeline_lines
from hub.config import HubSettings
from hub.domain.audit import GENESIS, AuditRecord
from hub.domain.audit_entries import decision_entry, item_entry, source
from hub.domain.timeline import basis_of
from hub.memory import InMemoryClients
from hub.projections.timeline import TimelineProjection
from tests.builders import PSEUDONYMS, T0, about, marriage_audit


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


@pytest.fixture
def projection(tmp_path):
    clients = InMemoryClients(HubSettings(state_dir=tmp_path, topic_prefix="p"))
    proj = TimelineProjection(clients, tmp_path / "t.sqlite")
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
    """The records of :func:`~tests.builders.marriage_audit`, with its decision and items."""
    trail = Trail()
    contents, decision, items = marriage_audit()
    for partition, content in contents:
        trail.add(content, partition)
    return trail, decision, items


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
    broken = decision_entry(decision, source("p.routing", 0, 99), PSEUDONYMS.of)
    del broken["subject_refs"]
    trail.add(broken)
    trail.add(item_entry(items[0], source("p.routing", 0, 100), T0))  # a good record after the bad ones
    apply(projection, trail.records)
    assert projection.skipped == 4
    assert "timeline skips p.audit[0]@" in caplog.text
    assert len(about(projection, decision.subject_ids[0])["recipients"]) == 2


def test_basis_is_the_longest_matching_grant():
    grants = [{"field": "payload.a", "basis": "general"}, {"field": "payload.a.b", "basis": "specific"}]
    assert basis_of("payload.a.b", grants) == "specific"
    assert basis_of("payload.a.b.c", grants) == "specific"
    assert basis_of("payload.a.c", grants) == "general"
    assert basis_of("payload.ab", grants) is None


def test_the_text_rendering_names_departments_fields_and_outcomes(projection):
    trail, decision, items = marriage_trail()
    apply(projection, trail.records)
    text = "\n".join(timeline_lines(about(projection, decision.subject_ids[0])))
    assert "Who has the data, and why:" in text
    assert "PROVIDENT_FUND (" in text and "《住房公积金管理条例》第二十四条" in text
    assert "REF-0" in text and "replayed" in text and "refused (no grant)" in text
    assert timeline_lines(about(projection, "nobody")) == ["nobody: no audited data about this subject"]


def test_the_timeline_is_json_serialisable(projection):
    trail, decision, _ = marriage_trail()
    apply(projection, trail.records)
    body = about(projection, decision.subject_ids[0])
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body
