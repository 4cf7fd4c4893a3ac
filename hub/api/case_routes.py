"""``GET /v1/cases/{case_id}`` and ``GET /v1/subjects/{subject_id}/cases``: cases, scoped and audited.

Served from the case projection, read up to the end of the log before each answer
(read-your-writes), through :class:`~hub.api.personal_reads.PersonalReads`: 401 without a good
token (unknown, expired, revoked); 429 past the token's read limit; operators and auditors see
every case, a department only the cases it is party to and in them only its own items and the
subject ids it was given (:mod:`hub.domain.disclosure_scope`); another department's case is
answered 404 exactly as an unknown one; every answer is audited first (503 if it cannot be);
503 with ``Retry-After`` when the log cannot be read (the status table).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.personal_reads import PersonalReads, scope_of
from hub.api.responses import Problems, problem
from hub.domain.disclosure_scope import case_view, cases_returned, subject_cases_view
from hub.domain.ports import CaseReader

RESPONSES = {
    401: {"model": Problems, "description": "Missing, unknown, expired or revoked bearer token."},
    404: {"model": Problems, "description": "No case of that id that this token may see."},
    429: {"model": Problems, "description": "This token's read limit is reached (rule "
                                            "`read_rate_limit`); retry after `Retry-After` seconds."},
    503: {"model": Problems, "description": "Kafka or the audit intake is unavailable; nothing is "
                                            "disclosed. Retry after `Retry-After` seconds."},
}


def install_case_routes(app: FastAPI, reads: PersonalReads, cases: CaseReader) -> None:
    """``cases``: a :class:`~hub.projections.cases.CaseProjection` or another CaseReader."""

    @app.get("/v1/cases/{case_id}", summary="A case (一件事): its items, who did them, when — "
             "the caller's share of it", responses=RESPONSES)
    async def get_case(case_id: str, request: Request):
        caller = reads.admit(request)
        if isinstance(caller, JSONResponse):
            return caller
        await run_in_threadpool(cases.catch_up)
        case = await run_in_threadpool(cases.case, case_id)
        view = case_view(case, scope_of(caller)) if case is not None else None
        if view is None:
            await reads.withholding(reads.note(caller, "case", [], requested_case_id=case_id))
            return problem(404, "unknown_case", f"no case {case_id!r}")
        await reads.disclosing(reads.note(caller, "case", [case_id], requested_case_id=case_id))
        return JSONResponse(view)

    @app.get("/v1/subjects/{subject_id}/cases", summary="What was done for this person or "
             "organisation — the cases the caller may see", responses=RESPONSES)
    async def subject_cases(subject_id: str, request: Request):
        caller = reads.admit(request)
        if isinstance(caller, JSONResponse):
            return caller
        await run_in_threadpool(cases.catch_up)
        found = await run_in_threadpool(cases.for_subject, subject_id)
        shown = subject_cases_view(subject_id, found, scope_of(caller))
        await reads.disclosing(reads.note(caller, "subject_cases", cases_returned(shown),
                                          subject=subject_id))
        return JSONResponse({"subject_id": subject_id, "cases": shown})
