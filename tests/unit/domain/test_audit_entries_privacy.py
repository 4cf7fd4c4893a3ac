"""What the audit chain keeps forever holds no identity number and no unbounded free text."""

from __future__ import annotations

import json

from hub.domain.audit import GENESIS, AuditRecord, StoredAudit, verify
from hub.domain.audit_entries import FactQueryNote, decision_entry, note_entry, outcome_entry, source
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from tests.builders import PSEUDONYMS, T0, decided, event_of


def test_a_decision_names_its_subjects_by_pseudonym_only():
    decision, _ = decided(event_of(EventType.MARRIAGE_REGISTERED, 1))
    entry = decision_entry(decision, source("p.routing", 0, 0), PSEUDONYMS.of)
    assert entry["subject_refs"] == [PSEUDONYMS.of(s) for s in decision.subject_ids]
    text = json.dumps(entry, ensure_ascii=False)
    assert "subject_ids" not in entry and not any(s in text for s in decision.subject_ids)


def test_an_agencys_reason_is_masked_and_bounded_and_its_reference_kept():
    decision, items = decided(event_of(EventType.MARRIAGE_REGISTERED, 1))
    subject = decision.subject_ids[0]
    outcome = Outcome.for_item(items[0], OutcomeStatus.REJECTED, T0, reference="AG-2026-001",
                               reason=f"{subject} already registered; " + "详" * 1000)
    entry = outcome_entry(outcome, source("p.outcomes.tax", 0, 0))
    assert subject not in entry["reason"] and entry["reason"].startswith(f"{subject[:6]}********")
    assert len(entry["reason"]) <= 201 and entry["reference"] == "AG-2026-001"


def test_a_fact_query_note_enters_the_chain_by_pseudonym():
    note = FactQueryNote(query_id="q", at=T0, department="TAX", subject_ref=PSEUDONYMS.of("X1"),
                         allowed=False, reason="no grant")
    entry = note_entry(note, source("p.audit.intake", 0, 1))
    assert entry["subject_refs"] == [PSEUDONYMS.of("X1")] and "subject_ref" not in entry


def test_a_chain_of_records_in_clear_followed_by_pseudonymous_ones_verifies():
    """Records written before pseudonyms stay as they are, and the chain goes on after them."""
    old, _ = decided(event_of(EventType.MARRIAGE_REGISTERED, 1))
    new, _ = decided(event_of(EventType.DEATH_CERTIFIED, 2))
    legacy = decision_entry(old, source("p.routing", 0, 0), PSEUDONYMS.of)
    legacy["subject_ids"] = list(old.subject_ids)
    del legacy["subject_refs"]
    stored, head = [], GENESIS
    for offset, content in enumerate([legacy, decision_entry(new, source("p.routing", 0, 1), PSEUDONYMS.of)]):
        record = AuditRecord.after(head, content)
        stored.append(StoredAudit(0, offset, record))
        head = record.hash
    verdict = verify(stored)
    assert verdict.ok and verdict.count == 2
