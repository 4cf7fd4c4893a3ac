"""承诺时限: flag items past their committed deadline with an OVERDUE outcome.

Run periodically by the router's leader (one emitter per cluster). The OVERDUE outcome's id is
derived from the item, so if two emitters ever race the projection still sees one flag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from hub.domain.outcomes import Outcome
from hub.kafka.clients import Clients
from hub.projections.cases import CaseProjection
from hub.wire.serde import model_serializer

log = logging.getLogger(__name__)


class DeadlineWatch:
    """``tick()`` catches the case projection up and emits OVERDUE for newly late items."""

    def __init__(self, clients: Clients, projection: CaseProjection | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.settings = clients.settings
        self._clients = clients
        self.projection = projection or CaseProjection(clients)
        # Cases held in memory between writes: the watch runs in a small child process of the
        # router (hub.worker.app), and 5,000 parsed cases a batch made it ~150 MB.
        self.projection.batch_size = min(self.projection.batch_size, 1_000)
        self._encode = model_serializer(clients.registry, "Outcome")
        self._clock = clock

    def tick(self) -> list[Outcome]:
        self.projection.catch_up()
        late = self.projection.overdue_outcomes(self._clock())
        if not late:
            return []
        producer = self._clients.shared_producer()
        topic = self.projection.names.deadlines  # the hub's own topic, not a department's
        try:
            futures = [producer.send(topic, key=o.case_id.encode(), value=self._encode(o, topic))
                       for o in late]
            for future in futures:
                future.get(timeout=self.settings.publish_timeout_s)
        except Exception:
            self._clients.discard_producer(producer)  # the next round starts with a fresh one
            raise
        log.warning("%d item(s) overdue: %s", len(late), ", ".join(f"{o.department}/{o.item}" for o in late[:10]))
        return late

    def close(self) -> None:
        self.projection.close()
