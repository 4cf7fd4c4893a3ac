"""Publish a batch of submissions as their owning departments, with a progress bar."""

from __future__ import annotations

from collections.abc import Sequence

from rich.progress import Progress

from hub.kafka.clients import Clients
from hub.domain.catalogue import spec_for
from producers.pool import PublisherPool
from producers.publisher import Receipt


def publish_batch(clients: Clients, batch: Sequence[tuple[str, dict]]) -> list[Receipt]:
    """Publish ``(event_type, submission)`` pairs in order; stops at the first error."""
    pool = PublisherPool(clients)
    receipts = []
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("publishing", total=len(batch))
            for event_type, submission in batch:
                owner = spec_for(event_type).owner
                receipts.append(pool(owner).publish_raw(event_type, submission))
                progress.advance(task)
    finally:
        pool.close()
    return receipts
