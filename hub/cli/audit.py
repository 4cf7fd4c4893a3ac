"""``hub audit``: run the auditor, verify the chain, list its anchors (and ``subject``, added in cli)."""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from typing import Optional

import typer

from hub.config import HubSettings

audit_app = typer.Typer(help="The audit trail: run the auditor, verify the chain, "
                             "who has a subject's data and why.", no_args_is_help=True)


def parse_instant(value: Optional[str], option: str) -> Optional[datetime]:
    """ISO 8601 date or date-time; a date or a naive time is China Standard Time (UTC+8)."""
    if value is None:
        return None
    from hub.domain.common import CHINA_TZ

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or date-time",
                                 param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


@audit_app.command("run")
def audit_run(anchor_every: float = typer.Option(60.0, "--anchor-every", min=1.0,
                                                 help="Seconds between chain-head anchors.")) -> None:
    """Run the auditor (exactly one per hub): chain every routing decision, item sent, outcome,
    replay and fact query into the audit topic; print each chain-head anchor as it is made."""
    from hub.audit.auditor import Auditor, AuditorConflict

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    auditor = Auditor(HubSettings(), anchor_every_s=anchor_every,
                      on_anchor=lambda a: typer.echo(f"{a.anchored_at:%Y-%m-%dT%H:%M:%SZ}  {a}"))
    try:
        auditor.run(stop)
    except KeyboardInterrupt:
        pass
    except (AuditorConflict, LookupError) as exc:
        typer.echo(f"auditor stopped: {exc}", err=True)
        raise typer.Exit(1) from None
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

    settings = HubSettings()
    start, end = parse_instant(from_, "--from"), parse_instant(to, "--to")
    if start and end and start >= end:
        raise typer.BadParameter("must be after --from", param_hint="--to")
    try:
        given = dict(parse_anchor(a) for a in anchor)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--anchor") from None
    anchors = {**stored_anchors(settings), **given} if topic is None else given
    with progress_bar("verifying") as progress:
        verdict = verify_chain(settings, topic=topic, from_ts=start, to_ts=end, anchors=anchors,
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

    anchors = stored_anchors(HubSettings())
    for (partition, offset), digest in sorted(anchors.items()):
        typer.echo(f"{partition}@{offset}=sha256:{digest}")
    typer.echo(f"{len(anchors)} anchor(s)", err=True)
