"""Human-readable rendering of a case, pure text (shared by `hub case` and the demo), kept apart
from the state it shows."""

from __future__ import annotations

from hub.domain.case import CaseState
from hub.domain.catalogue import spec_for
from hub.domain.departments import Department


def _at(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else " " * 19


def case_lines(case: CaseState) -> list[str]:
    """A case's timeline: the registration, then each item with who did it, when, and how."""
    title = spec_for(case.event_type).title_zh if case.event_type else "?"
    where = Department(case.source_department).chinese_name if case.source_department else "?"
    took = ""
    if case.completed_at and case.opened_at:
        took = f" in {(case.completed_at - case.opened_at).total_seconds():.1f}s"
    lines = [f"{case.case_id}  {title} ({case.event_type}) at {where} — {case.status.value}{took}",
             f"  {_at(case.opened_at)}  registered at {case.source_department}"]
    if case.pending_documents:
        lines.append(f"  {'':19}  waiting for documents (容缺受理): {', '.join(case.pending_documents)}")
    for item in sorted(case.items.values(), key=lambda i: (i.done_at or i.requested_at or case.opened_at)):
        verdict = {True: "on time", False: "LATE", None: "open"}[item.on_time()]
        if item.overdue and not item.final:
            verdict = "OVERDUE"
        detail = item.reference or item.reason or ""
        change = "" if item.change == "NEW" else f" — {item.change}"  # a correction, an annulment
        lines.append(f"  {_at(item.done_at)}  {item.department:32} {item.name_zh} ({item.item}){change}: "
                     f"{item.status.value} {detail} [{verdict}; deadline {_at(item.deadline_at).strip()}]")
    return lines
