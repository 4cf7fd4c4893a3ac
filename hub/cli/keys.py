"""``hub keys init``: the hub's master key for crypto-shredding (README "Personal information").

Every person's private key travels wrapped to the master key, so every hub process that opens
people's fields (router, ``hub serve``'s views, replay) must hold the same private file, and every
publisher the public one. On a development machine the pair is made on first use; a deployment
makes it once with this command and mounts the files (docker-compose.yml shows how).
"""

from __future__ import annotations

import typer

from hub.cli.context import settings

keys_app = typer.Typer(help="The hub's master key for people's keys (crypto-shredding).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def keys_init() -> None:
    """Make the master key pair if there is none (never replaces one: every person's key is
    wrapped to it), and say which file goes where."""
    from hub.security.master_key import master_key, master_public_key

    current = settings()
    private, public = current.resolved_master_key_file, current.resolved_master_public_key_file
    existed = private.exists()
    key = master_key(current)
    master_public_key(current)  # the public half beside it, if it was not there
    typer.echo(f"master key {key.key_id}: {'kept' if existed else 'made'}")
    typer.echo(f"  private (router, hub serve, replay only; mode 0600): {private}")
    typer.echo(f"  public (every publisher): {public}")
