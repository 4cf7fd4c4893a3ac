"""Guard against faust-streaming skipping a record around start-up and rebalances.

Seen here: a record already waiting when the worker starts can be fetched while faust's flow is
suspended for recovery; faust then advances its read offset without handing the record to the
agent. Nothing is committed past it, so it is not lost, but it waits until the next restart.
The guard notices a partition whose committed offset is behind its end while the agent has not
processed anything from it for ``grace_s``, and seeks that partition back to its committed
offset. Re-reading a record that was in fact processed is harmless: routing is deterministic.

A partition that is merely waiting its turn is not stalled. With a backlog (a restart after
hours down, the memory benchmark's 20,000 events ahead of the router) one agent works through
36 partitions and a partition can wait longer than ``grace_s`` for its records to come round;
seeking it back then threw away what was fetched for it and made the wait longer still — the
benchmark's router, slowed by a neighbour's load, fell from 170 to 10 events/s, seeking back
dozens of partitions every round. So the patience grows with the backlog: a partition is
stalled once it has been quiet for ``grace_s`` plus the time the router, at the rate it routed
since the last round, needs for every record waiting on its other partitions (at most
``max_patience_s``). Without a backlog that is ``grace_s``, as before; a router that routed
nothing at all since the last round waits ``grace_s`` only.

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

    def __init__(self, clients: Clients, group: str, grace_s: float = 10.0, max_patience_s: float = 600.0,
                 monotonic=time.monotonic):
        self._clients, self._group, self.grace_s = clients, group, grace_s
        self.max_patience_s = max_patience_s
        self._now = monotonic
        self._consumer: KafkaConsumer | None = None
        self.last_progress: dict[tuple[str, int], float] = {}
        self._started = monotonic()
        self._last_committed: dict[tuple[str, int], int] = {}
        self._handled = 0  # records the agent has handled (progressed) so far
        self._last_round: tuple[float, int] = (self._started, 0)  # (when, handled then)

    def progressed(self, topic: str, partition: int) -> None:
        self.last_progress[(topic, partition)] = self._now()
        self._handled += 1

    def give_grace(self, topic: str, partition: int) -> None:
        """Start ``partition``'s quiet time again (after seeking it back), counting nothing."""
        self.last_progress[(topic, partition)] = self._now()

    def handling_rate(self, now: float) -> float:
        """Records handled per second since the last round; starts the next round."""
        (then, handled_then), handled = self._last_round, self._handled
        self._last_round = (now, handled)
        return (handled - handled_then) / (now - then) if now > then else 0.0

    def patience_s(self, backlog: int, rate: float) -> float:
        """How long a partition may stay quiet before it counts as stalled: ``grace_s`` plus the
        time ``backlog`` records (those waiting on the router's other partitions) take at
        ``rate`` (see the module's docstring), at most ``max_patience_s``."""
        if backlog <= 0 or rate <= 0:
            return self.grace_s  # nothing ahead of it, or nothing moving at all
        return min(self.grace_s + backlog / rate, self.max_patience_s)

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
        committed = {tp: consumer.committed(tp) or 0 for tp in tps}
        now, out = self._now(), {}
        rate = self.handling_rate(now)
        lag = {tp: max(0, ends[tp] - committed[tp]) for tp in tps}
        backlog = sum(lag.values())
        for tp in tps:
            key = (tp.topic, tp.partition)
            unchanged = self._last_committed.get(key) == committed[tp]
            self._last_committed[key] = committed[tp]
            quiet_for = now - self.last_progress.get(key, self._started)
            patience = self.patience_s(backlog - lag[tp], rate)
            if committed[tp] < ends[tp] and quiet_for > patience and unchanged:
                out[key] = committed[tp]
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
