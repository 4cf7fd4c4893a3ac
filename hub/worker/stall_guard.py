"""Guard against faust-streaming skipping a record around start-up and rebalances.

Seen here: a record already waiting when the worker starts can be fetched while faust's flow is
suspended for recovery; faust then advances its read offset without handing the record to the
agent. Nothing is committed past it, so it is not lost, but it waits until the next restart.
The guard notices a partition whose committed offset is behind its end while the agent has not
processed anything from it for ``grace_s``, and seeks that partition back to its committed
offset. Re-reading a record that was in fact processed is harmless: routing is deterministic.

faust can also skip a record and then commit past it, once later records of the partition are
acknowledged; the committed offset then hides the skip. For that case the router asks the guard
for the group's committed offset on first sight of a partition and, whenever faust delivers an
offset beyond the next expected one, reads the skipped range directly (``read_range``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer, TopicPartition

from hub.kafka.clients import Clients

log = logging.getLogger(__name__)


class StallGuard:
    """Finds assigned partitions with unprocessed records and no recent progress."""

    def __init__(self, clients: Clients, group: str, grace_s: float = 10.0):
        self._clients, self._group, self.grace_s = clients, group, grace_s
        self._consumer: KafkaConsumer | None = None
        self.last_progress: dict[tuple[str, int], float] = {}
        self._started = time.monotonic()
        self._last_committed: dict[tuple[str, int], int] = {}

    def progressed(self, topic: str, partition: int) -> None:
        self.last_progress[(topic, partition)] = time.monotonic()

    def stalled(self, assigned: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """``{(topic, partition): committed offset}`` for partitions to seek back (blocking)."""
        if not assigned:
            return {}
        with self._renewed_on_failure():
            return self._stalled(assigned)

    @contextmanager
    def _renewed_on_failure(self) -> Iterator[None]:
        # A kafka-python consumer that lived through a broker outage can keep failing after the
        # broker is back (seen in the fault drills: "Failed to get offsets by timestamps" every
        # round, so skipped records were never re-read); the next call builds a fresh one.
        try:
            yield
        except Exception:
            self.close()
            raise

    def _stalled(self, assigned: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        consumer = self._kafka()
        tps = [TopicPartition(t, p) for t, p in assigned]
        ends = consumer.end_offsets(tps)
        now, out = time.monotonic(), {}
        for tp in tps:
            key = (tp.topic, tp.partition)
            committed = consumer.committed(tp) or 0
            unchanged = self._last_committed.get(key) == committed
            self._last_committed[key] = committed
            quiet_for = now - self.last_progress.get(key, self._started)
            if committed < ends[tp] and quiet_for > self.grace_s and unchanged:
                out[key] = committed
        return out

    def committed(self, topic: str, partition: int) -> int:
        """The group's committed offset for one partition (0 when nothing was committed)."""
        with self._renewed_on_failure():
            return self._kafka().committed(TopicPartition(topic, partition)) or 0

    def read_range(self, topic: str, partition: int, start: int, end: int) -> list:
        """Records ``start <= offset < end`` of one partition, read directly (blocking)."""
        with self._clients.reading() as reader:
            tp = TopicPartition(topic, partition)
            reader.assign([tp])
            reader.seek(tp, start)
            out: list = []
            deadline = time.monotonic() + 60
            while reader.position(tp) < end and time.monotonic() < deadline:
                for record in reader.poll(timeout_ms=500).get(tp, []):
                    if record.offset < end:
                        out.append(record)
            return out

    def _kafka(self) -> KafkaConsumer:
        # A group member would trigger a rebalance; this one only reads the group's offsets.
        if self._consumer is None:
            self._consumer = self._clients.consumer(group_id=self._group)
        return self._consumer

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except Exception as exc:  # noqa: BLE001 - being replaced; nothing to save
                log.debug("closing the stall guard's consumer: %s", exc)
