"""What a replay covers and what it reports, as pure values: window, filters, request, summary.

A replay re-routes the events recorded in a time window and sends (or writes) the resulting work
items again. The window is half-open, ``[start, end)``, on the records' Kafka timestamps.
Filters narrow it down: ``event_type`` and ``subject`` select events, ``department`` selects the
items of the selected events. The edge (:mod:`hub.replay.run`) does the reading and writing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.identifiers import mask_id
from hub.domain.routing import WorkItem


def epoch_ms(value: datetime) -> int:
    """Kafka's timestamp unit: milliseconds since the epoch (``value`` must carry its offset)."""
    return int(value.timestamp() * 1000)


@dataclass(frozen=True)
class ReplayWindow:
    """``[start, end)`` — both time-zone aware, ``start`` strictly before ``end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"window {name} must carry a UTC offset")
        if self.start >= self.end:
            raise ValueError(f"the window is empty: {self.start.isoformat()} is not before "
                             f"{self.end.isoformat()}")

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return epoch_ms(self.end)

    def contains(self, timestamp_ms: int) -> bool:
        return self.start_ms <= timestamp_ms < self.end_ms


@dataclass(frozen=True)
class ReplayFilters:
    """Which events of the window, and which of their items, a replay sends again.

    An event matches ``event_type``/``subject`` if it does itself or if it is a supplement
    (补齐材料) that releases a held event which does: the released items are that event's.
    """

    event_type: EventType | None = None
    subject: str | None = None
    department: Department | None = None

    def matches(self, events: list[dict]) -> bool:
        """Do the events decoded for one record (the record's own, then any it releases) pass?"""
        envelopes = [e["envelope"] for e in events]
        if self.event_type is not None and not any(
                str(env["event_type"]) == self.event_type.value for env in envelopes):
            return False
        if self.subject is not None:
            wanted = self.subject.strip().upper()
            return any(wanted == s.upper() for env in envelopes for s in env["subject_ids"])
        return True

    def keeps(self, item: WorkItem) -> bool:
        return self.department is None or item.department is self.department

    def as_dict(self) -> dict[str, str | None]:
        return {"event_type": self.event_type.value if self.event_type else None,
                "subject": mask_id(self.subject) if self.subject else None,
                "department": self.department.value if self.department else None}


@dataclass(frozen=True)
class ReplayRequest:
    """One replay: the window, the filters, where items go, and whether to write at all.

    ``to_file`` None means the departments' inbox topics. ``context_from`` is where the reading
    of the log before the window starts (None: its beginning); events from there up to the
    window are routed without being sent, so that corrections, annulments and supplements inside
    the window reach the departments the live router sent their originals to.
    """

    window: ReplayWindow
    filters: ReplayFilters = ReplayFilters()
    to_file: Path | None = None
    dry_run: bool = False
    context_from: datetime | None = None

    def __post_init__(self) -> None:
        if self.context_from is not None:
            if self.context_from.tzinfo is None:
                raise ValueError("context start must carry a UTC offset")
            if self.context_from > self.window.start:
                raise ValueError("the context must start at or before the window")

    @property
    def target(self) -> str:
        return f"file:{self.to_file}" if self.to_file is not None else "inbox"


@dataclass
class ReplaySummary:
    """What a replay read, matched and emitted (``emitted`` = would have, on a dry run)."""

    replay_id: str
    request: ReplayRequest
    read: int = 0  # records read inside the window's offset ranges
    matched: int = 0  # events in the window that passed the event filters
    emitted: int = 0  # items written (or counted, on a dry run)
    context: int = 0  # records read before the window to rebuild the routing memory
    by_department: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # error type → records of the window
    skip_examples: dict[str, list[str]] = field(default_factory=dict)  # error type → first few
    context_skipped: int = 0
    seconds: float = 0.0
    audited: bool = False
    status: str = "completed"
    error: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, error_type: str, where: str, reason: str, keep: int = 3) -> None:
        """A record of the window that could not be read or routed (the live router parked it)."""
        self.skipped[error_type] += 1
        examples = self.skip_examples.setdefault(error_type, [])
        if len(examples) < keep:
            examples.append(f"{where}: {reason}")

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        window = self.request.window
        return {
            "replay_id": self.replay_id, "status": self.status, "error": self.error,
            "window": {"from": window.start.isoformat(), "to": window.end.isoformat()},
            "filters": self.request.filters.as_dict(), "target": self.request.target,
            "dry_run": self.request.dry_run, "read": self.read, "matched": self.matched,
            "emitted": self.emitted, "context": self.context,
            "by_department": dict(sorted(self.by_department.items())),
            "skipped": {kind: {"count": n, "examples": self.skip_examples.get(kind, [])}
                        for kind, n in self.skipped.items()},
            "context_skipped": self.context_skipped,
            "seconds": round(self.seconds, 3), "events_per_s": round(self.rate(self.read), 1),
            "items_per_s": round(self.rate(self.emitted), 1), "audited": self.audited,
        }

    def lines(self) -> list[str]:
        window, request = self.request.window, self.request
        verb = "would emit" if request.dry_run else "emitted"
        lines = [
            f"replay {self.replay_id} {self.status}: [{window.start.isoformat()}, "
            f"{window.end.isoformat()}) -> {request.target}{' (dry run)' if request.dry_run else ''}",
            f"  read {self.read:,}, matched {self.matched:,}, {verb} {self.emitted:,} item(s) "
            f"in {self.seconds:.1f}s ({self.rate(self.read):,.0f} events/s, "
            f"{self.rate(self.emitted):,.0f} items/s)",
        ]
        filters = {k: v for k, v in request.filters.as_dict().items() if v is not None}
        if filters:
            lines.append("  filters: " + ", ".join(f"{k}={v}" for k, v in filters.items()))
        if self.context:
            lines.append(f"  context: {self.context:,} earlier record(s) routed, not sent"
                         + (f" ({self.context_skipped:,} unreadable)" if self.context_skipped else ""))
        if self.by_department:
            lines.append("  items: " + ", ".join(f"{d} {n:,}" for d, n in sorted(self.by_department.items())))
        for kind, count in self.skipped.most_common():
            lines.append(f"  skipped {count:,} unreadable or unroutable record(s) ({kind}), e.g.")
            lines += [f"    {example}" for example in self.skip_examples.get(kind, [])]
        if self.error:
            lines.append(f"  error: {self.error}")
        return lines


@dataclass(frozen=True)
class ReplayedItem:
    """A work item to send again: its inbox topic and the router's key for it."""

    item: WorkItem
    topic: str
    key: bytes
