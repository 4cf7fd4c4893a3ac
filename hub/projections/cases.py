"""The case projection: every case (一件事) as derived from the routing log and the outcomes.

It reads both topics from the beginning (no consumer group, nothing committed), so building a
new one *is* the rebuild. ``catch_up()`` reads to the current end and returns; callers that want
read-your-writes call it before answering.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

from kafka import KafkaConsumer

from hub.config import HubSettings
from hub.domain.case import CaseState
from hub.domain.outcomes import OUTCOME_NAMESPACE, Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.log_reader import assign_from_start, drain
from hub.naming import TopicNames
from hub.registry import registry_client
from hub.wire.serde import model_deserializer


class CaseProjection:
    """In-memory cases, kept current from Kafka; thread-safe."""

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        registry = registry_client(settings)
        self._decoders = {
            self.names.routing_log: model_deserializer(registry, "RoutingDecision", RoutingDecision),
            self.names.outcomes: model_deserializer(registry, "Outcome", Outcome),
        }
        self.cases: dict[str, CaseState] = {}
        self.by_subject: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._consumer: KafkaConsumer | None = None

    def catch_up(self, timeout_ms: int = 200) -> int:
        """Apply everything written so far; returns the number of records applied."""
        with self._lock:
            applied = 0
            for record in drain(self._kafka(), timeout_ms):
                self._apply(record.topic, record.value)
                applied += 1
            return applied

    def _apply(self, topic: str, value: bytes) -> None:
        record = self._decoders[topic](value, topic)
        case = self.cases.setdefault(record.case_id, CaseState(case_id=record.case_id))
        if isinstance(record, RoutingDecision):
            case.apply_decision(record)
            for subject in record.subject_ids:
                self.by_subject.setdefault(subject, set()).add(record.case_id)
        else:
            case.apply_outcome(record)

    def case(self, case_id: str) -> CaseState | None:
        return self.cases.get(case_id)

    def for_subject(self, subject_id: str) -> list[CaseState]:
        found = [self.cases[c] for c in self.by_subject.get(subject_id, ())]
        return sorted(found, key=lambda c: c.opened_at or datetime.min)

    def overdue_outcomes(self, now: datetime) -> list[Outcome]:
        """OVERDUE outcomes for open items past their deadline and not yet flagged."""
        out = []
        for case in self.cases.values():
            for item in case.items.values():
                if item.late_at(now) and not item.overdue:
                    out.append(Outcome(
                        outcome_id=str(uuid.uuid5(OUTCOME_NAMESPACE, f"{item.item_id}/OVERDUE")),
                        item_id=item.item_id, case_id=case.case_id,
                        event_id=case.event_ids[0] if case.event_ids else "",
                        department=item.department, item=item.item, status=OutcomeStatus.OVERDUE,
                        reason=f"deadline {item.deadline_at.isoformat()} passed", attempts=0,
                        occurred_at=now))
        return out

    def _kafka(self) -> KafkaConsumer:
        if self._consumer is None:
            consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers,
                                     enable_auto_commit=False, group_id=None)
            assign_from_start(consumer, list(self._decoders))
            self._consumer = consumer
        return self._consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
