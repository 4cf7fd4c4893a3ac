"""``hub tokens issue | list | revoke``: bearer tokens for the HTTP API (stored only as hashes).

A token has a role: ``department`` (that department's system: publishes its events, reads its
share of cases), ``operator`` or ``auditor`` (read every case and timeline, publish nothing).
Tokens expire (``--expires-in``, 90 days by default) and can be revoked by id; a running
``hub serve`` refuses an expired or revoked token at once (401).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Optional

import typer

from hub.cli.context import settings
from hub.cli.options import parse_department

tokens_app = typer.Typer(help="Issue, list and revoke HTTP API bearer tokens.", no_args_is_help=True)

_DURATION = re.compile(r"\s*([0-9]{1,6})\s*([mhdw])\s*")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ROLES = ("department", "operator", "auditor")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")


def parse_duration(value: str, option: str = "--expires-in") -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``: a positive duration."""
    match = _DURATION.fullmatch(value)
    if not match or int(match[1]) == 0:
        raise typer.BadParameter(f"{value!r} is not a positive duration such as 30d, 12h, 90m or 2w",
                                 param_hint=option)
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _when(moment: Optional[datetime], never: str = "-") -> str:
    return f"{moment:%Y-%m-%d %H:%M}Z" if moment else never


@tokens_app.command("issue")
def tokens_issue(
    department: Optional[str] = typer.Argument(
        None, help="The department the token is for (role department only)."),
    role: str = typer.Option("department", help="department | operator | auditor."),
    label: str = typer.Option("", help="Who the token is for."),
    expires_in: str = typer.Option("90d", help="Lifetime: 30d, 12h, 90m, 2w (default 90 days)."),
) -> None:
    """Issue a bearer token; it is printed once and stored only as a hash (its id on stderr)."""
    from hub.api.tokens import Role, issue

    if role not in ROLES:
        raise typer.BadParameter(f"{role!r} is not one of {', '.join(ROLES)}", param_hint="--role")
    chosen = Role(role)
    if chosen is Role.DEPARTMENT and department is None:
        raise typer.BadParameter("a department token needs DEPARTMENT (e.g. CIVIL_AFFAIRS)",
                                 param_hint="DEPARTMENT")
    if chosen is not Role.DEPARTMENT and department is not None:
        raise typer.BadParameter(f"an {role} token belongs to no department", param_hint="DEPARTMENT")
    token, record = issue(settings().resolved_tokens_file, chosen,
                          parse_department(department) if department else None, label,
                          parse_duration(expires_in))
    typer.echo(token)
    typer.echo(f"token {record.id} ({role}{' ' + department if department else ''}) "
               f"expires {_when(record.expires_at)}", err=True)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token: id, role, department, label, issued, expires, revoked (never a hash)."""
    from hub.api.tokens import list_tokens

    rows = [("ID", "ROLE", "DEPARTMENT", "ISSUED", "EXPIRES", "REVOKED", "LABEL")]
    rows += [(r.id, r.role.value, r.department.value if r.department else "-", _when(r.issued_at),
              _when(r.expires_at, "never"), _when(r.revoked_at), r.label or "-")
             for r in list_tokens(settings().resolved_tokens_file)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


@tokens_app.command("revoke")
def tokens_revoke(token_id: str = typer.Argument(..., help="The token's id (`hub tokens list`).")) -> None:
    """Revoke a token: refused from now on, also by a running `hub serve`."""
    from hub.api.tokens import revoke

    record = revoke(settings().resolved_tokens_file, token_id)
    typer.echo(f"token {record.id} revoked at {_when(record.revoked_at)}")
