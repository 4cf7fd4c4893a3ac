"""Read hub events back from their topics, decoded and validated, by offset range.

Used by the demo to show what landed and by operators to inspect a topic; it joins no consumer
group and commits nothing, so it never disturbs the real consumers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kafka import TopicPartition

from hub.domain.catalogue import EventSpec
from hub.domain.envelope import Event
from hub.errors import HubError
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import event_deserializer

Offsets = dict[tuple[str, int], int]


@dataclass(frozen=True)
class StoredEvent:
    """An event as read from the log, with where it was found."""

    topic: str
    partition: int
    offset: int
    key: str
    event: Event


def _spec_by_topic(prefix: str) -> dict[str, EventSpec]:
    return TopicNames(prefix).event_specs()


def read_between(
    clients: Clients, start: Offsets, end: Offsets, timeout_s: float = 30.0,
    reveal: Callable[[dict], dict] | None = None,
) -> Iterator[StoredEvent]:
    """Yield every event at offsets ``start <= offset < end`` of each partition in ``end``;
    ``reveal`` opens people's fields (a hub process's ``KeyFeed.reveal``: only the hub can)."""
    specs = _spec_by_topic(clients.settings.topic_prefix)
    registry = clients.registry
    decoders = {t: event_deserializer(registry, specs[t], reveal) for t, _ in end}
    pending = {tp: off for tp, off in end.items() if off > start.get(tp, 0)}
    if not pending:
        return
    with clients.reading() as consumer:
        consumer.assign([TopicPartition(t, p) for t, p in pending])
        for (t, p) in pending:
            consumer.seek(TopicPartition(t, p), start.get((t, p), 0))
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise HubError(f"timed out reading back {sorted(pending)}")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for rec in records:
                    key = (tp.topic, tp.partition)
                    if key not in pending or rec.offset >= end[key]:
                        continue
                    yield StoredEvent(tp.topic, tp.partition, rec.offset, rec.key.decode(),
                                      decoders[tp.topic](rec.value, tp.topic))
                    if rec.offset + 1 >= end[key]:
                        del pending[key]
