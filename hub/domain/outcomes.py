"""What an agency reports back about a work item, and the contract of an agency handler.

A handler receives a :class:`~hub.domain.routing.WorkItem` and returns :class:`Completed` (with
the agency's own reference) or :class:`Rejected` (with a reason). Raising means "could not
process now": the inbox retries with backoff, then parks the item and reports it FAILED.
Handlers must be idempotent by ``item.item_id``: a redelivered item returns the same result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.departments import Department
from hub.domain.routing import WorkItem


class Completed(BaseModel):
    """The agency completed the item; ``reference`` is its own number for it."""

    model_config = ConfigDict(frozen=True)
    reference: str = Field(min_length=1)


class Rejected(BaseModel):
    """The agency refused the item on its merits; retrying will not help."""

    model_config = ConfigDict(frozen=True)
    reason: str = Field(min_length=1)


HandlerResult = Completed | Rejected
Handler = Callable[[WorkItem], HandlerResult]


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that can also take many items in one call (one transaction for a database).

    ``handle_many`` is all or nothing: it returns one result per item, in order, with every
    item applied, or it raises and none is. The inbox then hands each item to ``__call__``
    with its retries, so a batch that fails on one bad item costs the others nothing but time.
    Redelivered items may appear twice in one call: the second gets the first's answer."""

    def __call__(self, item: WorkItem) -> HandlerResult: ...

    def handle_many(self, items: Sequence[WorkItem]) -> list[HandlerResult]: ...


class OutcomeStatus(StrEnum):
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    OVERDUE = "OVERDUE"  # raised by the hub's deadline watch; the item stays open

    @property
    def is_final(self) -> bool:
        return self in (OutcomeStatus.COMPLETED, OutcomeStatus.REJECTED, OutcomeStatus.FAILED)


# Fixed namespace for outcome ids: one id per (item, status), so a re-sent outcome is the same.
OUTCOME_NAMESPACE = uuid.UUID("1f6b3c2e-8d4a-4b7e-9c11-2a5e6d7f8091")


class Outcome(BaseModel):
    """An item's progress as reported on the outcomes topic (keyed by case id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome_id: str
    item_id: str
    case_id: str
    event_id: str
    department: Department
    item: str
    status: OutcomeStatus
    reference: str | None = None
    reason: str | None = None
    attempts: int = Field(ge=0)
    occurred_at: datetime

    @classmethod
    def for_item(cls, item: WorkItem, status: OutcomeStatus, occurred_at: datetime, *,
                 reference: str | None = None, reason: str | None = None,
                 attempts: int = 0) -> "Outcome":
        return cls(
            outcome_id=str(uuid.uuid5(OUTCOME_NAMESPACE, f"{item.item_id}/{status.value}")),
            item_id=item.item_id, case_id=item.case_id, event_id=item.event_id,
            department=item.department, item=item.item, status=status, reference=reference,
            reason=reason, attempts=attempts, occurred_at=occurred_at,
        )
