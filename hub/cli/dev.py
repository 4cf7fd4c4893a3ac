"""``hub dev up | down | status``: the development stack (Kafka, Apicurio) from the command line.

Settings come from the environment (``HUB_BOOTSTRAP_SERVERS``, ``HUB_SCHEMA_REGISTRY_URL``,
``HUB_STATE_DIR``, ``HUB_CACHE_DIR`` …) like everywhere else in the hub; the group reads them
itself (it builds no clients), so ``dev_app`` can also be invoked on its own, as tests do.
"""

from __future__ import annotations

import time

import typer

from hub.config import HubSettings
from hub.devstack import stack
from hub.errors import ConfigurationError

dev_app = typer.Typer(
    help="Development stack: Apache Kafka (KRaft) and Apicurio Registry as local processes.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")


def _say(message: str) -> None:
    typer.echo(message)


@dev_app.command()
def up(
    timeout: float = typer.Option(
        stack.START_TIMEOUT_S, help="Seconds a starting server may go without answering and without "
        "writing to its log (a broker recovering many partitions keeps logging; at most "
        f"{stack.HARD_LIMIT_FACTOR}x this in all)."
    ),
    brokers: int | None = typer.Option(
        None, min=1, max=3, help="Kafka nodes: 1, or 3 (each broker + controller, replication 3, "
        "min.insync.replicas 2; node N at the bootstrap port + 2(N-1)). Fixed when the state "
        "directory is first formatted; default: as it was formatted, else 1."
    ),
) -> None:
    """Fetch (first run only) and start Kafka and the registry; return when all answer."""
    settings = HubSettings()
    t0 = time.monotonic()
    try:
        started = stack.up(settings, timeout=timeout, say=_say, brokers=brokers)
    except ValueError as exc:  # an unparsable address in the settings
        raise ConfigurationError(str(exc)) from None
    if started:
        kafka_at = ", ".join(s.address for s in stack.servers(settings)[:-1])  # no probes
        typer.echo(
            f"Dev stack up in {time.monotonic() - t0:.1f}s: Kafka at {kafka_at}, "
            f"registry at {settings.schema_registry_url}"
        )


@dev_app.command()
def down() -> None:
    """Stop the servers that `hub dev up` started (SIGTERM, then SIGKILL after a timeout)."""
    stack.down(HubSettings(), say=_say)


@dev_app.command()
def status() -> None:
    """Show each server (every Kafka node) with its address, health and pid; exit non-zero
    unless all are healthy."""
    rows = stack.status(HubSettings())
    for row in rows:
        state = "healthy" if row.health else "NOT HEALTHY"
        pid = f"pid {row.pid}" if row.pid else "no pid file"
        typer.echo(f"{row.name:<9} {row.address:<42} {state:<12} {pid:<12} {row.health.detail}")
    if not all(row.health for row in rows):
        raise typer.Exit(1)


@dev_app.command()
def rotate(principal: str = typer.Argument(..., help="A principal: civil-affairs, router, operator …")) -> None:
    """Give PRINCIPAL a new password: on the broker, in its credentials file, in the registry
    (which is restarted to read it). Processes already connected keep their sessions."""
    from hub.devstack.security import rotate as rotate_password

    settings = HubSettings()
    rotate_password(settings, principal, say=_say)
    stack.restart(settings, "registry", say=_say)
