"""The HTTP API as one FastAPI app: ingest, cases, the shared-data query, the audit timeline.

:func:`create_app` wires the route groups to the collaborators it is given (real adapters in
``hub serve``, in-memory or fake ones in tests) and answers every
:class:`~hub.errors.HubError` a route raises through the one status table of
:mod:`hub.api.responses`. A group whose collaborator is not given is not served.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api.audit_routes import install_audit_routes
from hub.api.case_routes import install_case_routes
from hub.api.facts_routes import install_facts_routes
from hub.api.ingest_routes import install_ingest_routes
from hub.api.openapi import install_openapi
from hub.api.ports import PublisherFor
from hub.api.refusal_throttle import RefusalThrottle
from hub.api.responses import install_error_answers
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.domain.ports import AuditNoteSink, CaseReader, FactsReader, TimelineReader


def create_app(settings: HubSettings, tokens: TokenStore, publisher_for: PublisherFor,
               cases: CaseReader | None = None, facts: FactsReader | None = None,
               audit_intake: AuditNoteSink | None = None,
               timeline: TimelineReader | None = None) -> FastAPI:
    """The app; collaborators are passed in so tests can use real or fake ones.

    ``cases`` (a :class:`~hub.projections.cases.CaseProjection`) enables the case endpoints;
    ``facts`` with ``audit_intake`` the shared-data query (数据共享查询); ``timeline`` the
    subject audit timeline ("who has my data and why"). Each collaborator with a ``close()``
    is closed when the app shuts down.
    """
    app = FastAPI(
        title="Once-Only Hub ingest",
        version="1",
        description="Department systems publish registration events here (数据多跑路，群众少跑腿).",
        lifespan=_closing(publisher_for, cases, facts, audit_intake, timeline),
    )
    install_error_answers(app)
    install_ingest_routes(app, settings, tokens, publisher_for)

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict:
        return {"status": "ok"}

    if cases is not None:
        install_case_routes(app, tokens, cases)
    if facts is not None:
        install_facts_routes(app, tokens, facts, audit_intake,
                             throttle=RefusalThrottle(settings.unauthenticated_audit_limit))
    if timeline is not None:
        install_audit_routes(app, tokens, timeline)
    install_openapi(app)
    return app


def _closing(*collaborators: object):
    """A lifespan that closes, on shutdown, each collaborator that has a ``close()``."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        for collaborator in collaborators:
            close = getattr(collaborator, "close", None)
            if close:
                close()

    return lifespan
