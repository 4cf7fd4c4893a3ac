"""``hub audit``: run the auditor, verify the chain, list its anchors, and ``subject``: who has
a subject's data and why (rendered by :mod:`hub.cli.audit_views`).
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Optional

import typer

from hub.cli.context import clients, run_as, settings
from hub.security.principals import Service
from hub.cli.options import metrics_port_option, parse_instant

audit_app = typer.Typer(help="The audit trail: run the auditor, verify the chain, "
                             "who has a subject's data and why.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("run")
def audit_run(anchor_every: float = typer.Option(60.0, "--anchor-every", min=1.0,
                                                 help="Seconds between chain-head anchors."),
              metrics_port: Optional[int] = metrics_port_option()) -> None:
    """Run the auditor (exactly one per hub): chain every routing decision, item sent, outcome,
    replay and fact query into the audit topic; print each chain-head anchor as it is made."""
    from hub.audit.auditor import Auditor
    from hub.observability.metrics import serve_metrics

    run_as(Service.AUDITOR)
    serve_metrics(metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    auditor = Auditor(clients(), anchor_every_s=anchor_every,
                      on_anchor=lambda a: typer.echo(f"{a.anchored_at:%Y-%m-%dT%H:%M:%SZ}  {a}"))
    try:
        auditor.run(stop)
    except KeyboardInterrupt:
        pass
    typer.echo(f"audited {auditor.audited} record(s)")


@audit_app.command("verify")
def audit_verify(
    from_: Optional[str] = typer.Option(None, "--from", help="Verify records written at or after (ISO 8601)."),
    to: Optional[str] = typer.Option(None, "--to", help="… and before (ISO 8601)."),
    anchor: list[str] = typer.Option([], "--anchor", help="PARTITION@OFFSET=SHA256 kept outside "
                                     "the system (repeatable); checked with the published anchors."),
    topic: Optional[str] = typer.Option(None, "--topic", help="Verify this topic (e.g. a copy) "
                                        "instead of the hub's audit topic."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Walk the audit chain: OK with the count, or the first broken partition/offset and why."""
    from hub.audit.verify import parse_anchor, stored_anchors, verify_chain
    from hub.cli.progress import progress_bar

    start, end = parse_instant(from_, "--from"), parse_instant(to, "--to")
    if start and end and start >= end:
        raise typer.BadParameter("must be after --from", param_hint="--to")
    try:
        given = dict(parse_anchor(a) for a in anchor)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--anchor") from None
    anchors = {**stored_anchors(clients()), **given} if topic is None else given
    with progress_bar("verifying") as progress:
        verdict = verify_chain(clients(), topic=topic, from_ts=start, to_ts=end, anchors=anchors,
                               progress=progress)
    if as_json:
        typer.echo(json.dumps({"ok": verdict.ok, "count": verdict.count, "partition": verdict.partition,
                               "offset": verdict.offset, "reason": verdict.reason or None,
                               "heads": {str(p): {"offset": o, "hash": h}
                                         for p, (o, h) in (verdict.heads or {}).items()}}))
    else:
        typer.echo(str(verdict))
        for p, (offset, digest) in sorted((verdict.heads or {}).items()):
            typer.echo(f"  head {p}@{offset}=sha256:{digest}")
        if verdict.ok:
            typer.echo(f"  ({len(anchors)} anchor(s) checked)")
    if not verdict.ok:
        raise typer.Exit(1)


@audit_app.command("anchors")
def audit_anchors() -> None:
    """The chain heads the auditor anchored, as PARTITION@OFFSET=SHA256 (keep them elsewhere)."""
    from hub.audit.verify import stored_anchors

    anchors = stored_anchors(clients())
    for (partition, offset), digest in sorted(anchors.items()):
        typer.echo(f"{partition}@{offset}=sha256:{digest}")
    typer.echo(f"{len(anchors)} anchor(s)", err=True)


@audit_app.command("subject")
def audit_subject(
    subject_id: str = typer.Argument(..., help="Identity number, credit code or certificate number."),
    as_json: bool = typer.Option(False, "--json", help="The timeline as JSON."),
) -> None:
    """Who has a subject's data and why: events, departments, fields, legal basis, outcomes."""
    from hub.cli.audit_views import timeline_lines
    from hub.cli.progress import progress_on_terminal
    from hub.projections.timeline import TimelineProjection
    from hub.security.pseudonym_keys import pseudonyms_of

    # The trail names the subject by pseudonym: computed here from the number asked about.
    refs = pseudonyms_of(settings()).lookup_keys(subject_id)
    projection = TimelineProjection(clients())
    try:
        with progress_on_terminal("reading the audit trail") as progress:
            projection.catch_up(progress)
            timeline = projection.subject_timeline(subject_id, refs)
    finally:
        projection.close()
    if as_json:
        typer.echo(json.dumps(timeline, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(timeline_lines(timeline)))


@audit_app.command("rotate-key")
def audit_rotate_key() -> None:
    """Start naming subjects in new audit records under a fresh pseudonym key (old keys are kept:
    lookups compute a subject's pseudonym under each). Give the updated key file to every process
    that writes or searches the trail, then restart them."""
    from hub.security.pseudonym_keys import rotate

    path = settings().resolved_pseudonym_keys_file
    typer.echo(f"pseudonym key {rotate(path)} is now current in {path}")
