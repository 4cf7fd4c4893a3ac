"""What every delivery adapter shares: its typed errors, log redaction, and a UTC clock.

An adapter is a :data:`hub.domain.outcomes.Handler`. It returns ``Completed``/``Rejected`` for
answers on the merits and raises an :class:`AdapterError` when it could not deliver *now*; the
inbox retries such an item with backoff and eventually parks it as FAILED.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from hub.domain.redaction import redact as redact_text
from hub.domain.routing import WorkItem
from hub.errors import HubError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def redact(text: str, limit: int = 300) -> str:
    """``text`` safe for a log line: identity numbers masked, length bounded.

    Agencies' error bodies may echo the data they were sent, so anything that came back from
    an agency passes through here before it is logged.
    """
    return redact_text(text, limit)


def describe(item: WorkItem) -> str:
    """An item for log lines: ids and routing only, never its ``data``."""
    return f"item={item.item_id} case={item.case_id} dept={item.department.value} {item.item}"


class AdapterError(HubError):
    """A delivery adapter could not deliver now; retrying later may succeed."""


class SinkUnavailable(AdapterError):
    """The agency's database or drop directory could not be written (nothing was half-written)."""

    def __init__(self, sink: str, cause: str):
        self.sink = sink
        self.cause = cause
        super().__init__(f"{sink}: {cause}")


class DeliveryFailed(AdapterError):
    """Every attempt to deliver an item failed; the inbox parks it for an operator.

    ``attempts`` is how many requests were made and ``last_error`` what the last one met
    (already redacted, so it can be logged and put on an outcome event).
    """

    def __init__(self, target: str, item_id: str, attempts: int, last_error: str):
        self.target = target
        self.item_id = item_id
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(
            f"delivery of item {item_id} to {target} failed after {attempts} attempt(s): {last_error}"
        )
