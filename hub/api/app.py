"""HTTP ingest for department systems in any language: ``POST /v1/events/{event_type}``.

Status codes: 202 + receipt; 401 missing/unknown token; 404 unknown event type; 403 event type
owned by another department; 413 body over the limit; 422 ``{"errors": [{field, rule,
message}]}`` for malformed JSON or broken rules; 503 + ``Retry-After`` when Kafka or the
registry cannot be reached. Nothing is written unless the answer is 202.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.openapi import install_openapi, submission_body_schema
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for, spec_for_publisher
from hub.domain.departments import Department
from hub.errors import FieldError, InvalidEvent, NotOwner, PublishUnavailable, UnknownEventType
from producers.publisher import Publisher

PublisherFor = Callable[[Department], Publisher]


class BodyTooLarge(Exception):
    """The request body exceeded ``max_body_bytes``."""


def _errors(status: int, errors: list[FieldError], headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [e.as_dict() for e in errors]}, status, headers=headers)


def _problem(status: int, rule: str, message: str, headers: dict | None = None) -> JSONResponse:
    return _errors(status, [FieldError("(request)", rule, message)], headers)


def _unauthorised() -> JSONResponse:
    return _problem(401, "bearer_token", "missing or unknown bearer token",
                    {"WWW-Authenticate": "Bearer"})


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing as soon as it passes ``limit`` (never buffers more)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_app(settings: HubSettings, tokens: TokenStore, publisher_for: PublisherFor,
               cases=None, facts=None, audit_intake=None, timeline=None) -> FastAPI:
    """The ingest app; collaborators are passed in so tests can use real or fake ones.

    ``cases`` (a :class:`~hub.projections.cases.CaseProjection`) enables the case endpoints;
    ``facts`` with ``audit_intake`` the shared-data query (数据共享查询); ``timeline`` the
    subject audit timeline ("who has my data and why").
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        for collaborator in (publisher_for, cases, facts, audit_intake, timeline):
            close = getattr(collaborator, "close", None)
            if close:
                close()

    app = FastAPI(
        title="Once-Only Hub ingest",
        version="1",
        description="Department systems publish registration events here (数据多跑路，群众少跑腿).",
        lifespan=lifespan,
    )

    @app.get("/v1/event-types", summary="The event catalogue: types, owners, topics")
    def event_types() -> list[dict]:
        return [
            {"event_type": s.event_type.value, "title": s.title_zh, "owner": s.owner.value,
             "topic": s.topic(settings.topic_prefix), "schema_version": s.schema_version}
            for s in CATALOGUE.values()
        ]

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post(
        "/v1/events/{event_type}",
        status_code=202,
        summary="Publish a registration event",
        openapi_extra=submission_body_schema(),
        responses={401: {}, 403: {}, 404: {}, 413: {}, 422: {}, 503: {}},
    )
    async def publish(event_type: str, request: Request):
        token = _bearer(request)
        department = tokens.department_for(token) if token else None
        if department is None:
            return _unauthorised()
        try:
            spec_for(event_type)
            spec_for_publisher(event_type, department)
        except UnknownEventType as exc:
            return _problem(404, "unknown_event_type", str(exc))
        except NotOwner as exc:
            return _problem(403, "event_type_owner", str(exc))
        try:
            raw = await _read_limited(request, settings.max_body_bytes)
        except BodyTooLarge:
            return _problem(413, "max_body_bytes", f"body exceeds {settings.max_body_bytes} bytes")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            return _errors(422, [FieldError("(body)", "json_invalid", f"malformed JSON: {exc}")])
        if not isinstance(body, dict):
            return _errors(422, [FieldError("(body)", "object_type", "body must be a JSON object")])
        try:
            receipt = await run_in_threadpool(publisher_for(department).publish_raw, event_type, body)
        except InvalidEvent as exc:
            return _errors(422, exc.errors)
        except PublishUnavailable as exc:
            return _problem(503, "unavailable", str(exc), {"Retry-After": str(exc.retry_after_s)})
        return JSONResponse(receipt.model_dump(), 202)

    if cases is not None:
        _case_routes(app, tokens, cases)
    if facts is not None:
        from hub.api.facts_routes import install_facts_routes
        from hub.api.refusal_throttle import RefusalThrottle

        install_facts_routes(app, tokens, facts, audit_intake,
                             throttle=RefusalThrottle(settings.unauthenticated_audit_limit))
    if timeline is not None:
        from hub.api.audit_routes import install_audit_routes

        install_audit_routes(app, tokens, timeline)
    install_openapi(app)
    return app


def _case_routes(app: FastAPI, tokens: TokenStore, cases) -> None:
    """The citizen's view (served to authenticated systems, e.g. the government portal)."""
    from hub.cli.case_views import case_json

    async def refused_or_current(request: Request) -> JSONResponse | None:
        """401 without a known token; otherwise read the log up to now (read-your-writes)."""
        token = _bearer(request)
        if not (token and tokens.department_for(token)):
            return _unauthorised()
        await run_in_threadpool(cases.catch_up)
        return None

    @app.get("/v1/cases/{case_id}", summary="A case (一件事): every item, who did it, when")
    async def get_case(case_id: str, request: Request):
        if refused := await refused_or_current(request):
            return refused
        case = cases.case(case_id)
        if case is None:
            return _problem(404, "unknown_case", f"no case {case_id!r}")
        return JSONResponse(case_json(case))

    @app.get("/v1/subjects/{subject_id}/cases", summary="What was done for this person or organisation")
    async def subject_cases(subject_id: str, request: Request):
        if refused := await refused_or_current(request):
            return refused
        return JSONResponse({"subject_id": subject_id,
                             "cases": [case_json(c) for c in cases.for_subject(subject_id)]})
