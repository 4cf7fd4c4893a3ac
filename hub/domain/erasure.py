"""Erasing one person (PIPL art. 47): what may be erased, and what the departments are told.

``hub erase SUBJECT --basis "…"`` destroys the person's keys (crypto-shredding: their fields on the
event topics no longer open, in any copy of the log) and tells every department that received
their data, with an ERASURE work item per item received, to delete or anonymise its own copy.
This module is the pure part of it:

- :func:`request_problems` — a request names an identifier and a basis; the basis is kept in the
  audit trail forever, so it is bounded and may not hold an identifier itself.
- :class:`LegalHold` / :func:`hold_refusal` — a law that keeps a registration overrides the
  request. Each event type has a hold (years after the event was recorded, or permanent); while
  any of the person's registrations is under one, the erasure is refused as a whole, naming the
  type and its basis, and nothing is written. As a whole, because a person has one key per
  publisher for all their events: erasing it for one registration erases it for all.
- :func:`erasure_items` — the ERASURE items: one per item of data the person's cases sent (a new
  registration or a correction; annulments carried no fields), deterministic ids so that running
  the erasure again (after an interruption) sends the same items, which agencies apply once.

No Kafka, no files: :mod:`hub.erasure.run` reads the cases and keys and writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.case import CaseState
from hub.domain.departments import Department
from hub.domain.redaction import is_identifier_shaped, redact
from hub.domain.routing import ItemChange, WorkItem

ERASURE_NAMESPACE = uuid.UUID("0c5f3f5e-2b51-4a53-9d0e-5be4cbd1a2f0")
# An ERASURE item is an ANNULMENT whose event_type is this: the inbox schema is held
# FULL_TRANSITIVE, and a new change symbol would be one an agency built before it cannot read
# (the registry refuses it). As an annulment, such an agency at least annuls the registration;
# one that knows erasure (the reference agencies) erases its data.
ERASED_EVENT_TYPE = "subject_erased"
# PIPL art. 47 asks for erasure "in time"; the departments get 15 days to act on the item.
ERASURE_DEADLINE = timedelta(days=15)
BASIS_MIN, BASIS_MAX = 4, 200


@dataclass(frozen=True)
class LegalHold:
    """How long the law keeps a registration of one event type: ``years`` after it was recorded,
    or for good (``years`` None); ``basis`` says which law."""

    years: int | None
    basis: str

    def holds(self, recorded_at: datetime, now: datetime) -> bool:
        if self.years is None:
            return True
        return now < recorded_at + timedelta(days=round(365.25 * self.years))

    def __str__(self) -> str:
        kept = "permanently" if self.years is None else f"for {self.years} years"
        return f"kept {kept} ({self.basis})"


# The hub's defaults: civil-status registrations are archives the civil affairs and health
# departments keep for good; an organisation's registration names its legal representative as
# part of the organisation's record, and a pension approval is a person's own file, which the
# citizen may ask to have erased from the exchange (the departments keep their own files under
# their own law). The province's counsel sets these: ``HUB_ERASURE_HOLDS``.
DEFAULT_HOLDS: dict[str, LegalHold] = {
    "marriage_registered": LegalHold(None, "婚姻登记档案管理办法: marriage registration files are kept permanently"),
    "birth_certified": LegalHold(None, "出生医学证明管理办法: birth certificate records are kept permanently"),
    "death_certified": LegalHold(None, "户口登记条例: a deregistration is part of the household register"),
}


def holds_from_settings(overrides: Mapping[str, str | int | None]) -> dict[str, LegalHold]:
    """The defaults, with the operator's ``event type → years`` (``"permanent"``, or 0 for no
    hold) put over them. Raises ValueError naming the entry and the rule."""
    holds = dict(DEFAULT_HOLDS)
    for event_type, value in overrides.items():
        if value in (0, "0"):
            holds.pop(event_type, None)
        elif value in (None, "permanent"):
            holds[event_type] = LegalHold(None, "set by the operator")
        elif isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            holds[event_type] = LegalHold(int(value), "set by the operator")
        else:
            raise ValueError(f"erasure hold of {event_type}: must be a number of years or "
                             f"'permanent' (got {value!r})")
    return holds


def request_problems(subject_id: str, basis: str) -> list[str]:
    """What is wrong with an erasure request, each naming the field and the rule (no value)."""
    problems = []
    if not is_identifier_shaped(subject_id.strip()):
        problems.append("SUBJECT_ID: must be an identity number, credit code or certificate number")
    text = basis.strip()
    if not BASIS_MIN <= len(text) <= BASIS_MAX:
        problems.append(f"--basis: must be {BASIS_MIN} to {BASIS_MAX} characters (the request's "
                        "legal ground, e.g. 'PIPL art. 47(1): purpose achieved')")
    elif redact(text, BASIS_MAX + 1) != text or subject_id.strip() in text:
        problems.append("--basis: must not contain an identifier (it is kept in the audit trail "
                        "forever); give the legal ground only")
    return problems


def hold_refusal(cases: Iterable[CaseState], holds: Mapping[str, LegalHold], now: datetime) -> str | None:
    """Why the law keeps this person's data (the first held registration), or None."""
    for case in sorted(cases, key=lambda c: (c.opened_at or now, c.case_id)):
        hold = holds.get(case.event_type)
        if hold is not None and case.opened_at is not None and hold.holds(case.opened_at, now):
            return (f"refused: the subject has a {case.event_type} registration of "
                    f"{case.opened_at:%Y-%m-%d}, {hold}; nothing was erased")
    return None


def erasure_id(subject_ref: str) -> str:
    """The erasure's id, from the person's pseudonym: the same for every run of one erasure."""
    return str(uuid.uuid5(ERASURE_NAMESPACE, f"erasure/{subject_ref}"))


def is_erasure(item: WorkItem) -> bool:
    """Whether ``item`` is an ERASURE item (see :data:`ERASED_EVENT_TYPE`)."""
    return item.change is ItemChange.ANNULMENT and item.event_type == ERASED_EVENT_TYPE


def erasure_items(cases: Iterable[CaseState], erasure: str, requested_at: datetime) -> list[WorkItem]:
    """An ERASURE item for each item that carried the person's data to a department."""
    items = []
    for case in cases:
        for state in case.items.values():
            if state.change not in (ItemChange.NEW.value, ItemChange.CORRECTION.value):
                continue
            department = Department(state.department)
            items.append(WorkItem(
                item_id=str(uuid.uuid5(ERASURE_NAMESPACE, f"{erasure}/{state.item_id}")),
                case_id=case.case_id, event_id=erasure, event_type=ERASED_EVENT_TYPE,
                item=state.item, name_zh=state.name_zh, name_en=state.name_en, department=department,
                change=ItemChange.ANNULMENT, refers_to_item_id=state.item_id,
                requested_at=requested_at, deadline_at=requested_at + ERASURE_DEADLINE,
                grants=[], data={}))
    return sorted(items, key=lambda i: (i.department.value, i.case_id, i.item_id))
