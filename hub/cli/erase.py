"""``hub erase SUBJECT_ID --basis "…"``: erase one person from the hub (PIPL art. 47).

Run by the operator (the broker's super user: it alone may tombstone the hub's key topic); the
steps are :mod:`hub.erasure.run`'s. Exit codes: 0 erased (or nothing held); 1 refused by a legal
hold, or not audited; 2 invalid arguments, or not the operator; 3 Kafka or the schema registry
unavailable.
"""

from __future__ import annotations

import json

import typer

from hub.cli.context import clients


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)


def erase(
    subject_id: str = typer.Argument(..., help="The person's identity number (or certificate number)."),
    basis: str = typer.Option(..., "--basis", help="The legal ground of the request, kept in the "
                              "audit trail (e.g. 'PIPL art. 47(1): purpose achieved'); no identifiers."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be erased and who would "
                                 "be told; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Erase a person: destroy their keys (their fields on the event topics can never be read
    again), send an ERASURE item to every department that received their data, audit it.
    A legal hold on one of their registrations refuses the erasure and writes nothing."""
    from hub.cli.progress import progress_on_terminal
    from hub.erasure.run import run_erasure
    from hub.replay.run import operator

    with progress_on_terminal("reading the events and the case view") as progress:
        result = run_erasure(clients(), subject_id, basis, requested_by=operator(), dry_run=dry_run,
                             progress=progress)
    typer.echo(json.dumps(result.as_json(), ensure_ascii=False) if as_json else str(result))
