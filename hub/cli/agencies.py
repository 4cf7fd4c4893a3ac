"""``hub agencies run``: the six reference agency systems, working their inboxes until stopped
(Ctrl-C or SIGTERM).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hub.cli.context import settings
from hub.cli.options import metrics_port_option

agencies_app = typer.Typer(help="The reference agency systems.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(agencies_app, name="agencies")


@agencies_app.command("run")
def agencies_run(
    directory: Path = typer.Option(..., "--dir", help="Where the agencies keep their databases."),
    department: list[str] = typer.Option(
        [], "--department", help="Run only this agency (repeatable; default: all six)."),
    metrics_port: Optional[int] = metrics_port_option(),
) -> None:
    """Run the reference agencies on their inboxes until interrupted."""
    import signal
    import threading

    from consumers.reference_agencies.fleet import AgencyFleet
    from hub.domain.departments import Department
    from hub.errors import InvalidOption
    from hub.observability.metrics import serve_metrics

    try:
        chosen = frozenset(Department.parse(d) for d in department) or None
    except ValueError as exc:
        raise InvalidOption(f"--department: {exc}") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    serve_metrics(metrics_port)
    with AgencyFleet(settings(), directory, departments=chosen):
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
