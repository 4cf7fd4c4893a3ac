"""Events, routing decisions, work items and audit contents for the tests, built exactly as the
hub builds them: a generated submission is sealed by its owner, turned into its wire record
(``{"envelope": ..., "payload": ...}``) and routed with the real rules file; audit contents come
from the real entry builders.

Shared by the unit tests of the adapters, projections and HTTP routes and by the contract
suites (``tests/contract/``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from tests.factories import sealed_record
from hub.domain.audit_entries import (
    FactQueryNote,
    ReplayNote,
    decision_entry,
    item_entry,
    note_entry,
    outcome_entry,
    source,
)
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.pseudonyms import Pseudonyms
from hub.domain.routing import DecisionKind, RoutingDecision, WorkItem, decision_for, route
from hub.rules import load_rules
from producers.demo_data import generate

RULES = load_rules()
T0 = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)
# The audit trail names subjects by pseudonym; the tests' key is fixed, so trails are repeatable.
PSEUDONYMS = Pseudonyms({"t1": bytes(range(32))}, "t1")


def about(reader, subject: str) -> dict:
    """``subject``'s timeline from ``reader``, found by its pseudonyms as the API and CLI find it."""
    return reader.subject_timeline(subject, PSEUDONYMS.lookup_keys(subject))


def sealed(event_type: EventType, submission: dict, department: Department | None = None) -> dict:
    """The wire record of ``submission`` sealed by ``department`` (the event type's owner)."""
    return sealed_record(event_type, submission, department=department)


def event_of(event_type: EventType, seed: int = 1, **payload_changes) -> dict:
    """A generated event of ``event_type`` (``seed`` picks the people), payload fields replaced."""
    submission = generate(event_type, random.Random(seed))
    submission["payload"].update(payload_changes)
    return sealed(event_type, submission)


def change_of(original: dict, kind: str, **payload_changes) -> dict:
    """A CORRECTION or ANNULMENT of ``original`` (its full payload, changes applied)."""
    event_type = EventType(original["envelope"]["event_type"])
    payload = CATALOGUE[event_type].payload_model.model_validate(original["payload"])
    submission = {"payload": {**payload.model_dump(mode="json"), **payload_changes},
                  "occurred_at": original["envelope"]["occurred_at"].isoformat(),
                  "refers_to": {"event_id": original["envelope"]["event_id"], "change_kind": kind}}
    return sealed(event_type, submission)


def held_marriage(seed: int, documents: list[str]) -> tuple[dict, str]:
    """A marriage accepted with ``documents`` missing (容缺受理), and its first spouse's id."""
    submission = generate(EventType.MARRIAGE_REGISTERED, random.Random(seed))
    submission["pending_documents"] = documents
    held = sealed(EventType.MARRIAGE_REGISTERED, submission)
    return held, held["payload"]["spouse_a"]["id_number"]


def supplement(held: dict, subject: str, *documents: str) -> dict:
    """The 补齐材料 event that brings ``documents`` of ``held``."""
    return sealed(EventType.DOCUMENTS_SUPPLEMENTED, {
        "occurred_at": held["envelope"]["occurred_at"],
        "payload": {"supplements_event_id": held["envelope"]["event_id"], "subject_id": subject,
                    "documents": list(documents)}}, Department.CIVIL_AFFAIRS)


def decided(event: dict, kind: DecisionKind = DecisionKind.ROUTED,
            pending: list[str] | None = None) -> tuple[RoutingDecision, list[WorkItem]]:
    """The router's decision about ``event`` and the work items it sends (or holds)."""
    items = route(event, RULES)
    return decision_for(event, kind, items, pending), items


def routed(event_type: EventType, seed: int, refers_to: dict | None = None,
           routed_before: set[tuple[str, str]] | None = None) -> list[WorkItem]:
    submission = generate(event_type, random.Random(seed))
    if refers_to:
        submission["refers_to"] = refers_to
    return route(sealed(event_type, submission), RULES, routed_before)


def items(count: int, event_type: EventType = EventType.MARRIAGE_REGISTERED) -> list[WorkItem]:
    """``count`` distinct work items (first item of each routed event, seeds 1..count)."""
    return [routed(event_type, seed)[0] for seed in range(1, count + 1)]


def correction_of(original: WorkItem) -> WorkItem:
    """A CORRECTION work item for the same department and item as ``original``."""
    refers = {"event_id": original.event_id, "change_kind": "CORRECTION"}
    before = {(original.department.value, original.item)}
    corrected = routed(EventType(original.event_type), 99, refers, before)
    return next(i for i in corrected if (i.department, i.item) == (original.department, original.item))


def marriage_audit() -> tuple[list[tuple[int, dict]], RoutingDecision, list[WorkItem]]:
    """The audit trail of a marriage (two subjects) routed to two departments, sent, delivered and
    completed; one item replayed; a refused fact query about spouse A; an unrelated death
    certificate — as ``(partition, content)`` in the order the auditor chains them, with the
    marriage's decision and items."""

    def src(n: int) -> dict:
        return source("p.routing", 0, n)

    decision, items = decided(event_of(EventType.MARRIAGE_REGISTERED, 1))
    trail = [(1, decision_entry(decision, src(0), PSEUDONYMS.of))]
    for n, item in enumerate(items):
        delivered = Outcome.for_item(item, OutcomeStatus.DELIVERED, T0 + timedelta(seconds=3))
        completed = Outcome.for_item(item, OutcomeStatus.COMPLETED, T0 + timedelta(seconds=4),
                                     reference=f"REF-{n}")
        trail += [(1, item_entry(item, src(n), T0 + timedelta(seconds=1 + n))),
                  (1, outcome_entry(delivered, src(10 + n))), (1, outcome_entry(completed, src(20 + n)))]
    replay = ReplayNote(replay_id="r-1", requested_by="ops@hub", at=T0 + timedelta(hours=1),
                        window_from=T0 - timedelta(days=1), window_to=T0 + timedelta(days=1),
                        target="inbox", read=10, matched=1, emitted=1)
    query = FactQueryNote(query_id="q-1", at=T0 + timedelta(hours=2), department="TAX",
                          subject_ref=PSEUDONYMS.of(decision.subject_ids[0]), allowed=False, reason="no grant")
    other, other_items = decided(event_of(EventType.DEATH_CERTIFIED, 2))
    trail += [(1, item_entry(items[0], src(30), T0 + timedelta(minutes=59), replay_id="r-1")),
              (2, note_entry(replay, src(31))), (0, note_entry(query, src(32))),
              (2, decision_entry(other, src(40), PSEUDONYMS.of)), (2, item_entry(other_items[0], src(41), T0))]
    return trail, decision, items
