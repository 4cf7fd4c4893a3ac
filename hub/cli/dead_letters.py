"""``hub dlq list | redrive``: records the router, the auditor or an agency could not process,
parked on the dead-letter topics (the hub's and each department's), and sending them back to
their source topic once the cause is fixed.
"""

from __future__ import annotations

import json

import typer

from hub.cli.context import clients
from hub.errors import NotFound

dlq_app = typer.Typer(help="Dead letters: records that could not be processed.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every parked record with its stage, reason and source topic/partition/offset."""
    from hub.kafka.dead_letters import dead_letters

    letters = dead_letters(clients())
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
    """Send parked records back to their source topic (after fixing the cause); audited."""
    from hub.audit.intake import KafkaAuditIntake
    from hub.kafka.dead_letters import dead_letters, redrive_noted
    from hub.replay.run import operator

    letters = [l for l in dead_letters(clients()) if all_ or l.dead_letter_id in (ids or [])]
    missing = set(ids or []) - {l.dead_letter_id for l in letters}
    if missing:
        raise NotFound(f"unknown dead-letter id(s): {', '.join(sorted(missing))}")
    intake = KafkaAuditIntake(clients())
    try:
        done = redrive_noted(clients(), letters, intake, requested_by=operator(), via="cli")
    finally:
        intake.close()
    typer.echo(f"redriven {done.sent} record(s)")
    for letter in done.gone:
        typer.echo(f"not redriven: {letter.dead_letter_id}: {letter.source_topic}"
                   f"[{letter.source_partition}]@{letter.source_offset} is past its topic's retention",
                   err=True)
