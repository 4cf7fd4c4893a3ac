"""``hub schemas check | register | show``: the event catalogue's Avro schemas and the registry.

``check`` and ``register`` work on every schema in ``schemas/``, or on one candidate ``.avsc``
(``--file`` with ``--event-type``); an incompatible change exits 1 through the error table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hub.cli.context import clients, settings
from hub.domain.catalogue import CATALOGUE, spec_for

schemas_app = typer.Typer(help="Check and register the event catalogue's Avro schemas.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(schemas_app, name="schemas")


def _registry():
    from hub.schema_registry.catalogue import SchemaCatalogueRegistry

    return SchemaCatalogueRegistry(clients().registry, settings().topic_prefix)


def _candidate(file: Optional[Path], event_type: Optional[str]):
    """The candidate schema (None: those in schemas/), the specs it is for, and the registry."""
    if file is None:
        return None, list(CATALOGUE.values()), _registry()
    if event_type is None:
        raise typer.BadParameter("--event-type is required with --file")
    from fastavro.schema import load_schema

    return load_schema(str(file), _write_hint=False), [spec_for(event_type)], _registry()


_EVENT_TYPE = typer.Option(None, help="Event type the candidate is for.")


@schemas_app.command("check")
def schemas_check(
    file: Optional[Path] = typer.Option(None, help="Candidate .avsc to check instead of schemas/."),
    event_type: Optional[str] = _EVENT_TYPE,
) -> None:
    """Compare each schema with every registered version (FULL_TRANSITIVE)."""
    candidate, specs, registry = _candidate(file, event_type)
    failed = False
    for spec in specs:
        status = registry.check(spec, candidate)
        versions = ",".join(map(str, status.registered_versions)) or "none"
        typer.echo(f"{'OK  ' if status.ok else 'FAIL'} {status.subject} (registered: {versions})")
        for problem in status.problems:
            typer.echo(f"     - {problem}")
        failed |= not status.ok
    if failed:
        raise typer.Exit(1)


@schemas_app.command("register")
def schemas_register(
    file: Optional[Path] = typer.Option(None, help="Candidate .avsc to register instead of schemas/."),
    event_type: Optional[str] = _EVENT_TYPE,
) -> None:
    """Check, then register each schema and pin the subject to FULL_TRANSITIVE; without --file,
    also the subjects of the hub's own topics (inboxes, outcomes, routing log, dead letters, people's
    keys, erasure requests)."""
    candidate, specs, registry = _candidate(file, event_type)
    for spec in specs:
        status = registry.register(spec, candidate)
        typer.echo(f"registered {status.subject} (schema id {status.schema_id})")
    if file is None:
        # The router, the inboxes and the auditor write the hub's own records too (items,
        # decisions, outcomes, dead letters): without their subjects nothing could be routed.
        from hub.kafka.topic_names import TopicNames

        names = TopicNames(settings().topic_prefix)
        for topic in names.with_hub_schemas():
            status = registry.register_named(topic, names.schema_of(topic))
            typer.echo(f"registered {status.subject} (schema id {status.schema_id})")


@schemas_app.command("show")
def schemas_show(event_type: str) -> None:
    """Print the self-contained Avro schema of an event type."""
    from hub.wire.schemas import event_schema

    typer.echo(json.dumps(event_schema(spec_for(event_type)), ensure_ascii=False, indent=2))
