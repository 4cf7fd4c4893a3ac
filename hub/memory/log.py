"""What the in-memory readers share with the SQLite projections they stand in for: what is
added waits in a log until ``catch_up()`` applies it, and a reader told to refuse fails the way
a projection fails when Kafka cannot be read."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from hub.errors import Unavailable
from hub.kafka.failures import unavailable_as_hub_error

Entry = TypeVar("Entry")


class InMemoryLog(Generic[Entry]):
    """Base of the in-memory readers: ``catch_up()`` applies (``_apply``) what was added since
    the last one and returns how many entries that was; ``catch_ups`` counts the calls.

    ``refuse(cause)``: every later ``catch_up`` fails — with :class:`~hub.errors.Unavailable`
    by default, or with ``cause`` translated as the projections translate it (a hub error as it
    is, a Kafka, timeout or OS error as ``Unavailable``); ``restore()`` ends that."""

    name = "in-memory reader"
    skipped = 0  # entries passed over as unreadable (the readers that skip count them)

    def __init__(self) -> None:
        self._pending: list[Entry] = []
        self._lock = threading.RLock()
        self.catch_ups = 0
        self.fail_with: BaseException | None = None

    def _add(self, entry: Entry) -> None:
        with self._lock:
            self._pending.append(entry)

    def _apply(self, entry: Entry) -> None:
        raise NotImplementedError

    def catch_up(self) -> int:
        """Apply every entry added so far; raises ``Unavailable`` (or the refusal's own hub
        error) while refusing, and then applies nothing."""
        with self._lock:
            self.catch_ups += 1
            with unavailable_as_hub_error(f"{self.name} cannot catch up"):
                if self.fail_with is not None:
                    raise self.fail_with
            pending, self._pending = self._pending, []
            for entry in pending:
                self._apply(entry)
            return len(pending)

    def refuse(self, cause: BaseException | None = None) -> None:
        self.fail_with = cause or Unavailable(f"{self.name}: the log is unreachable")

    def restore(self) -> None:
        self.fail_with = None

    def close(self) -> None:
        """Nothing to close (the API closes its readers on shutdown)."""
