"""``hub rebuild``: discard a projection (cases, timeline, facts) and rebuild it from the log.

Kafka unreachable or a topic not provisioned reach the root command as HubErrors (exit 3, 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

import typer

from hub.cli.context import clients

if TYPE_CHECKING:  # the client libraries load only when a projection is rebuilt
    from hub.kafka.clients import Clients


class Rebuildable(str, Enum):
    cases = "cases"
    timeline = "timeline"
    facts = "facts"
    all = "all"


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild)


def projection_factory(name: str) -> Callable[[Clients], object]:
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

    names = [p.value for p in Rebuildable if p is not Rebuildable.all] if what is Rebuildable.all \
        else [what.value]
    for name in names:
        projection = projection_factory(name)(clients())
        started = time.perf_counter()
        try:
            with progress_bar(f"rebuilding {name}") as progress:
                applied = projection.rebuild(progress)
        finally:
            projection.close()
        took = time.perf_counter() - started
        typer.echo(f"{name}: {applied:,} record(s) applied in {took:.1f}s "
                   f"({applied / took if took > 0 else 0:,.0f} records/s) -> {projection.path}")
        if getattr(projection, "skipped", 0):
            typer.echo(f"{name}: {projection.skipped:,} record(s) skipped (not readable; see the log)",
                       err=True)
