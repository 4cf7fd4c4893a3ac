"""The one table from the hub's errors to the command's exit codes.

0 ok · 1 error (a refusal, a conflict, a missing topic, an unaudited action) · 2 invalid input
(the field or option and the rule are named) · 3 Kafka or the schema registry unavailable.
Commands raise :class:`~hub.errors.HubError`s and never choose an exit code themselves: the
root command group (:class:`HubErrorExits`) prints the error and exits through this table.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from hub.domain.redaction import redact
from hub.errors import HubError, InvalidEvent, InvalidOption, Unavailable, caused_by

# First match wins; an error matches a row if it, or an error that caused it, is of that kind
# (a replay that could not be audited *because* Kafka was down exits 3, not 1).
EXIT_CODES: tuple[tuple[type[HubError], int], ...] = (
    (InvalidEvent, 2),
    (InvalidOption, 2),
    (Unavailable, 3),
    (HubError, 1),
)


def exit_code(exc: HubError) -> int:
    return next(code for kind, code in EXIT_CODES if caused_by(exc, (kind,)))


class HubErrorExits(TyperGroup):
    """The root command group: a :class:`HubError` from any command becomes its message on
    stderr and the exit code of :data:`EXIT_CODES`, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HubError as exc:
            typer.echo(redact(str(exc)), err=True)
            raise typer.Exit(exit_code(exc)) from None
