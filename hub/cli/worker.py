"""``hub worker``: run the router (faust). Also how :mod:`hub.worker.process` starts a router:
``python -m hub.cli worker --loglevel …``.
"""

from __future__ import annotations

import typer

from hub.cli.context import run_as, settings
from hub.security.principals import Service


def register(app: typer.Typer) -> None:
    app.command()(worker)


def worker(loglevel: str = typer.Option("warning", help="faust log level.")) -> None:
    """Run the router: registrations → department inboxes, routing log, dead letters."""
    from hub.worker.app import run_worker

    run_as(Service.ROUTER)
    run_worker(settings(), loglevel=loglevel)
