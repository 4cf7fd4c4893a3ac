"""What each audit record says: one builder per kind of fact the hub must be able to prove.

Contents are JSON-native (ISO 8601 UTC strings, no floats) so the hash computed when a record is
written equals the hash recomputed from its JSON by any auditor. Entries name fields and their
legal basis, never their values: the audit trail proves who received which data and why without
becoming a second copy of the data. Subjects are named by their keyed pseudonym
(:mod:`hub.domain.pseudonyms`: ``subject_refs``), never by the number, because the chain is kept
forever and cannot be edited; free text (an agency's reason, a replay's error) is masked and
bounded. Records written before pseudonyms carry ``subject_ids`` in clear; readers accept both.

Kinds:
- ``routing_decision`` — the router decided a case's items (fields and basis per department);
- ``item_sent`` — a work item was written to a department's inbox (``replay_id`` when replayed);
- ``outcome`` — a department reported DELIVERED/COMPLETED/REJECTED/FAILED, or the hub OVERDUE;
- ``replay`` — an operator replayed history (window, filters, target, counts);
- ``fact_query`` — a department queried a subject's facts (granted fields returned, or refused);
- ``personal_read`` — a token read cases or a timeline over HTTP (which, by whom; the subject
  asked about by pseudonym);
- ``erasure`` — an operator erased a person (``hub erase``): on which legal basis, how many keys
  were destroyed, which departments were sent ERASURE items.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.outcomes import Outcome
from hub.domain.redaction import redact
from hub.domain.routing import RoutingDecision, WorkItem


class AuditKind(StrEnum):
    ROUTING_DECISION = "routing_decision"
    ITEM_SENT = "item_sent"
    OUTCOME = "outcome"
    REPLAY = "replay"
    FACT_QUERY = "fact_query"
    PERSONAL_READ = "personal_read"
    ERASURE = "erasure"
    REDRIVE = "redrive"


# An agency's free text kept in the chain: enough to say why, too short to hold a document.
FREE_TEXT_LIMIT = 200
Pseudonym = Callable[[str], str]


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def source(topic: str, partition: int, offset: int) -> dict:
    """Where the audited fact is in the log: the proof points back to the record itself."""
    return {"topic": topic, "partition": partition, "offset": offset}


def _grants(grants) -> list[dict]:
    return [{"field": g.field, "basis": g.basis} for g in grants]


def bounded(text: str | None, limit: int = FREE_TEXT_LIMIT) -> str | None:
    """Free text fit for the chain: identity-shaped tokens masked, at most ``limit`` characters."""
    return None if text is None else redact(text, limit)


def decision_entry(decision: RoutingDecision, src: dict, pseudonym: Pseudonym) -> dict:
    """The router's decision; its subjects named by ``pseudonym`` (``Pseudonyms.of``)."""
    return {
        "kind": AuditKind.ROUTING_DECISION.value, "at": iso(decision.decided_at), "source": src,
        "case_id": decision.case_id, "event_id": decision.event_id,
        "event_type": decision.event_type, "source_department": decision.source_department,
        "subject_refs": [pseudonym(s) for s in decision.subject_ids], "decision": decision.kind.value,
        "change": decision.change.value, "pending_documents": list(decision.pending_documents),
        "items": [{"item_id": p.item_id, "department": p.department.value, "item": p.item,
                   "change": p.change.value, "deadline_at": iso(p.deadline_at),
                   "grants": _grants(p.grants)} for p in decision.items],
        # what the rules had for the event but was not shared, and why ("not shared: no consent")
        "withheld": [{"department": w.department.value, "item": w.item, "name_zh": w.name_zh,
                      "reason": w.reason} for w in decision.withheld],
    }


def item_entry(item: WorkItem, src: dict, written_at: datetime, replay_id: str | None = None) -> dict:
    """A work item reached a department's inbox: which fields it carried, under which basis."""
    return {
        "kind": AuditKind.ITEM_SENT.value, "at": iso(written_at), "source": src,
        "case_id": item.case_id, "event_id": item.event_id, "event_type": item.event_type,
        "item_id": item.item_id, "department": item.department.value, "item": item.item,
        "change": item.change.value, "grants": _grants(item.grants),
        "fields": sorted(item.data), "replay_id": replay_id,
    }


def outcome_entry(outcome: Outcome, src: dict) -> dict:
    return {
        "kind": AuditKind.OUTCOME.value, "at": iso(outcome.occurred_at), "source": src,
        "case_id": outcome.case_id, "event_id": outcome.event_id, "item_id": outcome.item_id,
        "department": outcome.department.value, "item": outcome.item,
        "status": outcome.status.value, "reference": outcome.reference,
        "reason": bounded(outcome.reason),
    }


class _Note(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplayNote(_Note):
    """Posted to the audit intake by ``hub replay`` when it finishes (or fails)."""

    kind: Literal["replay"] = "replay"
    replay_id: str = Field(min_length=1)
    requested_by: str = Field(min_length=1)
    at: datetime
    window_from: datetime
    window_to: datetime
    filters: dict[str, str | None] = {}
    target: str = Field(min_length=1, description="'inbox' or 'file:<path>'")
    dry_run: bool = False
    read: int = Field(ge=0)
    matched: int = Field(ge=0)
    emitted: int = Field(ge=0)
    status: Literal["completed", "failed"] = "completed"
    error: str | None = None


class QueriedField(_Note):
    event_type: str
    field: str
    basis: str


class FactQueryNote(_Note):
    """Posted to the audit intake by the facts API for every query, answered or refused."""

    kind: Literal["fact_query"] = "fact_query"
    query_id: str = Field(min_length=1)
    at: datetime
    department: str | None = Field(None, description="None when the token was unknown")
    subject_ref: str = Field(min_length=1, description="the subject asked about, by pseudonym")
    allowed: bool
    fields: list[QueriedField] = []
    reason: str | None = None


class ReadNote(_Note):
    """Posted to the audit intake by the HTTP API for every read of cases or of a timeline, before
    the answer leaves. Names the token, never the subject in clear."""

    kind: Literal["personal_read"] = "personal_read"
    read_id: str = Field(min_length=1)
    at: datetime
    token_id: str = Field(min_length=1)
    role: str = Field(min_length=1)
    department: str | None = None
    route: str = Field(min_length=1, description="'case', 'subject_cases' or 'subject_timeline'")
    subject_ref: str | None = Field(None, description="the subject asked about, by pseudonym")
    requested_case_id: str | None = None
    case_ids: list[str] = []
    disclosed: bool


class ErasureNote(_Note):
    """Posted to the audit intake by ``hub erase`` once the keys are destroyed and the ERASURE
    items are sent (a refused request writes nothing: it erased nothing)."""

    kind: Literal["erasure"] = "erasure"
    erasure_id: str = Field(min_length=1)
    at: datetime
    requested_by: str = Field(min_length=1)
    subject_ref: str = Field(min_length=1, description="the person erased, by pseudonym")
    basis: str = Field(min_length=1, max_length=FREE_TEXT_LIMIT)
    keys_erased: int = Field(ge=0)
    items_sent: int = Field(ge=0)
    departments: list[str] = []


class RedriveNote(_Note):
    """Posted to the audit intake by ``hub dlq redrive`` and the console's re-drive once parked
    records are sent back to their source topics: which letters, by whom, from where."""

    kind: Literal["redrive"] = "redrive"
    redrive_id: str = Field(min_length=1)
    at: datetime
    requested_by: str = Field(min_length=1)
    via: Literal["cli", "console"]
    dead_letter_ids: list[str] = []
    sent: int = Field(ge=0)
    gone: int = Field(ge=0, description="letters whose record is past its topic's retention")


Note = ReplayNote | FactQueryNote | ReadNote | ErasureNote | RedriveNote


def note_entry(note: Note, src: dict) -> dict:
    """The audit content of a note taken from the intake topic."""
    body = note.model_dump(mode="json")
    for key in ("at", "window_from", "window_to"):
        if key in body:
            body[key] = iso(getattr(note, key))
    if isinstance(note, FactQueryNote | ErasureNote):
        body["subject_refs"] = [body.pop("subject_ref")]
    if isinstance(note, ErasureNote):
        body["basis"] = bounded(body["basis"])
    if body.get("error") is not None:
        body["error"] = bounded(body["error"], 500)
    return {**body, "source": src}
