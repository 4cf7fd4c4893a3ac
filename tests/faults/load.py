"""A steady load: registrations published at a fixed rate by each event type's department,
every publish's fate recorded — its receipt, or the error it was refused with."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from hub.config import HubSettings
from hub.errors import PublishOutcomeUnknown, PublishUnavailable
from hub.domain.envelope import EventType
from tests.integration.flow_helpers import Departments, unique_mix


@dataclass
class Published:
    event_type: EventType
    submission: dict
    sent_at: float
    receipt: object | None = None
    error: str | None = None
    unknown: bool = False  # sent but not acknowledged: the caller is told to publish it again
    retry_receipt: object | None = None  # the receipt of that repeat (same event id)


@dataclass
class Load:
    """Publishes ``count`` events at ``rate`` per second in a thread (``start``/``join``)."""

    settings: HubSettings
    count: int
    rate: float
    seed: int
    sent: list[Published] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-load", daemon=True)
        self._mix = unique_mix(self.count, random.Random(self.seed))

    def start(self) -> "Load":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop publishing (the drill is over, whatever happened)."""
        self._stop.set()
        self._thread.join(timeout=60)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the load did not finish within {timeout:.0f}s")

    def _run(self) -> None:
        started = time.monotonic()
        with Departments(self.settings) as departments:
            for n, (event_type, submission) in enumerate(self._mix):
                due = started + n / self.rate
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                # Our own event id: a refused event can be looked for in the log afterwards.
                submission = {**submission, "event_id": str(uuid.uuid4())}
                entry = Published(event_type, submission, time.monotonic())
                try:
                    entry.receipt = departments.publish(event_type, submission)
                except Exception as exc:  # noqa: BLE001 - a refusal is a figure of the drill
                    entry.error = f"{type(exc).__name__}: {exc}"
                    entry.unknown = isinstance(exc, PublishOutcomeUnknown)
                self.sent.append(entry)
            self._repeat_unknown(departments)

    def _repeat_unknown(self, departments: Departments) -> None:
        """What the error tells a department to do: publish the same event again, same event id,
        until it is acknowledged (after the fault)."""
        for entry in (p for p in self.sent if p.unknown):
            for _ in range(20):
                try:
                    entry.retry_receipt = departments.publish(entry.event_type, entry.submission)
                    break
                except PublishUnavailable:
                    if self._stop.wait(3):
                        return

    @property
    def accepted(self) -> list[Published]:
        """Acknowledged, at once or when published again."""
        return [p for p in self.sent if (p.receipt or p.retry_receipt) is not None]

    @property
    def refused(self) -> list[Published]:
        """Refused as not sent: the caller was told it was not written."""
        return [p for p in self.sent if p.error is not None and not p.unknown]

    @property
    def unknown(self) -> list[Published]:
        """Sent, not acknowledged: the caller was told to publish it again."""
        return [p for p in self.sent if p.unknown]
