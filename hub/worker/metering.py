"""The router's metrics (:mod:`hub.observability.metrics`): what each batch routed, and how long
its stages took.

Times are wall-clock seconds. An event's wait and its routing latency are measured from its
Kafka timestamp, which its publisher's clock set (CreateTime): across machines they include
the clocks' skew, so a negative span is recorded as zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from hub.observability import metrics
from hub.domain.departments import Department
from hub.kafka.topic_names import TopicNames
from hub.worker.processor import Output, SourceRecord


class RouterMeter:
    def __init__(self, names: TopicNames):
        self._inbox_of = {names.inbox(d): d.value for d in Department}
        self._dead_letters = set(names.all_dead_letters())
        self._type_of = {topic: spec.event_type for topic, spec in names.event_specs().items()}

    def taken(self, timestamps: Sequence[float], now: float) -> None:
        """A batch taken by the router at ``now``: each event's wait since its timestamp."""
        for stamp in timestamps:
            metrics.ROUTER_STAGE.labels("wait").observe(max(0.0, now - stamp))

    def routed(self, records: Sequence[SourceRecord], outputs: Sequence[Output], timestamps: Sequence[float],
               started: float, prepared: float, acked: float) -> None:
        """A batch whose outputs were acknowledged at ``acked`` (prepared from ``started`` to
        ``prepared``)."""
        metrics.ROUTER_STAGE.labels("prepare").observe(max(0.0, prepared - started))
        metrics.ROUTER_STAGE.labels("send").observe(max(0.0, acked - prepared))
        for stamp in timestamps:
            metrics.ROUTING_LATENCY.observe(max(0.0, acked - stamp))
        for event_type, n in Counter(self._type_of.get(r.topic, "unknown") for r in records).items():
            metrics.EVENTS_ROUTED.labels(event_type).inc(n)
        items = Counter(self._inbox_of[o.topic] for o in outputs if o.topic in self._inbox_of)
        for department, n in items.items():
            metrics.ITEMS_ROUTED.labels(department).inc(n)
        self.expired(outputs)

    def expired(self, outputs: Sequence[Output]) -> None:
        """Outputs written: the dead letters among them are counted."""
        parked = sum(o.topic in self._dead_letters for o in outputs)
        if parked:
            metrics.DEAD_LETTERS.labels("router").inc(parked)
