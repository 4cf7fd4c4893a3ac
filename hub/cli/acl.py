"""``hub acl plan | apply``: the Kafka ACLs of the topic prefix, derived from the catalogue and
the rules (see :mod:`hub.security.acl_plan`)."""

from __future__ import annotations

import typer

from hub.cli.context import clients, settings

acl_app = typer.Typer(help="Kafka ACLs derived from the catalogue and the rules.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(acl_app, name="acl")


def _planned():
    from hub.kafka.topic_names import TopicNames
    from hub.rules import load_rules
    from hub.security.acl_plan import plan

    return plan(TopicNames(settings().topic_prefix), load_rules())


@acl_app.command("plan")
def acl_plan(principal: str = typer.Option(None, help="Only this principal's ACLs.")) -> None:
    """Print every ACL the prefix needs: principal, operation, resource, why (nothing applied)."""
    rows = [p for p in _planned() if principal in (None, p.principal)]
    for p in rows:
        name = p.name + ("*" if p.pattern.value == "PREFIXED" else "")
        typer.echo(f"User:{p.principal:<34} {p.operation.value:<7} {p.resource.value:<6} "
                   f"{name:<60} {p.why}")
    typer.echo(f"{len(rows)} ACL(s); every one ALLOWs, what none allows is refused; "
               "the operator is a super user and needs none.")


@acl_app.command("apply")
def acl_apply() -> None:
    """Create the planned ACLs that are missing and remove the prefix's ACLs no longer planned
    (idempotent; run as the operator)."""
    from hub.kafka.acls import apply

    change = apply(clients(), settings().topic_prefix, _planned())
    for p in change.created:
        typer.echo(f"created  User:{p.principal} {p.operation.value} {p.resource.value} {p.name}")
    for principal, resource, name, _pattern, operation in change.deleted:
        typer.echo(f"removed  User:{principal} {operation} {resource} {name}")
    typer.echo(f"{len(change.created)} created, {len(change.deleted)} removed, "
               f"{change.unchanged} unchanged")
