"""``hub case show | subject``: cases (一件事) from the case projection, as text or JSON.

The text rendering is :mod:`hub.domain.case_views` (shared with the demo); ``--json`` prints
:meth:`CaseState.as_json`, as the HTTP API answers.
"""

from __future__ import annotations

import json

import typer

from hub.cli.context import clients
from hub.errors import NotFound

case_app = typer.Typer(help="Cases (一件事): what was done, by whom, when.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")


def _print_cases(cases, as_json: bool) -> None:
    from hub.domain.case_views import case_lines

    if as_json:
        typer.echo(json.dumps([c.as_json() for c in cases], ensure_ascii=False, indent=2))
        return
    for case in cases:
        typer.echo("\n".join(case_lines(case)))


def _projection():
    from hub.projections.cases import CaseProjection

    projection = CaseProjection(clients())
    projection.catch_up()
    return projection


@case_app.command("show")
def case_show(case_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A case's timeline: each follow-on item, its department, status and deadline."""
    case = _projection().case(case_id)
    if case is None:
        raise NotFound(f"no case {case_id!r}")
    _print_cases([case], as_json)


@case_app.command("subject")
def case_subject(subject_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every case about a person or organisation: what was done for them, by whom, when."""
    _print_cases(_projection().for_subject(subject_id), as_json)
