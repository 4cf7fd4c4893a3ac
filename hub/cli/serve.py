"""``hub serve``: the HTTP API (ingest, cases, shared-data query, audit timeline) under uvicorn."""

from __future__ import annotations

import typer

from hub.cli.context import clients, run_as, settings
from hub.security.principals import Service


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, help="TCP port."),
) -> None:
    """Serve HTTP ingest (POST /v1/events/{event_type}), cases, the shared-data query
    (GET /v1/subjects/{id}/facts), the audit timeline, and the OpenAPI at /docs."""
    import uvicorn

    from hub.api.app import create_app
    from hub.api.tokens import TokenStore
    from producers.pool import PublisherPool

    run_as(Service.GATEWAY)
    tokens = TokenStore.load(settings().resolved_tokens_file)
    if not len(tokens):
        typer.echo(f"warning: no tokens in {settings().resolved_tokens_file}; "
                   "issue some with `hub tokens issue DEPARTMENT`", err=True)
    from hub.audit.intake import KafkaAuditIntake
    from hub.api.console.operations import ConsoleOperations
    from hub.kafka.dead_letters import DeadLetterDesk
    from hub.kafka.lag import broker_figures
    from hub.security.citizen_links import CitizenLinks
    from hub.projections.cases import CaseProjection
    from hub.projections.facts import FactsProjection
    from hub.projections.timeline import TimelineProjection

    hub = clients()
    intake = KafkaAuditIntake(hub)
    api = create_app(hub.settings, tokens, PublisherPool(hub), cases=CaseProjection(hub),
                     facts=FactsProjection(hub), audit_intake=intake,
                     timeline=TimelineProjection(hub), read_rate_limit=hub.settings.read_rate_limit,
                     broker_figures=lambda: broker_figures(hub), dead_letters=DeadLetterDesk(hub, intake),
                     citizen_link=CitizenLinks(hub.settings.resolved_citizen_link_key_file).subject_of,
                     operations=ConsoleOperations(hub))
    uvicorn.run(api, host=host, port=port)
