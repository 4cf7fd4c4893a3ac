"""The HTTP API as one FastAPI app: ingest, cases, the shared-data query, the audit timeline.

:func:`create_app` wires the route groups to the collaborators it is given (real adapters in
``hub serve``, in-memory or fake ones in tests) and answers every
:class:`~hub.errors.HubError` a route raises through the one status table of
:mod:`hub.api.responses`. A group whose collaborator is not given is not served. Every read of
personal data (cases, timeline, facts) is limited per token (``read_rate_limit``) and audited
through ``audit_intake``: a read route without an audit intake is a configuration error.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api.citizen_routes import install_citizen_routes
from hub.api.console.routes import install_console
from hub.api.metrics_routes import BrokerFigures, install_metrics_route
from hub.api.audit_routes import install_audit_routes
from hub.api.case_routes import install_case_routes
from hub.api.facts_routes import install_facts_routes
from hub.api.ingest_routes import install_ingest_routes
from hub.api.openapi import install_openapi
from hub.api.personal_reads import PersonalReads
from hub.api.ports import PublisherFor
from hub.api.read_limit import DEFAULT_READ_LIMIT, ReadLimiter
from hub.api.refusal_throttle import RefusalThrottle
from hub.api.responses import install_error_answers
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.domain.ports import AuditNoteSink, CaseReader, FactsReader, TimelineReader
from hub.domain.pseudonyms import Pseudonyms
from hub.security.pseudonym_keys import pseudonyms_of


def create_app(settings: HubSettings, tokens: TokenStore, publisher_for: PublisherFor,
               cases: CaseReader | None = None, facts: FactsReader | None = None,
               audit_intake: AuditNoteSink | None = None,
               timeline: TimelineReader | None = None,
               read_rate_limit: str = DEFAULT_READ_LIMIT,
               pseudonyms: Pseudonyms | None = None,
               broker_figures: BrokerFigures | None = None, dead_letters=None, operations=None,
               citizen_link: Callable[[str], str | None] | None = None) -> FastAPI:
    """The app; collaborators are passed in so tests can use real or fake ones.

    ``cases`` (a :class:`~hub.projections.cases.CaseProjection`) enables the case endpoints;
    ``facts`` the shared-data query (数据共享查询); ``timeline`` the subject audit timeline
    ("who has my data and why", scoped for departments through ``cases``). Each needs
    ``audit_intake``. ``read_rate_limit``: reads of personal data per token (the ``limits``
    notation, e.g. ``"120/minute"``). ``pseudonyms``: how audit notes name the subject asked
    about, and how the timeline finds it (default: the keys of ``settings``' pseudonym key file).
    ``citizen_link``: the subject a citizen's signed link names (``CitizenLinks.subject_of``);
    with ``cases`` and ``audit_intake`` it serves the citizen page. ``broker_figures``: consumer lag and dead letters parked, for ``/metrics`` (with ``cases``,
    the case figures too). ``dead_letters``: the console's dead-letter desk (list, re-drive); ``operations``: its audit-chain check and
    replay dry run (:class:`~hub.api.console.operations.ConsoleOperations`).
    Each collaborator with a ``close()`` is closed when the app shuts down.
    """
    if (cases is not None or facts is not None or timeline is not None) and audit_intake is None:
        raise ValueError("reads of personal data need an audit intake: no read may go unaudited")
    limiter = ReadLimiter(read_rate_limit)
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

    reads = None
    if audit_intake is not None:
        pseudonyms = pseudonyms or pseudonyms_of(settings)
        reads = PersonalReads(tokens, limiter, audit_intake, pseudonyms)
        if cases is not None:
            install_case_routes(app, reads, cases)
        if timeline is not None:
            install_audit_routes(app, reads, timeline, cases)
        if cases is not None and citizen_link is not None:
            install_citizen_routes(app, citizen_link, cases, timeline, reads)
    if facts is not None:
        install_facts_routes(app, tokens, facts, audit_intake, pseudonyms, limiter=limiter,
                             throttle=RefusalThrottle(settings.unauthenticated_audit_limit))
    install_metrics_route(app, tokens, cases, broker_figures)
    if cases is not None:
        install_console(app, tokens, cases, reads if audit_intake is not None else None, broker_figures,
                        dead_letters, operations, timeline)
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
