"""Parsers for option and argument values shared by several commands.

Each turns an operator's text into the value a command needs, or raises
:class:`typer.BadParameter` (exit 2) naming the option and the rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import typer

from hub.domain.departments import Department
from hub.domain.envelope import EventType


def metrics_port_option() -> Optional[int]:
    """``--metrics-port``: where a long-running process exposes its Prometheus metrics."""
    return typer.Option(None, "--metrics-port", min=1, max=65535,
                        help="Expose Prometheus metrics at http://127.0.0.1:PORT/metrics (default: not exposed).")


def parse_instant(value: Optional[str], option: str) -> Optional[datetime]:
    """ISO 8601 date or date-time; a date or a naive time is China Standard Time (UTC+8)."""
    if value is None:
        return None
    from hub.domain.common import CHINA_TZ

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or date-time",
                                 param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


def parse_department(value: str, option: Optional[str] = None) -> Department:
    """A department symbol in any case, with ``-`` or ``_`` (``civil-affairs``)."""
    try:
        return Department.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def parse_event_type(value: str, option: str) -> EventType:
    """A catalogue event type."""
    from hub.domain.catalogue import spec_for
    from hub.errors import UnknownEventType

    try:
        return spec_for(value).event_type
    except UnknownEventType as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
