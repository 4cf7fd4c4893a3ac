"""Convert between sealed events (pydantic) and Avro records (plain dicts).

Pure functions: no registry, no Kafka. The Confluent serializers at the edge call these.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from hub.domain.catalogue import EventSpec
from hub.domain.envelope import Event

# Records read back from the log were validated when they were published. Rules that depend on
# "today" (dates not in the future) must not fail on replay years later, so decoding pins the
# clock at the end of time; every other rule still applies.
_END_OF_TIME = {
    "today": date.max,
    "now": datetime.max.replace(tzinfo=timezone.utc) - timedelta(days=1),
}


def event_to_record(event: Event) -> dict[str, Any]:
    """The Avro record for a sealed event (enums as their symbols, dates as dates)."""
    return event.model_dump(mode="python")


def record_to_event(spec: EventSpec, record: dict[str, Any]) -> Event:
    """Rebuild a sealed event from a decoded Avro record of ``spec``'s type."""
    return spec.event_model.model_validate(record, context=_END_OF_TIME)
