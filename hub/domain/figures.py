"""The hub's headline figures, from its cases: what `hub status`, the operator console and the
metrics show first.

The figure the reform is judged by is the visits citizens did not make (数据多跑路，群众少跑腿):
every follow-on item a department completed in the back office is one trip to one counter that
nobody had to take. Beside it, 按时办结率 (the share of finished items finished by their
deadline) and the items past their deadline now, per department.

Pure: cases in, figures out. The clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from hub.domain.case import CaseState, CaseStatus, ItemStatus, median_completion_s, on_time_rate


@dataclass(frozen=True)
class DepartmentFigures:
    """One receiving department's items."""

    department: str
    items: int = 0
    open: int = 0
    overdue: int = 0  # open and past their deadline now
    completed: int = 0
    rejected: int = 0
    failed: int = 0
    on_time: int = 0  # finished by their deadline
    late: int = 0  # finished after it

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None


@dataclass(frozen=True)
class Headline:
    """The figures over a set of cases, at ``at``."""

    at: datetime
    cases: int
    cases_completed: int
    cases_in_progress: int
    cases_pending_supplement: int
    items: int
    items_completed: int
    items_overdue: int
    on_time_rate: float | None
    median_completion_s: float | None
    departments: list[DepartmentFigures] = field(default_factory=list)

    @property
    def trips_saved(self) -> int:
        """Visits the citizens did not have to make: items completed in the back office."""
        return self.items_completed

    def as_json(self) -> dict:
        return {**asdict(self), "at": self.at.isoformat(), "trips_saved": self.trips_saved,
                "departments": [{**asdict(d), "on_time_rate": d.on_time_rate} for d in self.departments]}


def headline(cases: Iterable[CaseState], now: datetime, since: datetime | None = None) -> Headline:
    """The figures of ``cases`` (those opened at or after ``since``, if given) at ``now``."""
    chosen = [c for c in cases if since is None or (c.opened_at is not None and c.opened_at >= since)]
    counts: dict[str, dict[str, int]] = {}
    for case in chosen:
        for item in case.items.values():
            tally = counts.setdefault(item.department, {})
            for key in _keys(item, now):
                tally[key] = tally.get(key, 0) + 1
    departments = [DepartmentFigures(department, **tally) for department, tally in sorted(counts.items())]
    statuses = [c.status for c in chosen]
    return Headline(
        at=now, cases=len(chosen),
        cases_completed=statuses.count(CaseStatus.COMPLETED),
        cases_in_progress=statuses.count(CaseStatus.IN_PROGRESS),
        cases_pending_supplement=statuses.count(CaseStatus.PENDING_SUPPLEMENT),
        items=sum(d.items for d in departments),
        items_completed=sum(d.completed for d in departments),
        items_overdue=sum(d.overdue for d in departments),
        on_time_rate=on_time_rate(chosen), median_completion_s=median_completion_s(chosen),
        departments=departments,
    )


def _keys(item, now: datetime) -> list[str]:
    """The counters one item adds to."""
    keys = ["items"]
    if not item.final:
        keys.append("open")
        if item.late_at(now) or item.overdue:
            keys.append("overdue")
    else:
        keys.append({ItemStatus.COMPLETED: "completed", ItemStatus.REJECTED: "rejected",
                     ItemStatus.FAILED: "failed"}[item.status])
        verdict = item.on_time()
        if verdict is not None:
            keys.append("on_time" if verdict else "late")
    return keys
