"""``GET /v1/cases/{case_id}`` and ``GET /v1/subjects/{subject_id}/cases``: the citizen's view.

Served to authenticated systems (e.g. the government portal) from the case projection, read up
to the end of the log before each answer (read-your-writes). 401 without a known bearer token;
404 for an unknown case; 503 with ``Retry-After`` when the log cannot be read (status table).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.responses import caller_department, problem, unauthorised
from hub.api.tokens import TokenStore
from hub.domain.ports import CaseReader


def install_case_routes(app: FastAPI, tokens: TokenStore, cases: CaseReader) -> None:
    """``cases``: a :class:`~hub.projections.cases.CaseProjection` or another CaseReader."""

    async def refused_or_current(request: Request) -> JSONResponse | None:
        """401 without a known token; otherwise read the log up to now (read-your-writes)."""
        if caller_department(tokens, request) is None:
            return unauthorised()
        await run_in_threadpool(cases.catch_up)
        return None

    @app.get("/v1/cases/{case_id}", summary="A case (一件事): every item, who did it, when")
    async def get_case(case_id: str, request: Request):
        if refused := await refused_or_current(request):
            return refused
        case = cases.case(case_id)
        if case is None:
            return problem(404, "unknown_case", f"no case {case_id!r}")
        return JSONResponse(case.as_json())

    @app.get("/v1/subjects/{subject_id}/cases", summary="What was done for this person or organisation")
    async def subject_cases(subject_id: str, request: Request):
        if refused := await refused_or_current(request):
            return refused
        return JSONResponse({"subject_id": subject_id,
                             "cases": [c.as_json() for c in cases.for_subject(subject_id)]})
