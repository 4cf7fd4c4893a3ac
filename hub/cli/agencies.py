"""``hub agencies run``: the six reference agency systems, working their inboxes until stopped
(Ctrl-C or SIGTERM).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.context import settings

agencies_app = typer.Typer(help="The reference agency systems.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(agencies_app, name="agencies")


@agencies_app.command("run")
def agencies_run(directory: Path = typer.Option(..., "--dir", help="Where the agencies keep their databases.")) -> None:
    """Run the six reference agencies on their inboxes until interrupted."""
    import signal
    import threading

    from consumers.reference_agencies.fleet import AgencyFleet

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with AgencyFleet(settings(), directory):
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
