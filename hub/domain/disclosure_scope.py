"""What a reader may see of a case and of a subject's timeline: the scoping of HTTP reads, pure.

Operators and auditors see everything (:meth:`Scope.everything`). A department sees a case only
if it is **party** to it — it registered the case (published its opening event) or an item of the
case was routed to it — and then only what concerns it:

- its own items (never another department's reference, rejection reason, fields or deadline);
- of the case's subject ids, only those it was given: a subject id is visible when a field the
  department was granted in that case carries it (``payload.spouse_b`` or
  ``payload.spouse_b.id_number`` carries the second spouse's id). The registering department
  gave them all and sees them all. A subject id no known field carries (an event type missing
  from :data:`SUBJECT_FIELDS`, an id added by a correction) is shown to no recipient;
- the case's event ids and its missing documents (容缺受理) only if it registered it;
- ``status`` and ``completed_at`` of the whole case if it registered it, else of its own items.

A subject's cases, for a department, are the cases it is party to *in which that subject is
visible to it*: asking by a spouse's or parent's id it was never given links it to nothing. The
same rule scopes a subject's audit timeline: the decisions of those cases (with only its items),
its own recipients' entries, its own summary and its own fact queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hub.domain.case import CaseState
from hub.domain.departments import Department
from hub.domain.timeline import department_summary

# Where each event type's payload carries its subject ids, in the order of its ``subject_ids()``
# (hub/domain/events.py; a test checks the two agree).
SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "social_organisation_registered": ("payload.uscc",),
    "enterprise_registered": ("payload.uscc",),
    "marriage_registered": ("payload.spouse_a.id_number", "payload.spouse_b.id_number"),
    "birth_certified": ("payload.certificate_number", "payload.mother.id_number",
                        "payload.father.id_number"),
    "death_certified": ("payload.deceased.id_number",),
    "retirement_approved": ("payload.person.id_number",),
    "documents_supplemented": ("payload.subject_id",),
    "consent_withdrawn": ("payload.subject_id",),
}


@dataclass(frozen=True)
class Scope:
    """Whose view: ``department`` None means every department's (operators, auditors)."""

    department: Department | None

    @classmethod
    def everything(cls) -> "Scope":
        return cls(None)

    @classmethod
    def of(cls, department: Department) -> "Scope":
        return cls(department)

    @property
    def sees_all(self) -> bool:
        return self.department is None


def _carries(grant: str, path: str) -> bool:
    """A grant of ``grant`` hands over ``path`` (itself or a record containing it)."""
    return path == grant or path.startswith(grant + ".")


def registered(case: CaseState, department: Department) -> bool:
    return case.source_department == department.value


def is_party(case: CaseState, department: Department) -> bool:
    """The department registered the case, or one of its items was routed to it."""
    return registered(case, department) or any(
        item.department == department.value for item in case.items.values())


def visible_subject_ids(case: CaseState, department: Department) -> list[str]:
    """The case's subject ids the department was given (see the module docstring)."""
    if registered(case, department):
        return list(case.subject_ids)
    granted = [g for item in case.items.values() if item.department == department.value
               for g in item.granted_fields]
    paths = SUBJECT_FIELDS.get(case.event_type, ())
    return [subject for position, subject in enumerate(case.subject_ids)
            if position < len(paths) and any(_carries(g, paths[position]) for g in granted)]


def case_view(case: CaseState, scope: Scope) -> dict | None:
    """The case as JSON-ready data for ``scope``; None if the department is no party to it (the
    caller answers exactly as for an unknown case)."""
    if scope.sees_all:
        return case.as_json()
    department = scope.department
    assert department is not None
    if not is_party(case, department):
        return None
    source = registered(case, department)
    own = {i: item for i, item in case.items.items() if item.department == department.value}
    shown = case.model_copy(update={
        "subject_ids": visible_subject_ids(case, department),
        "event_ids": list(case.event_ids) if source else [],
        "pending_documents": list(case.pending_documents) if source else [],
        "items": own,
    })
    if not source:  # its part: done when its own items are
        finals = [item.done_at for item in own.values() if item.final]
        done = bool(own) and len(finals) == len(own) and all(finals)
        shown = shown.model_copy(update={"completed_at": max(finals) if done else None})
    body = shown.as_json()
    if source:
        body["status"] = case.status.value
    body["scope"] = department.value
    return body


def subject_cases_view(subject_id: str, cases: Iterable[CaseState], scope: Scope) -> list[dict]:
    """A subject's cases for ``scope``: for a department, those it is party to in which the
    subject is visible to it."""
    shown = []
    for case in cases:
        if not scope.sees_all:
            assert scope.department is not None
            if subject_id not in visible_subject_ids(case, scope.department) or \
                    not is_party(case, scope.department):
                continue
        view = case_view(case, scope)
        if view is not None:
            shown.append(view)
    return shown


def timeline_case_ids(timeline: dict) -> list[str]:
    """Every case a subject timeline mentions (to look each up before :func:`timeline_view`)."""
    ids = [e["case_id"] for e in timeline["events"]] + [r["case_id"] for r in timeline["recipients"]]
    return sorted(set(ids))


def timeline_view(timeline: dict, scope: Scope, cases: Mapping[str, CaseState]) -> dict:
    """A subject timeline (:func:`hub.domain.timeline.subject_timeline`) for ``scope``.

    ``cases``: the cases the timeline mentions, as the case view knows them; a case it does not
    know (yet) is left out of a department's view."""
    if scope.sees_all:
        return timeline
    department = scope.department
    assert department is not None
    subject, mine = timeline["subject_id"], department.value
    shown = {case_id for case_id, case in cases.items()
             if is_party(case, department) and subject in visible_subject_ids(case, department)}
    events = [{**e, "items": [i for i in e["items"] if i["department"] == mine],
               "pending_documents": e["pending_documents"] if e["source_department"] == mine else []}
              for e in timeline["events"] if e["case_id"] in shown]
    recipients = [r for r in timeline["recipients"]
                  if r["department"] == mine and r["case_id"] in shown]
    queries = [q for q in timeline["fact_queries"] if q.get("department") == mine]
    # An erasure is the department's business if it was told to erase: when, and on what basis.
    erasures = [{"erasure_id": e["erasure_id"], "at": e["at"], "basis": e["basis"], "departments": [mine],
                 "audit": e["audit"]} for e in timeline.get("erasures") or [] if mine in e["departments"]]
    return {"subject_id": subject, "events": events, "departments": department_summary(recipients),
            "recipients": recipients, "fact_queries": queries, "erasures": erasures, "scope": mine}


def cases_returned(views: Iterable[dict]) -> list[str]:
    """The case ids a set of case views (or timeline entries) discloses, for the audit note."""
    return sorted({v["case_id"] for v in views})
