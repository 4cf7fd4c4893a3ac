"""What the hub's core needs from the outside world, as typed protocols (ports).

Each port has a real adapter (Kafka, SQLite, HTTP) and an in-memory one in :mod:`hub.memory`
used by unit tests and examples; one contract test suite per port (``tests/contract/``) runs
against both, so a fake can never drift from the real thing. The real Kafka adapters run there
without a server too, on :class:`hub.memory.InMemoryClients` (a broker and a registry in memory),
and once more on the running stack as integration tests.

The readers answer from what they have applied: ``catch_up()`` first applies what the log holds
now (and returns how many records that was), raising ``Unavailable`` / ``TopicMissing`` if it
cannot read it.

| port | real adapter | in-memory adapter |
|---|---|---|
| :class:`CaseReader` | ``hub.projections.cases.CaseProjection`` | ``hub.memory.InMemoryCases`` |
| :class:`FactsReader` | ``hub.projections.facts.FactsProjection`` | ``hub.memory.InMemoryFacts`` |
| :class:`TimelineReader` | ``hub.projections.timeline.TimelineProjection`` | ``hub.memory.InMemoryTimeline`` |
| :class:`AuditNoteSink` | ``hub.audit.intake.KafkaAuditIntake`` | ``hub.memory.InMemoryAuditNotes`` |
| :class:`ReplaySink` | ``hub.replay.sinks.KafkaInboxSink`` / ``FileSink`` | ``hub.memory.InMemoryReplaySink`` |
| :class:`AgencyHandler` | ``adapters.*`` / ``consumers.reference_agencies`` | ``hub.memory.InMemoryAgency`` |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hub.domain.audit_entries import Note
from hub.domain.case import CaseState
from hub.domain.facts import Fact
from hub.domain.outcomes import HandlerResult
from hub.domain.replay import ReplayedItem
from hub.domain.routing import WorkItem


@runtime_checkable
class CaseReader(Protocol):
    """Cases (一件事) as derived from the routing log and the outcomes."""

    def catch_up(self) -> int:
        """Apply what the log holds now; raises ``Unavailable`` / ``TopicMissing`` if it cannot."""

    def case(self, case_id: str) -> CaseState | None: ...

    def for_subject(self, subject_id: str) -> list[CaseState]: ...

    def all_cases(self) -> list[CaseState]:
        """Every case (the headline figures: :mod:`hub.domain.figures`)."""


@runtime_checkable
class FactsReader(Protocol):
    """The current facts about a subject (every field; filter by grant before disclosing)."""

    def catch_up(self) -> int: ...

    def facts_for(self, subject_id: str) -> list[Fact]: ...


@runtime_checkable
class TimelineReader(Protocol):
    """Who has a subject's data and why, as the audit trail tells it."""

    def catch_up(self) -> int: ...

    def subject_timeline(self, subject_id: str, refs: Sequence[str] | None = None) -> dict:
        """``refs``: every name the subject may carry in the trail (its pseudonyms under each
        key, and the number itself in records older than pseudonyms); default ``[subject_id]``."""
        ...


@runtime_checkable
class AuditNoteSink(Protocol):
    """Where replays and fact queries are noted for the auditor to chain.

    ``post`` returns only once the note is durable; if it cannot be written it raises
    ``NotAudited`` and the caller must treat its action as not done."""

    def post(self, note: Note) -> None: ...


@runtime_checkable
class ReplaySink(Protocol):
    """Where a replay's items go. ``emit`` each, ``finish`` (everything durable), then either
    ``commit`` (the replay was audited: make the output visible) or ``abort`` (it was not)."""

    def emit(self, replayed: ReplayedItem) -> None: ...

    def finish(self) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


@runtime_checkable
class AgencyHandler(Protocol):
    """An agency's system: completes or rejects a work item, idempotently by ``item.item_id``
    (a redelivered item gets the first answer again); raising means "try again later"."""

    def __call__(self, item: WorkItem) -> HandlerResult: ...
