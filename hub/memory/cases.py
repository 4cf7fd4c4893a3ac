"""The case reader in memory: cases built from routing decisions and outcomes by the same pure
state machine the SQLite case projection applies (:class:`hub.domain.case.CaseState`)."""

from __future__ import annotations

from datetime import datetime

from hub.domain.case import CaseState
from hub.domain.outcomes import Outcome
from hub.domain.routing import RoutingDecision
from hub.memory.log import InMemoryLog


class InMemoryCases(InMemoryLog[RoutingDecision | Outcome]):
    """:class:`~hub.domain.ports.CaseReader` in dicts, standing in for
    :class:`~hub.projections.cases.CaseProjection`.

    ``add(*records)`` appends routing decisions and outcomes, as the router and the inboxes
    write them to their topics; ``catch_up()`` applies them, in the order added. Like the
    projection, it answers from what it has applied, and every answer is a copy of its own."""

    name = "in-memory cases"

    def __init__(self, *records: RoutingDecision | Outcome):
        super().__init__()
        self._cases: dict[str, CaseState] = {}
        self._subjects: dict[str, set[str]] = {}  # subject id -> case ids
        self.add(*records)

    def add(self, *records: RoutingDecision | Outcome) -> None:
        for record in records:
            if not isinstance(record, (RoutingDecision, Outcome)):
                raise TypeError(f"a case is built from routing decisions and outcomes, not {record!r}")
            self._add(record)

    def _apply(self, record: RoutingDecision | Outcome) -> None:
        case = self._cases.get(record.case_id) or CaseState(case_id=record.case_id)
        if isinstance(record, RoutingDecision):
            case.apply_decision(record)
            for subject in record.subject_ids:
                self._subjects.setdefault(subject, set()).add(record.case_id)
        else:
            case.apply_outcome(record)
        self._cases[case.case_id] = case

    @staticmethod
    def _copy(case: CaseState) -> CaseState:
        return CaseState.model_validate_json(case.model_dump_json())  # as stored and read back

    def case(self, case_id: str) -> CaseState | None:
        with self._lock:
            case = self._cases.get(case_id)
            return self._copy(case) if case else None

    def for_subject(self, subject_id: str) -> list[CaseState]:
        """The subject's cases, oldest first."""
        with self._lock:
            found = [self._copy(self._cases[c]) for c in sorted(self._subjects.get(subject_id, ()))]
        return sorted(found, key=lambda c: c.opened_at or datetime.min)

    def all_cases(self) -> list[CaseState]:
        """Every case, by id."""
        with self._lock:
            return [self._copy(self._cases[c]) for c in sorted(self._cases)]
