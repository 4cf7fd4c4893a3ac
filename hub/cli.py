"""The ``hub`` command: one entry point for operators, departments and developers.

Environment is read here (``HubSettings()``) and nowhere deeper. Exit codes: 0 ok, 1 error,
2 invalid input (field errors printed), 3 Kafka or registry unavailable.
"""

from __future__ import annotations

import json
import logging
import random
import sys
from pathlib import Path
from typing import Optional

import typer

from hub.config import HubSettings
from hub.devstack.cli import dev_app
from hub.domain.catalogue import CATALOGUE, spec_for
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.errors import HubError, InvalidEvent, PublishUnavailable, SchemaIncompatible

app = typer.Typer(help="Once-Only Hub — 数据多跑路，群众少跑腿.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")
schemas_app = typer.Typer(help="Check and register the event catalogue's Avro schemas.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
topics_app = typer.Typer(help="Create the hub's topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
tokens_app = typer.Typer(help="Issue HTTP ingest bearer tokens for departments.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


def _fail(exc: HubError) -> typer.Exit:
    typer.echo(str(exc), err=True)
    if isinstance(exc, InvalidEvent):
        return typer.Exit(2)
    return typer.Exit(3 if isinstance(exc, PublishUnavailable) else 1)


def _department(value: str) -> Department:
    try:
        return Department.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # kafka-python logs every metadata retry at ERROR; the hub reports the outcome itself.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


@topics_app.command("ensure")
def topics_ensure() -> None:
    """Create the event topics that do not exist yet."""
    from hub.topics import ensure_topics, event_topics

    settings = HubSettings()
    created = ensure_topics(settings, event_topics(settings))
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


def _registry():
    from hub.registry import SchemaCatalogueRegistry, registry_client

    settings = HubSettings()
    return SchemaCatalogueRegistry(registry_client(settings), settings.topic_prefix)


def _candidate(file: Optional[Path], event_type: Optional[str]):
    if file is None:
        return None, list(CATALOGUE.values())
    if event_type is None:
        raise typer.BadParameter("--event-type is required with --file")
    from fastavro.schema import load_schema

    return load_schema(str(file), _write_hint=False), [spec_for(event_type)]


@schemas_app.command("check")
def schemas_check(
    file: Optional[Path] = typer.Option(None, help="Candidate .avsc to check instead of schemas/."),
    event_type: Optional[str] = typer.Option(None, help="Event type the candidate is for."),
) -> None:
    """Compare each schema with every registered version (FULL_TRANSITIVE)."""
    candidate, specs = _candidate(file, event_type)
    registry, failed = _registry(), False
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
    event_type: Optional[str] = typer.Option(None, help="Event type the candidate is for."),
) -> None:
    """Check, then register each schema and pin the subject to FULL_TRANSITIVE."""
    candidate, specs = _candidate(file, event_type)
    registry = _registry()
    for spec in specs:
        try:
            status = registry.register(spec, candidate)
        except SchemaIncompatible as exc:
            raise _fail(exc) from None
        typer.echo(f"registered {status.subject} (schema id {status.schema_id})")


@schemas_app.command("show")
def schemas_show(event_type: str) -> None:
    """Print the self-contained Avro schema of an event type."""
    from hub.wire.schemas import event_schema

    typer.echo(json.dumps(event_schema(spec_for(event_type)), ensure_ascii=False, indent=2))


@tokens_app.command("issue")
def tokens_issue(department: str, label: str = typer.Option("", help="Who the token is for.")) -> None:
    """Issue a bearer token for DEPARTMENT; it is printed once and stored only as a hash."""
    from hub.auth import issue_token

    settings = HubSettings()
    token = issue_token(settings.resolved_tokens_file, _department(department), label)
    typer.echo(token)


@app.command()
def publish(
    event_type: str,
    department: str = typer.Option(..., help="Publishing department, e.g. CIVIL_AFFAIRS."),
    file: str = typer.Option(..., "--file", "-f", help="Submission JSON file, or - for stdin."),
) -> None:
    """Publish one event from a JSON submission and print the receipt."""
    from producers.publisher import Publisher

    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        typer.echo(f"(body): malformed JSON: {exc} [json_invalid]", err=True)
        raise typer.Exit(2) from None
    try:
        with Publisher(_department(department), HubSettings()) as publisher:
            receipt = publisher.publish_raw(event_type, body)
    except HubError as exc:
        raise _fail(exc) from None
    typer.echo(receipt.model_dump_json(indent=2))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, help="TCP port."),
) -> None:
    """Serve HTTP ingest (POST /v1/events/{event_type}) and its OpenAPI at /docs."""
    import uvicorn

    from hub.api.app import create_app
    from hub.auth import TokenStore
    from producers.pool import PublisherPool

    settings = HubSettings()
    tokens = TokenStore.load(settings.resolved_tokens_file)
    if not len(tokens):
        typer.echo(f"warning: no tokens in {settings.resolved_tokens_file}; "
                   "issue some with `hub tokens issue DEPARTMENT`", err=True)
    uvicorn.run(create_app(settings, tokens, PublisherPool(settings)), host=host, port=port)


@app.command("demo-data")
def demo_data(
    count: int = typer.Option(1, min=1, help="Events per event type."),
    event_type: Optional[str] = typer.Option(None, help="Only this event type."),
    seed: Optional[int] = typer.Option(None, help="Random seed, for repeatable data."),
    publish_them: bool = typer.Option(False, "--publish", help="Publish as the owning departments."),
) -> None:
    """Generate synthetic submissions (JSON lines), or publish them with --publish."""
    from producers.demo_data import generate

    rng = random.Random(seed)
    types = [EventType(spec_for(event_type).event_type)] if event_type else list(EventType)
    batch = [(t, generate(t, rng)) for t in types for _ in range(count)]
    if not publish_them:
        for t, submission in batch:
            typer.echo(json.dumps({"event_type": t.value, **submission}, ensure_ascii=False))
        return
    from producers.bulk import publish_batch

    try:
        receipts = publish_batch(HubSettings(), batch)
    except HubError as exc:
        raise _fail(exc) from None
    typer.echo(f"published {len(receipts)} event(s)")


@app.command()
def worker(loglevel: str = typer.Option("warning", help="faust log level.")) -> None:
    """Run the router: registrations → department inboxes, routing log, dead letters."""
    from hub.domain.rules import RuleError
    from hub.worker.app import run_worker

    try:
        run_worker(HubSettings(), loglevel=loglevel)
    except RuleError as exc:
        raise _fail(exc) from None


@app.command()
def demo() -> None:
    """The main job: publish each seed event type (SDK and HTTP) and read every event back."""
    from hub.demo import run_demo

    try:
        run_demo(HubSettings(), echo=typer.echo)
    except HubError as exc:
        raise _fail(exc) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
