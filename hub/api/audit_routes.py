"""GET /v1/audit/subjects/{subject_id}: who has this subject's data, and why.

Served from the timeline projection (the audit topic indexed by subject), caught up to the end
of the audit topic before each answer. 401 without a known bearer token; an unknown subject gets
an empty timeline (200), so the answer never tells whether someone is known by its status code;
503 with ``Retry-After`` when Kafka cannot be read (the reader raises ``Unavailable`` or
``TopicMissing``, answered by the status table of :mod:`hub.api.responses`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.responses import caller_department, unauthorised
from hub.api.tokens import TokenStore
from hub.domain.ports import TimelineReader


def install_audit_routes(app: FastAPI, tokens: TokenStore, timeline: TimelineReader) -> None:
    """``timeline``: a :class:`~hub.projections.timeline.TimelineProjection` (or another
    TimelineReader: ``catch_up()`` and ``subject_timeline(subject_id)``)."""

    @app.get("/v1/audit/subjects/{subject_id}",
             summary="Who has this subject's data and why: events, recipients, fields and basis, outcomes",
             responses={401: {}, 503: {}})
    async def subject_timeline(subject_id: str, request: Request):
        if caller_department(tokens, request) is None:
            return unauthorised()
        await run_in_threadpool(timeline.catch_up)
        body = await run_in_threadpool(timeline.subject_timeline, subject_id)
        return JSONResponse(body)
