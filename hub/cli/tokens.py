"""``hub tokens issue``: bearer tokens for departments' HTTP ingest (stored only as hashes)."""

from __future__ import annotations

import typer

from hub.cli.context import settings
from hub.cli.options import parse_department

tokens_app = typer.Typer(help="Issue HTTP ingest bearer tokens for departments.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")


@tokens_app.command("issue")
def tokens_issue(department: str, label: str = typer.Option("", help="Who the token is for.")) -> None:
    """Issue a bearer token for DEPARTMENT; it is printed once and stored only as a hash."""
    from hub.api.tokens import issue_token

    token = issue_token(settings().resolved_tokens_file, parse_department(department), label)
    typer.echo(token)
