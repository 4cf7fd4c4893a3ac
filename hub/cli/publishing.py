"""``hub publish`` (one event from a JSON submission) and ``hub demo-data`` (synthetic
submissions, printed as JSON lines or published as the owning departments).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Optional

import typer

from hub.cli.context import clients
from hub.cli.options import parse_department
from hub.domain.catalogue import spec_for
from hub.domain.envelope import EventType
from hub.errors import InvalidOption


def register(app: typer.Typer) -> None:
    app.command()(publish)
    app.command("demo-data")(demo_data)


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
        raise InvalidOption(f"(body): malformed JSON: {exc} [json_invalid]") from None
    with Publisher(parse_department(department), clients=clients()) as publisher:
        receipt = publisher.publish_raw(event_type, body)
    typer.echo(receipt.model_dump_json(indent=2))


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

    receipts = publish_batch(clients(), batch)
    typer.echo(f"published {len(receipts)} event(s)")
