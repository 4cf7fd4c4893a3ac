"""In-memory adapters of the hub's ports (:mod:`hub.domain.ports`), for unit tests and examples.

Each behaves as its real adapter does — the contract tests in ``tests/contract/`` run the same
suite against both — but holds its state in a dict or a list and needs no server:

| port | in-memory adapter | stands in for |
|---|---|---|
| ``CaseReader`` | :class:`InMemoryCases` | ``hub.projections.cases.CaseProjection`` |
| ``FactsReader`` | :class:`InMemoryFacts` | ``hub.projections.facts.FactsProjection`` |
| ``TimelineReader`` | :class:`InMemoryTimeline` | ``hub.projections.timeline.TimelineProjection`` |
| ``AuditNoteSink`` | :class:`InMemoryAuditNotes` | ``hub.audit.intake.KafkaAuditIntake`` |
| ``ReplaySink`` | :class:`InMemoryReplaySink` | ``hub.replay.sinks.FileSink`` / ``KafkaInboxSink`` |
| ``AgencyHandler`` | :class:`InMemoryAgency` | ``adapters.*``, ``consumers.reference_agencies`` |

Below the ports, :class:`InMemoryClients` (:mod:`hub.memory.kafka`) stands in for
:class:`hub.kafka.clients.Clients` with a broker and a schema registry in memory, so the real
Kafka adapters themselves can run without a server.
"""

from hub.memory.agency import InMemoryAgency
from hub.memory.audit_notes import InMemoryAuditNotes
from hub.memory.cases import InMemoryCases
from hub.memory.facts import InMemoryFacts
from hub.memory.kafka import InMemoryBroker, InMemoryClients, InMemoryRegistry
from hub.memory.replay_sink import InMemoryReplaySink
from hub.memory.timeline import InMemoryTimeline

__all__ = [
    "InMemoryAgency",
    "InMemoryAuditNotes",
    "InMemoryBroker",
    "InMemoryCases",
    "InMemoryClients",
    "InMemoryFacts",
    "InMemoryRegistry",
    "InMemoryReplaySink",
    "InMemoryTimeline",
]
