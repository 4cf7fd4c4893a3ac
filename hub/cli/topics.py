"""``hub topics ensure``: create the hub's topics (events, inboxes, logs, audit trail)."""

from __future__ import annotations

import typer

from hub.cli.context import clients, settings

topics_app = typer.Typer(help="Create the hub's topics.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


@topics_app.command("ensure")
def topics_ensure() -> None:
    """Create the hub's topics that do not exist yet (events, inboxes, logs, audit trail)."""
    from hub.kafka.admin import ensure_topics, hub_topics

    created = ensure_topics(clients(), hub_topics(settings().topic_prefix))
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
