"""An agency handler in memory: completes work items, idempotently by item id, and can be told
to reject some of them or to fail for a while."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from hub.domain.outcomes import Completed, HandlerResult, Rejected
from hub.domain.routing import WorkItem
from hub.errors import Unavailable


class InMemoryAgency:
    """:class:`~hub.domain.ports.AgencyHandler` in a dict: ``agency(item)`` completes the item
    with a reference of its own (``<prefix>-000001``, …) and records it in ``applied``, once.

    Idempotent by ``item.item_id`` as the real handlers are: a redelivered item gets the first
    answer again and applies nothing. ``reject(item_id, reason)`` makes it refuse that item on
    its merits (a rejection stays a rejection); ``fail(times, error)`` makes the next deliveries
    raise — by default :class:`~hub.errors.Unavailable`, "try again later" — before anything is
    recorded. ``deliveries`` counts every call."""

    def __init__(self, prefix: str = "MEM"):
        self.prefix = prefix
        self.applied: list[WorkItem] = []  # the side effects: each completed item, once
        self.answers: dict[str, HandlerResult] = {}  # item id -> the first answer
        self.deliveries = 0
        self._refusals: dict[str, str] = {}
        self._failures: list[BaseException] = []
        self._lock = threading.Lock()

    def reject(self, item_ids: str | Iterable[str], reason: str = "refused by the in-memory agency") -> None:
        """Refuse these items (those not answered yet) on their merits."""
        for item_id in [item_ids] if isinstance(item_ids, str) else item_ids:
            self._refusals[item_id] = reason

    def fail(self, times: int = 1, error: BaseException | None = None) -> None:
        """Raise on each of the next ``times`` deliveries, recording nothing."""
        self._failures += [error or Unavailable("the in-memory agency is unreachable")] * times

    def __call__(self, item: WorkItem) -> HandlerResult:
        with self._lock:
            self.deliveries += 1
            if self._failures:
                raise self._failures.pop(0)
            answer = self.answers.get(item.item_id)
            if answer is None:
                if item.item_id in self._refusals:
                    answer = Rejected(reason=self._refusals[item.item_id])
                else:
                    self.applied.append(item)
                    answer = Completed(reference=f"{self.prefix}-{len(self.applied):06d}")
                self.answers[item.item_id] = answer
            return answer
