"""``hub topics ensure``: create the hub's topics (events, inboxes, logs, audit trail)."""

from __future__ import annotations

import typer

from hub.cli.context import clients, settings

topics_app = typer.Typer(help="Create the hub's topics and show their retention.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


@topics_app.command("ensure")
def topics_ensure() -> None:
    """Create the hub's topics that do not exist yet (events, inboxes, logs, audit trail), and
    give every one the retention of its class (HUB_INBOX_RETENTION_DAYS and the like)."""
    from hub.kafka.admin import apply_retention, ensure_topics, hub_topics

    topics = hub_topics(settings().topic_prefix)
    created = ensure_topics(clients(), topics)
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    for topic, was, now in apply_retention(clients(), topics):
        typer.echo(f"retention of {topic}: {was} → {now} ms")


@topics_app.command("retention")
def topics_retention() -> None:
    """How long each class of topic keeps its records, and why (from the settings)."""
    from hub.domain.catalogue import CATALOGUE
    from hub.kafka.admin import retention_policy

    for name, retention in retention_policy(settings()).table([t.value for t in CATALOGUE]):
        typer.echo(f"{name:42} {str(retention):>14}  {retention.basis}")
