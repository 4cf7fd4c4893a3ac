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

from hub.cli.audit import audit_app
from hub.cli.timeline import audit_subject, rebuild
from hub.config import HubSettings
from hub.cli.dev import dev_app
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
case_app = typer.Typer(help="Cases (一件事): what was done, by whom, when.", no_args_is_help=True)
app.add_typer(case_app, name="case")
dlq_app = typer.Typer(help="Dead letters: records that could not be processed.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
agencies_app = typer.Typer(help="The reference agency systems.", no_args_is_help=True)
app.add_typer(agencies_app, name="agencies")
app.add_typer(audit_app, name="audit")
audit_app.command("subject")(audit_subject)
app.command("rebuild")(rebuild)


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
    """Create the hub's topics that do not exist yet (events, inboxes, logs, audit trail)."""
    from hub.kafka.topic_names import TopicNames
    from hub.kafka.admin import ensure_topics, event_topics

    settings = HubSettings()
    names = TopicNames(settings.topic_prefix)
    created = ensure_topics(settings, event_topics(settings) + names.internal() + names.audit_topics())
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


def _registry():
    from hub.schema_registry.client import SchemaCatalogueRegistry, registry_client

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
    from hub.api.tokens import issue_token

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
    """Serve HTTP ingest (POST /v1/events/{event_type}), cases, the shared-data query
    (GET /v1/subjects/{id}/facts), the audit timeline, and the OpenAPI at /docs."""
    import uvicorn

    from hub.api.app import create_app
    from hub.api.tokens import TokenStore
    from producers.pool import PublisherPool

    settings = HubSettings()
    tokens = TokenStore.load(settings.resolved_tokens_file)
    if not len(tokens):
        typer.echo(f"warning: no tokens in {settings.resolved_tokens_file}; "
                   "issue some with `hub tokens issue DEPARTMENT`", err=True)
    from hub.audit.intake import AuditIntake
    from hub.projections.cases import CaseProjection
    from hub.projections.facts import FactsProjection
    from hub.projections.timeline import TimelineProjection

    app_ = create_app(settings, tokens, PublisherPool(settings), cases=CaseProjection(settings),
                      facts=FactsProjection(settings), audit_intake=AuditIntake(settings),
                      timeline=TimelineProjection(settings))
    uvicorn.run(app_, host=host, port=port)


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


def _print_cases(cases, as_json: bool) -> None:
    from hub.cli.case_views import case_json, case_lines

    if as_json:
        typer.echo(json.dumps([case_json(c) for c in cases], ensure_ascii=False, indent=2))
        return
    for case in cases:
        typer.echo("\n".join(case_lines(case)))


def _projection():
    from hub.projections.cases import CaseProjection

    projection = CaseProjection(HubSettings())
    projection.catch_up()
    return projection


@case_app.command("show")
def case_show(case_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A case's timeline: each follow-on item, its department, status and deadline."""
    case = _projection().case(case_id)
    if case is None:
        typer.echo(f"no case {case_id!r}", err=True)
        raise typer.Exit(1)
    _print_cases([case], as_json)


@case_app.command("subject")
def case_subject(subject_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every case about a person or organisation: what was done for them, by whom, when."""
    _print_cases(_projection().for_subject(subject_id), as_json)


@dlq_app.command("list")
def dlq_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every parked record with its stage, reason and source topic/partition/offset."""
    from hub.kafka.dead_letters import dead_letters

    letters = list(dead_letters(HubSettings()))
    if as_json:
        typer.echo(json.dumps([l.model_dump(mode="json", exclude={"key", "value"}) for l in letters],
                              ensure_ascii=False, indent=2))
        return
    for l in letters:
        typer.echo(f"{l.dead_letter_id}  {l.parked_at:%Y-%m-%d %H:%M:%S}  {l.stage:24} "
                   f"{l.source_topic}[{l.source_partition}]@{l.source_offset}  {l.error_type}: {l.reason}")
    typer.echo(f"{len(letters)} dead letter(s)")


@dlq_app.command("redrive")
def dlq_redrive(
    ids: list[str] = typer.Argument(None, help="Dead-letter ids to redrive."),
    all_: bool = typer.Option(False, "--all", help="Redrive every dead letter."),
) -> None:
    """Send parked records back to their source topic (after fixing the cause)."""
    from hub.kafka.dead_letters import dead_letters, redrive

    settings = HubSettings()
    letters = [l for l in dead_letters(settings) if all_ or l.dead_letter_id in (ids or [])]
    missing = set(ids or []) - {l.dead_letter_id for l in letters}
    if missing:
        typer.echo(f"unknown dead-letter id(s): {', '.join(sorted(missing))}", err=True)
        raise typer.Exit(1)
    typer.echo(f"redriven {redrive(settings, letters)} record(s)")


@agencies_app.command("run")
def agencies_run(directory: Path = typer.Option(..., "--dir", help="Where the agencies keep their databases.")) -> None:
    """Run the six reference agencies on their inboxes until interrupted."""
    import signal
    import threading

    from consumers.reference_agencies.fleet import AgencyFleet

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with AgencyFleet(HubSettings(), directory):
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


@app.command()
def demo() -> None:
    """The main job: publish each seed event type (SDK and HTTP) and read every event back."""
    from hub.demo.run import run_demo

    try:
        run_demo(HubSettings(), echo=typer.echo)
    except HubError as exc:
        raise _fail(exc) from None


from hub.cli.replay import replay  # noqa: E402 - hub replay, in its own module

app.command("replay")(replay)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
