"""GET /v1/audit/subjects/{subject_id}: who has this subject's data, and why — scoped and audited.

Served from the timeline projection (the audit topic indexed by subject), caught up to the end
of the audit topic before each answer, through :class:`~hub.api.personal_reads.PersonalReads`:
401 without a good token; 429 past the token's read limit; operators and auditors get the whole
timeline, a department only the entries of the cases it is party to in which it was given this
subject, and in them only its own items and fact queries (:mod:`hub.domain.disclosure_scope`;
the cases are looked up in the case view, so a department's read needs it). An unknown subject
gets an empty timeline (200), so the answer never tells whether someone is known by its status
code. Every answer is audited first (503 if it cannot be); 503 with ``Retry-After`` when Kafka
cannot be read (``Unavailable`` / ``TopicMissing``, answered by the status table).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.case_routes import RESPONSES
from hub.api.personal_reads import PersonalReads, scope_of
from hub.api.responses import problem
from hub.domain.case import CaseState
from hub.domain.disclosure_scope import timeline_case_ids, timeline_view
from hub.domain.ports import CaseReader, TimelineReader


def install_audit_routes(app: FastAPI, reads: PersonalReads, timeline: TimelineReader,
                         cases: CaseReader | None = None) -> None:
    """``timeline``: a :class:`~hub.projections.timeline.TimelineProjection` (or another
    TimelineReader: ``catch_up()`` and ``subject_timeline(subject_id)``); ``cases``: the case
    reader that scopes a department's timeline (without it, only operators and auditors are
    served)."""

    def cases_of(found: dict) -> dict[str, CaseState]:
        assert cases is not None
        known = {case_id: cases.case(case_id) for case_id in timeline_case_ids(found)}
        return {case_id: case for case_id, case in known.items() if case is not None}

    @app.get("/v1/audit/subjects/{subject_id}",
             summary="Who has this subject's data and why: events, recipients, fields and basis, "
                     "outcomes — the caller's share of it",
             responses={**RESPONSES, 403: {"description": "A department token on a server "
                                                          "without the case view."}})
    async def subject_timeline(subject_id: str, request: Request):
        caller = reads.admit(request)
        if isinstance(caller, JSONResponse):
            return caller
        scope = scope_of(caller)
        if not scope.sees_all and cases is None:
            return problem(403, "role", "this server cannot scope a department's timeline "
                                        "(no case view); operator and auditor tokens only")
        await run_in_threadpool(timeline.catch_up)
        found = await run_in_threadpool(timeline.subject_timeline, subject_id,
                                        reads.pseudonyms.lookup_keys(subject_id))
        if not scope.sees_all:
            await run_in_threadpool(cases.catch_up)  # type: ignore[union-attr]
            found = timeline_view(found, scope, await run_in_threadpool(cases_of, found))
        await reads.disclosing(reads.note(caller, "subject_timeline", timeline_case_ids(found),
                                          subject=subject_id))
        return JSONResponse(found)
