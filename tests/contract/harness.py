"""What the contract suites share: the kinds of implementation a suite runs against, a writer
that puts records on a prefix's topics as the hub's own writers do, and a reader under test
with the means to feed it and to cut it off.

Kinds: ``in-memory`` — the :mod:`hub.memory` adapter; ``real`` — the real adapter on
:class:`~hub.memory.kafka.InMemoryClients` (SQLite, files and HTTP as they are; Kafka and the
registry in memory), no server needed; ``real-on-kafka`` — the real adapter on the running
stack (marked ``integration``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hub.audit.codec import encode_record
from hub.domain.audit import GENESIS, AuditRecord
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.wire.codec import record_to_event
from hub.wire.serde import event_serializer, model_serializer

IN_MEMORY, REAL, REAL_ON_KAFKA = "in-memory", "real", "real-on-kafka"
KINDS = [IN_MEMORY, REAL, pytest.param(REAL_ON_KAFKA, marks=pytest.mark.integration)]


class LogWriter:
    """Writes to the topics of ``clients``' prefix what the hub's writers write there, in the
    same wire format: routing decisions and outcomes (registry Avro, keyed by case id), events
    as wire records (registry Avro, keyed by their first subject), audit contents (chained
    audit records, to the partition asked for)."""

    def __init__(self, clients: Clients):
        self.clients = clients
        self.names = TopicNames(clients.settings.topic_prefix)
        self._heads: dict[int, str] = {}  # audit partition -> hash of its last record
        self._encoders: dict[str, Callable] = {}

    def write(self, *records: RoutingDecision | Outcome | dict, partition: int = 0) -> None:
        for record in records:
            topic, key, value = self._encoded(record, partition)
            self.send(topic, key, value, partition if topic == self.names.audit else None)

    def send(self, topic: str, key: bytes, value: bytes, partition: int | None = None):
        sent = self.clients.shared_producer().send(topic, key=key, value=value, partition=partition)
        return sent.get(timeout=30)

    def _encoder(self, schema: str, make: Callable[[], Callable]) -> Callable:
        if schema not in self._encoders:
            self._encoders[schema] = make()
        return self._encoders[schema]

    def _topic_of(self, record: RoutingDecision | Outcome) -> str:
        """Where the hub's writers put it: the routing log; a department's outcome topic; the
        hub's deadlines topic for OVERDUE."""
        if isinstance(record, RoutingDecision):
            return self.names.routing_log
        if record.status is OutcomeStatus.OVERDUE:
            return self.names.deadlines
        return self.names.outcomes_of(record.department)

    def _encoded(self, record, partition: int) -> tuple[str, bytes, bytes]:
        registry = self.clients.registry
        if isinstance(record, (RoutingDecision, Outcome)):
            name = type(record).__name__
            topic = self._topic_of(record)
            encode = self._encoder(name, lambda: model_serializer(registry, name))
            return topic, record.case_id.encode(), encode(record, topic)
        if "envelope" in record:  # an event's wire record
            env = record["envelope"]
            spec = CATALOGUE[EventType(str(env["event_type"]))]
            topic = self.names.events(spec, Department(env["source_department"]))
            encode = self._encoder(topic, lambda: event_serializer(registry, spec))
            return topic, str(env["subject_ids"][0]).encode(), encode(record_to_event(spec, record), topic)
        chained = AuditRecord.after(self._heads.get(partition, GENESIS), record)
        self._heads[partition] = chained.hash
        return self.names.audit, b"audit", encode_record(chained)


def cut_off(clients: Clients) -> Callable[[], None]:
    """How to make ``clients``' Kafka unreachable: only the in-memory broker can be stopped."""

    def stop() -> None:
        if not isinstance(clients, InMemoryClients):
            pytest.skip("a test does not stop the shared stack")
        clients.broker.refuse()

    return stop


@dataclass
class Feed:
    """A reader under test; ``add(*records)`` puts records where it reads them from;
    ``cut_off()`` makes that place unreachable."""

    reader: Any
    add: Callable[..., Any]
    cut_off: Callable[[], None]

    def added(self, *records, **where) -> int:
        """Add ``records`` and catch up; how many records the reader applied."""
        self.add(*records, **where)
        return self.reader.catch_up()
