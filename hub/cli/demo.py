"""``hub demo``: the main job end to end — publish each seed event type (SDK and HTTP) and read
every event back.
"""

from __future__ import annotations

import typer

from hub.cli.context import settings


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo() -> None:
    """The main job: publish each seed event type (SDK and HTTP) and read every event back."""
    from hub.demo.run import run_demo

    run_demo(settings(), echo=typer.echo)
