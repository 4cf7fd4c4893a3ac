"""A reference agency system: it completes work items in its own SQLite register.

``ReferenceAgency`` is a :data:`~hub.domain.outcomes.Handler`. It files each item under its own
reference number ``<prefix>-<year>-<6-digit sequence>`` (e.g. ``税登-2026-000001``), drawn from a
per-year sequence in its database, and answers :class:`Completed` or :class:`Rejected`.

Idempotent by item id: every decided item is written to ``changes`` in the same transaction as
its effect, so a redelivered item — also after a restart — gets the recorded answer again and
changes nothing. Changes to earlier items:

- CORRECTION of a known registration replaces its data, marks it CORRECTED and keeps its
  reference; the old data stays in ``changes``. A correction cannot revive an ANNULLED one.
- ANNULMENT marks the registration ANNULLED (its data is kept).
- An ANNULMENT from a 撤回同意 (``event_type`` consent_withdrawn: the item rested on the citizen's
  consent, now withdrawn) erases the registration's data and its history's (PIPL art. 47): the
  row stays, ANNULLED, with its reference and no personal data.
- An ERASURE (``hub erase``: the person was erased from the hub; an ANNULMENT whose
  ``event_type`` is ``subject_erased``) erases the same way, whatever the item rested on: the
  department keeps no copy of a person the hub no longer knows.
- If the agency never saw the original (it joined later, or the original was lost upstream),
  a correction is registered as new from the corrected data, and an annulment is recorded as an
  ANNULLED tombstone; both remember the original's item id (``origin_item_id``), so if the
  original arrives late it gets that reference and changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from consumers.reference_agencies import ledger
from consumers.reference_agencies.checks import CHECKS, first_refusal, subject_of
from consumers.reference_agencies.ledger import Registration
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.erasure import is_erasure
from hub.domain.identifiers import mask_id
from hub.domain.outcomes import Completed, HandlerResult, Rejected
from hub.domain.routing import ItemChange, WorkItem

log = logging.getLogger(__name__)

REFERENCE_PREFIXES: dict[Department, str] = {
    Department.TAX: "税登",
    Department.HUMAN_RESOURCES_SOCIAL_SECURITY: "社保",
    Department.MEDICAL_INSURANCE: "医保",
    Department.PROVIDENT_FUND: "公积金",
    Department.PUBLIC_SECURITY: "户政",
    Department.COMMERCE: "商务备",
}


# What a decision produced: the answer, the reference it concerns, and the ``changes`` outcome.
Decision = tuple[HandlerResult, str | None, str]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _refuse(reason: str) -> Decision:
    return Rejected(reason=reason), None, "REJECTED"


def _done(reference: str, outcome: str) -> Decision:
    return Completed(reference=reference), reference, outcome


class ReferenceAgency:
    """One department's system of record, reachable as a handler ``agency(item)``."""

    def __init__(self, department: Department, db_path: Path | str,
                 clock: Callable[[], datetime] = utc_now):
        self.department = Department(department)
        if self.department not in REFERENCE_PREFIXES:
            raise ValueError(f"{self.department.value} receives no follow-on items; "
                             f"reference agencies exist for {', '.join(REFERENCE_PREFIXES)}")
        self.prefix = REFERENCE_PREFIXES[self.department]
        self.checks = CHECKS.get(self.department, ())
        self.db_path = Path(db_path)
        self._clock = clock
        self._lock = threading.Lock()
        # One connection, serialised by the lock, so the inbox may call from any one thread;
        # autocommit mode so each decision is exactly one explicit BEGIN IMMEDIATE … COMMIT.
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None,
                                   timeout=10.0)
        ledger.create(self._db)

    def __repr__(self) -> str:
        return f"ReferenceAgency({self.department.value}, {str(self.db_path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the handler -------------------------------------------------------------------------
    def __call__(self, item: WorkItem) -> HandlerResult:
        """Complete or refuse ``item``; the same item always gets the same answer."""
        return self.handle_many([item])[0]

    def handle_many(self, items: Sequence[WorkItem]) -> list[HandlerResult]:
        """Decide ``items`` in order in one transaction (one commit for a poll's items): all
        recorded, or none if one raises. A repeated item gets its first answer."""
        for item in items:
            if item.department is not self.department:
                # A misrouted item is a hub bug, not a merit decision: fail loudly, never record it.
                raise ValueError(f"{self.department.value} agency got an item for {item.department.value}")
        decided: list[tuple[HandlerResult, str | None]] = []
        with self._transaction():
            for item in items:
                earlier = ledger.decision(self._db, item.item_id)
                if earlier is not None:
                    decided.append((earlier, None))
                    continue
                result, reference, outcome = self._decide(item)
                reason = result.reason if isinstance(result, Rejected) else None
                ledger.record_change(self._db, item, reference, outcome, reason, self._now())
                decided.append((result, outcome))
        for item, (result, outcome) in zip(items, decided):
            if outcome is not None:  # logged once, when decided
                subject = subject_of(item)
                log.info("%s %s %s item=%s subject=%s -> %s", self.department.value, item.item,
                         outcome, item.item_id, mask_id(subject) if subject else "-",
                         getattr(result, "reference", None) or getattr(result, "reason", None))
        return [result for result, _ in decided]

    def _decide(self, item: WorkItem) -> Decision:
        if is_erasure(item) or item.event_type == EventType.CONSENT_WITHDRAWN.value:
            return self._forget(item)
        subject = subject_of(item)
        if subject is None:
            return _refuse("the granted data carries no identifier to register")
        if item.change is ItemChange.NEW:
            late = ledger.by_origin(self._db, item.item_id)
            if late is not None:  # its correction or annulment came first and already holds it
                return _done(late.reference, "LATE_ORIGINAL")
            return self._register(item, subject, status="ACTIVE")
        target = self._target(item.refers_to_item_id)
        if item.change is ItemChange.ANNULMENT:
            if target is None:  # a tombstone, so a late original is not brought to life
                return self._register(item, subject, status="ANNULLED", check=False)
            ledger.set_status(self._db, target.reference, "ANNULLED", self._now())
            return _done(target.reference, "ANNULLED")
        if target is None:  # never saw the original: the corrected data is all it will know
            return self._register(item, subject, status="ACTIVE")
        if target.status == "ANNULLED":
            return _refuse(f"{target.reference} was annulled; a correction cannot revive it")
        reason = first_refusal(self.checks, self, item, subject, own=target.reference)
        if reason:
            return _refuse(reason)
        ledger.replace_data(self._db, target.reference, subject, item.data, self._now())
        return _done(target.reference, "CORRECTED")

    def _forget(self, item: WorkItem) -> Decision:
        """The consent the item rested on was withdrawn, or its person erased: erase what it
        brought. Never seen: an empty ANNULLED tombstone, so the original, if it comes late, is
        not kept either."""
        target = self._target(item.refers_to_item_id)
        if target is None:
            return self._register(item, ledger.ERASED_SUBJECT, status="ANNULLED", check=False)
        ledger.erase(self._db, target.reference, self._now())
        return _done(target.reference, "ERASED")

    def _register(self, item: WorkItem, subject: str, status: str, check: bool = True) -> Decision:
        reason = first_refusal(self.checks, self, item, subject) if check else None
        if reason:
            return _refuse(reason)
        now = self._now()
        reference = f"{self.prefix}-{now.astimezone(CHINA_TZ).year}-{ledger.next_seq(self._db, now):06d}"
        origin = item.refers_to_item_id if item.change is not ItemChange.NEW else None
        ledger.insert(self._db, reference, item, subject, status, origin, now)
        return _done(reference, "REGISTERED" if status == "ACTIVE" else status)

    def _target(self, refers_to_item_id: str | None) -> Registration | None:
        if not refers_to_item_id:
            return None
        return ledger.by_item(self._db, refers_to_item_id) or ledger.by_origin(self._db, refers_to_item_id)

    def _now(self) -> datetime:
        return self._clock().astimezone(timezone.utc)

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # take the write lock now: no lost sequence race
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- the ledger, for checks, tests and the demo -----------------------------------------
    def live_reference(self, item: str, subject: str, exclude: str | None = None) -> str | None:
        """Reference of a non-annulled registration of ``item`` for ``subject`` (for checks)."""
        return ledger.live_reference(self._db, item, subject, exclude)

    def rows(self) -> list[Registration]:
        """Every registration, in the order they were made."""
        with self._lock:
            return ledger.all_rows(self._db)

    def count(self) -> int:
        with self._lock:
            return ledger.count(self._db)

    def get(self, item_id: str) -> Registration | None:
        """The registration an item created or changed (its correction's id works too)."""
        with self._lock:
            return ledger.by_item(self._db, item_id)

    def find_by_case(self, case_id: str) -> list[Registration]:
        """Registrations created or changed by items of case ``case_id``."""
        with self._lock:
            return ledger.by_case(self._db, case_id)

    def history(self, reference: str) -> list[dict]:
        """Every item decided against ``reference``, oldest first, with the data it carried."""
        with self._lock:
            return ledger.history(self._db, reference)
