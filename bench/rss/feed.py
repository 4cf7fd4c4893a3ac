"""The events fed to the router: a pool of the SDK's exact bytes, each sent with a new id.

A pool of submissions (the routing benchmark's seeded mix of the six registration types) is
sealed and Avro-encoded once by the SDK's own ``publish_raw`` against a capturing producer
(:func:`bench.workload.capture_records`). Every event sent is one of them with its event id
replaced by a fresh one: the id is a fixed-length UUID string, and it occurs in the value as the
envelope's ``event_id`` and inside its ``case_id`` (``case-<event id>``, which ``seal`` gives an
event without a case) and in the ``oncehub.event_id`` header, so a byte replacement keeps the
Avro encoding valid (strings are length-prefixed, the length does not change). Each event is
therefore new to the router — one more entry in its routed-events and case-openers tables —
and routed like the pool's original (routing depends on the payload alone).

The feeder keeps the backlog bounded (:func:`to_send`): the router is fed at its own pace, so
the curve is of steady routing and the broker's disk holds no more than the run needs.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaProducer

from bench.workload import WireRecord
from hub.kafka.clients import Clients

EVENT_ID = "oncehub.event_id"


@dataclass(frozen=True)
class Template:
    """One captured record, and its event id as bytes (what a stamp replaces)."""

    record: WireRecord
    event_id: bytes

    @classmethod
    def of(cls, record: WireRecord) -> Template:
        event_id = dict(record.headers)[EVENT_ID]
        if len(event_id) != 36 or event_id not in record.value:
            raise ValueError(f"{record.topic}: the event id {event_id!r} is not a UUID in the value")
        return cls(record, event_id)

    def stamp(self, event_id: str) -> tuple[bytes, list[tuple[str, bytes]]]:
        """The value and headers with ``event_id`` (a 36-character UUID) in place of the original."""
        new = event_id.encode()
        if len(new) != len(self.event_id):
            raise ValueError(f"{event_id!r} is not a 36-character UUID")
        value = self.record.value.replace(self.event_id, new)
        headers = [(k, new if k == EVENT_ID else v) for k, v in self.record.headers]
        return value, headers


def new_event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def to_send(published: int, routed: int, target: int, backlog: int) -> int:
    """How many events to publish now: none while more than half of ``backlog`` still waits to be
    routed, else enough to bring the wait back to ``backlog`` — never past ``target`` in all."""
    waiting = max(0, published - routed)
    if waiting > backlog // 2:
        return 0
    return max(0, min(backlog - waiting, target - published))


class Feeder:
    """Sends stamped copies of the pool, round-robin, pipelined on one batching producer."""

    def __init__(self, clients: Clients, templates: Sequence[Template], seed: int,
                 linger_ms: int = 20):
        if not templates:
            raise ValueError("an empty pool")
        self._templates = list(templates)
        self._rng = random.Random(seed)
        self._producer: KafkaProducer = clients.producer(client_id="oncehub-bench-rss", linger_ms=linger_ms)
        self._timeout_s = clients.settings.publish_timeout_s + 30
        self.published = 0  # acknowledged by Kafka

    def send(self, count: int) -> list[str]:
        """Publish ``count`` new events, wait until every one is acknowledged; their ids."""
        futures, ids = [], []
        for _ in range(count):
            template = self._templates[(self.published + len(ids)) % len(self._templates)]
            event_id = new_event_id(self._rng)
            value, headers = template.stamp(event_id)
            rec = template.record
            futures.append(self._producer.send(rec.topic, key=rec.key, value=value, headers=headers))
            ids.append(event_id)
        self._producer.flush(timeout=self._timeout_s)
        failures = []
        for future in futures:  # all done after the flush: get() returns or raises at once
            try:
                future.get(timeout=self._timeout_s)
            except Exception as exc:  # noqa: BLE001 - counted, then raised as one error
                failures.append(exc)
        if failures:
            raise RuntimeError(f"{len(failures)} of {count} events not written: {failures[0]!r}")
        self.published += count
        return ids

    def close(self) -> None:
        self._producer.close(timeout=5)
