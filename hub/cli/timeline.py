"""``hub audit subject`` (who has a subject's data and why) and ``hub rebuild`` (projections).

Registered in :mod:`hub.cli.app`. Both read the log through a projection; Kafka unreachable exits 3,
a topic not provisioned exits 1.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from enum import Enum

import typer

from hub.config import HubSettings


@contextmanager
def _reading_the_log() -> Iterator[None]:
    """Translate the log being unreachable or unprovisioned into the CLI's exit codes."""
    from kafka.errors import KafkaError

    from hub.schema_registry.client import is_transient

    try:
        yield
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except (KafkaError, TimeoutError) as exc:
        typer.echo(f"Kafka unavailable: {exc}", err=True)
        raise typer.Exit(3) from None
    except Exception as exc:
        if not is_transient(exc):
            raise
        typer.echo(f"schema registry unavailable: {exc}", err=True)
        raise typer.Exit(3) from None


# -- hub audit subject ------------------------------------------------------------------------

def _at(value: str | None) -> str:
    """An audit time (ISO 8601 UTC) as ``YYYY-MM-DD HH:MM:SSZ``."""
    return f"{value[:10]} {value[11:19]}Z" if value else " " * 20


def _department(value: str | None) -> str:
    from hub.domain.departments import Department

    try:
        return f"{value} ({Department(value).chinese_name})"
    except ValueError:
        return value or "(unknown token)"


def _event_title(event_type: str) -> str:
    from hub.domain.catalogue import spec_for
    from hub.errors import UnknownEventType

    try:
        return f"{spec_for(event_type).title_zh} ({event_type})"
    except UnknownEventType:
        return event_type


def _fields(fields: list[dict]) -> list[str]:
    return [f"{f['field']}  [{f.get('basis') or 'no basis recorded'}]" for f in fields]


def timeline_lines(timeline: dict) -> list[str]:
    """The subject timeline for a terminal: who has the data, the events, each item, the queries."""
    subject, events = timeline["subject_id"], timeline["events"]
    recipients, queries = timeline["recipients"], timeline["fact_queries"]
    departments = timeline["departments"]
    if not (events or recipients or queries):
        return [f"{subject}: no audited data about this subject"]
    lines = [f"{subject}: {len(events)} event(s); {len(recipients)} item(s) received by "
             f"{len(departments)} department(s); {len(queries)} fact "
             f"{'query' if len(queries) == 1 else 'queries'}", "", "Who has the data, and why:"]
    for d in departments:
        lines.append(f"  {_department(d['department'])}: {d['items']} item(s), "
                     f"{_at(d['first_at']).strip()} … {_at(d['last_at']).strip()}")
        lines += [f"      {f}" for f in _fields(d["fields"])]
    if events:
        lines += ["", "Events:"]
    for e in events:
        pending = f" (waiting for {', '.join(e['pending_documents'])})" if e["pending_documents"] else ""
        lines.append(f"  {_at(e['at'])}  {_event_title(e['event_type'])} from {e['source_department']}: "
                     f"{e['decision']}{pending}, {len(e['items'])} item(s)  case {e['case_id']}  "
                     f"[audit {e['audit']}]")
    if recipients:
        lines += ["", "Items received:"]
    for r in recipients:
        lines.append(f"  {_at(r['sent_at'])}  {r['department']:32} {r['item']} ({r['change']}): "
                     f"{r['status']}  item {r['item_id']}")
        lines.append(f"      fields: {', '.join(f['field'] for f in r['fields']) or '-'}")
        for replay in r["replays"]:
            lines.append(f"      replayed {_at(replay['at'])} ({replay['replay_id']}, "
                         f"by {replay['requested_by'] or '?'})")
        for o in r["outcomes"]:
            detail = o["reference"] or o["reason"] or ""
            lines.append(f"      {_at(o['at'])}  {o['status']:9} {detail}".rstrip())
    if queries:
        lines += ["", "Fact queries:"]
    for q in queries:
        verdict = "answered" if q["allowed"] else f"refused ({q['reason'] or 'no reason given'})"
        asked = ", ".join(f"{f['event_type']}.{f['field']}" for f in q["fields"]) or "-"
        lines.append(f"  {_at(q['at'])}  {_department(q['department'])}: {verdict}; fields {asked}")
    return lines


def _progress(description: str):
    """A progress bar on stderr when it is a terminal (a catch-up may read a long trail)."""
    from hub.cli.progress import progress_bar

    return progress_bar(description) if sys.stderr.isatty() else nullcontext(None)


def audit_subject(
    subject_id: str = typer.Argument(..., help="Identity number, credit code or certificate number."),
    as_json: bool = typer.Option(False, "--json", help="The timeline as JSON."),
) -> None:
    """Who has a subject's data and why: events, departments, fields, legal basis, outcomes."""
    from hub.projections.timeline import TimelineProjection

    projection = TimelineProjection(HubSettings())
    try:
        with _reading_the_log(), _progress("reading the audit trail") as progress:
            projection.catch_up(progress)
            timeline = projection.subject_timeline(subject_id)
    finally:
        projection.close()
    if as_json:
        typer.echo(json.dumps(timeline, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(timeline_lines(timeline)))


# -- hub rebuild --------------------------------------------------------------------------------

class Rebuildable(str, Enum):
    cases = "cases"
    timeline = "timeline"
    facts = "facts"
    all = "all"


def projection_factory(name: str) -> Callable[[HubSettings], object]:
    """The class of projection ``name`` (imported here: each pulls in its decoders)."""
    if name == "cases":
        from hub.projections.cases import CaseProjection

        return CaseProjection
    if name == "timeline":
        from hub.projections.timeline import TimelineProjection

        return TimelineProjection
    if name == "facts":
        from hub.projections.facts import FactsProjection

        return FactsProjection
    raise ValueError(f"unknown projection {name!r}")


def rebuild(what: Rebuildable = typer.Argument(..., help="Which projection: cases, timeline, "
                                                         "facts, or all of them.")) -> None:
    """Discard a projection and rebuild it from its topics (records applied, time, rate)."""
    from hub.cli.progress import progress_bar

    settings = HubSettings()
    names = [p.value for p in Rebuildable if p is not Rebuildable.all] if what is Rebuildable.all \
        else [what.value]
    for name in names:
        projection = projection_factory(name)(settings)
        started = time.perf_counter()
        try:
            with _reading_the_log(), progress_bar(f"rebuilding {name}") as progress:
                applied = projection.rebuild(progress)
        finally:
            projection.close()
        took = time.perf_counter() - started
        typer.echo(f"{name}: {applied:,} record(s) applied in {took:.1f}s "
                   f"({applied / took if took > 0 else 0:,.0f} records/s) -> {projection.path}")
        if getattr(projection, "skipped", 0):
            typer.echo(f"{name}: {projection.skipped:,} record(s) skipped (not readable; see the log)",
                       err=True)
