"""``hub worker``: run the router (faust). Also how :mod:`hub.worker.process` starts a router:
``python -m hub.cli worker --loglevel …``.
"""

from __future__ import annotations

from typing import Optional

import typer

from hub.cli.context import clients, run_as, settings
from hub.cli.options import metrics_port_option
from hub.security.principals import Service


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command("deadline-check")(deadline_check)


def worker(loglevel: str = typer.Option("warning", help="faust log level."),
           metrics_port: Optional[int] = metrics_port_option()) -> None:
    """Run the router: registrations → department inboxes, routing log, dead letters."""
    from hub.observability.metrics import serve_metrics
    from hub.worker.app import run_worker

    run_as(Service.ROUTER)
    serve_metrics(metrics_port)
    run_worker(settings(), loglevel=loglevel)


def deadline_check() -> None:
    """One round of the router's deadline check: flag items past their deadline (OVERDUE).
    `hub worker` runs it every HUB_DEADLINE_CHECK_S in a child process of its own."""
    from hub.projections.deadlines import DeadlineWatch

    run_as(Service.ROUTER)  # the deadlines topic is the router's to write
    watch = DeadlineWatch(clients())
    try:
        flagged = watch.tick()
    finally:
        watch.close()
    typer.echo(f"{len(flagged)} item(s) newly overdue")
