"""What the HTTP API needs from a publisher, so that it depends on no Kafka producer.

The real adapter is ``producers.publisher.Publisher`` (handed out per department by
``producers.pool.PublisherPool``); unit tests pass a fake with the same method. The readers and
the audit-note sink the other routes use are the hub's own ports, in :mod:`hub.domain.ports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from hub.domain.departments import Department
from hub.domain.receipts import Receipt


class EventPublisher(Protocol):
    """Publishes one department's events."""

    def publish_raw(self, event_type: str, submission: Mapping[str, Any]) -> Receipt:
        """Validate, seal and write a JSON-shaped submission; return once it is durable.

        Raises ``UnknownEventType`` / ``NotOwner`` / ``InvalidEvent`` (nothing written) or
        ``PublishUnavailable`` (not written; retry after its ``retry_after_s``) — or its
        ``PublishOutcomeUnknown`` (sent, not acknowledged: retry with the same event id)."""
        ...


# Which publisher publishes for a department (the caller's token says which department it is).
PublisherFor = Callable[[Department], EventPublisher]
