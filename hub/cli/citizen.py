"""``hub citizen link SUBJECT_ID``: a short-lived signed link to a citizen's own page on
``hub serve`` (the dev stack's stand-in for the province's unified login: README, "Citizen page")."""

from __future__ import annotations

import typer

from hub.cli.context import settings

citizen_app = typer.Typer(help="A citizen's own page: what was done for them, who has their data.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(citizen_app, name="citizen")


@citizen_app.command("link")
def citizen_link(
    subject_id: str = typer.Argument(..., help="The citizen's identity number (or an organisation's credit code)."),
    minutes: int = typer.Option(15, "--minutes", min=1, max=24 * 60, help="How long the link works."),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help="Where hub serve answers."),
) -> None:
    """Print a link that shows SUBJECT_ID's cases to whoever holds it, for --minutes: hand it to
    that citizen only. The identity number is not readable in the link."""
    from hub.security.citizen_links import CitizenLinks

    token = CitizenLinks(settings().resolved_citizen_link_key_file).token_for(subject_id, ttl_s=minutes * 60)
    typer.echo(f"{base_url.rstrip('/')}/citizen/{token}")
