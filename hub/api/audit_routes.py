"""GET /v1/audit/subjects/{subject_id}: who has this subject's data, and why.

Served from the timeline projection (the audit topic indexed by subject), caught up to the end
of the audit topic before each answer. 401 without a known bearer token; an unknown subject gets
an empty timeline (200), so the answer never tells whether someone is known by its status code;
503 with ``Retry-After`` when Kafka cannot be read.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kafka.errors import KafkaError
from starlette.concurrency import run_in_threadpool

from hub.api.app import _bearer, _problem, _unauthorised
from hub.api.tokens import TokenStore

RETRY_AFTER_S = 5


def install_audit_routes(app: FastAPI, tokens: TokenStore, timeline) -> None:
    """``timeline``: a :class:`~hub.projections.timeline.TimelineProjection` (or a fake with
    ``catch_up()`` and ``subject_timeline(subject_id)``)."""

    @app.get("/v1/audit/subjects/{subject_id}",
             summary="Who has this subject's data and why: events, recipients, fields and basis, outcomes",
             responses={401: {}, 503: {}})
    async def subject_timeline(subject_id: str, request: Request):
        token = _bearer(request)
        if not (token and tokens.department_for(token)):
            return _unauthorised()
        try:
            await run_in_threadpool(timeline.catch_up)
        except (KafkaError, TimeoutError, LookupError) as exc:
            return _problem(503, "unavailable", f"the audit trail cannot be read now: {exc}",
                            {"Retry-After": str(RETRY_AFTER_S)})
        body = await run_in_threadpool(timeline.subject_timeline, subject_id)
        return JSONResponse(body)
