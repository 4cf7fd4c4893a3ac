"""``hub replay``: send the work items of a time window again, or write them to a file.

Exit codes: 0 done and audited; 1 failed, or not audited; 2 invalid options (the option and the
rule are named); 3 Kafka or the schema registry unavailable.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer

from hub.cli.context import clients
from hub.cli.options import parse_department, parse_event_type, parse_instant


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)


def replay_request(from_: str, to: str, event_type: Optional[str], subject: Optional[str],
                   department: Optional[str], to_inbox: bool, to_file: Optional[Path],
                   dry_run: bool, context_from: Optional[str]):
    """The options as a :class:`ReplayRequest`; typer.BadParameter (exit 2) names what is wrong."""
    from hub.domain.replay import ReplayFilters, ReplayRequest, ReplayWindow

    start, end = parse_instant(from_, "--from"), parse_instant(to, "--to")
    if start >= end:
        raise typer.BadParameter(f"must be after --from ({start.isoformat()}); the window is "
                                 "[--from, --to)", param_hint="--to")
    context = parse_instant(context_from, "--context-from")
    if context is not None and context > start:
        raise typer.BadParameter("must not be after --from", param_hint="--context-from")
    if to_inbox == (to_file is not None):
        raise typer.BadParameter("give exactly one of --to-inbox and --to-file",
                                 param_hint="--to-inbox / --to-file")
    if to_file is not None and (to_file.is_dir() or not to_file.parent.is_dir()):
        raise typer.BadParameter(f"{to_file} must be a file in an existing directory",
                                 param_hint="--to-file")
    kind = parse_event_type(event_type, "--event-type") if event_type is not None else None
    dept = parse_department(department, "--department") if department is not None else None
    if subject is not None and not subject.strip():
        raise typer.BadParameter("must not be empty", param_hint="--subject")
    return ReplayRequest(ReplayWindow(start, end),
                         ReplayFilters(kind, subject.strip() if subject else None, dept),
                         to_file=to_file.resolve() if to_file else None, dry_run=dry_run,
                         context_from=context)


def replay(
    from_: str = typer.Option(..., "--from", help="Window start, ISO 8601 (a date is 00:00 China "
                                                   "time, as is a time without an offset)."),
    to: str = typer.Option(..., "--to", help="Window end (excluded), ISO 8601."),
    event_type: Optional[str] = typer.Option(None, "--event-type", help="Only events of this "
                                             "catalogue type (and supplements releasing one)."),
    subject: Optional[str] = typer.Option(None, "--subject", help="Only events about this "
                                          "identity number, credit code or certificate number."),
    department: Optional[str] = typer.Option(None, "--department", help="Only items for this "
                                             "department, e.g. TAX."),
    to_inbox: bool = typer.Option(False, "--to-inbox", help="Send the items to the departments' "
                                  "inbox topics again."),
    to_file: Optional[Path] = typer.Option(None, "--to-file", help="Write the items to this "
                                           "JSON-lines file instead."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; write nothing but the "
                                 "audit note."),
    context_from: Optional[str] = typer.Option(
        None, "--context-from", help="Read the log from here (default: its beginning) to rebuild "
        "the router's memory before the window; a correction or supplement in the window whose "
        "original is older than this is routed as if the original had never been seen."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Route a time window's events again and send (or write) their work items once more.

    Items keep their ids, so agencies apply each once; replayed records carry replay headers; the replay is audited before the command returns.
    """
    from hub.cli.progress import progress_bar
    from hub.replay.run import ReplayNotAudited, run_replay

    request = replay_request(from_, to, event_type, subject, department, to_inbox, to_file,
                             dry_run, context_from)
    # The summary reports records the router would park; the processor's per-record
    # "parking" warnings would only say the same thing, wrongly (nothing is parked).
    logging.getLogger("hub.worker.processor").setLevel(logging.ERROR)
    try:
        with progress_bar("replaying") as progress:
            summary = run_replay(clients(), request, progress)
    except ReplayNotAudited as exc:
        _print_summary(exc.summary, as_json)  # what was done, then the error (exit code: the table)
        raise
    _print_summary(summary, as_json)


def _print_summary(summary, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(summary.lines()))
        typer.echo("  audited: replay note posted to the audit intake" if summary.audited
                   else "  NOT audited")
