"""What a publisher hands back once the hub has durably accepted an event.

A pure model (pydantic only) so that whoever answers with a receipt (the HTTP ingest, the CLI)
depends on this shape and not on the Kafka publisher that produces it.
"""

from __future__ import annotations

from pydantic import BaseModel


class Receipt(BaseModel):
    """Proof that the hub has durably accepted an event."""

    event_id: str
    case_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
