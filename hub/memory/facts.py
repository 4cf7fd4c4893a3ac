"""The facts reader in memory: facts derived from registration events by the same pure
functions the SQLite facts projection stores (:mod:`hub.domain.facts`), with its rules for
corrections, annulments and events held for documents (容缺受理)."""

from __future__ import annotations

from hub.domain.envelope import Event
from hub.domain.facts import Fact, FactChange, change_for, current
from hub.memory.log import InMemoryLog
from hub.wire.codec import event_to_record


class InMemoryFacts(InMemoryLog[dict]):
    """:class:`~hub.domain.ports.FactsReader` in dicts, standing in for
    :class:`~hub.projections.facts.FactsProjection`.

    ``add(*events)`` appends registration events (sealed :class:`~hub.domain.envelope.Event`
    objects or their decoded records, ``{"envelope": ..., "payload": ...}``), as departments
    publish them; ``catch_up()`` applies them in the order added. As in the projection, a
    correction replaces the facts of the whole chain it corrects, an annulment withdraws them,
    a held event states nothing until every missing document is supplemented, and documents
    supplemented before their event count once it comes."""

    name = "in-memory facts"

    def __init__(self, *events: Event | dict):
        super().__init__()
        self._facts: dict[str, list[Fact]] = {}  # event id -> the facts it states now
        self._origin: dict[str, str] = {}  # event id -> first event of its chain of corrections
        self._held: dict[str, list[str]] = {}  # event id -> documents still missing
        self._early: dict[str, list[str]] = {}  # event id not read yet -> documents supplied
        self.add(*events)

    def add(self, *events: Event | dict) -> None:
        for event in events:
            self._add(event_to_record(event) if isinstance(event, Event) else event)

    def _apply(self, event: dict) -> None:
        change = change_for(event)
        if change.supplements is not None:
            self._supplement(change)
            return
        origin = change.event_id
        if change.withdraws is not None:
            origin = self._origin.get(change.withdraws, change.withdraws)
            chain = [e for e, first in self._origin.items() if first == origin]
            for withdrawn in (*chain, change.withdraws):
                self._facts.pop(withdrawn, None)
        self._origin[change.event_id] = origin
        self._facts[change.event_id] = list(change.facts)
        if change.held_for:  # only a held event looks for documents read ahead of it
            supplied = self._early.pop(change.event_id, [])
            missing = [d for d in change.held_for if d not in supplied]
            if missing:
                self._held[change.event_id] = missing

    def _supplement(self, change: FactChange) -> None:
        held = self._held.get(change.supplements)
        if held is None:
            if change.supplements not in self._origin:  # its event comes later (another topic)
                self._early[change.supplements] = self._early.get(change.supplements, []) + list(change.documents)
            return  # a supplement of an event that was not held: the router dead-letters it
        missing = [d for d in held if d not in change.documents]
        if missing:
            self._held[change.supplements] = missing
        else:
            del self._held[change.supplements]

    def facts_for(self, subject_id: str) -> list[Fact]:
        """The subject's current facts (every field; filter with ``visible_to`` before showing)."""
        with self._lock:
            return current([f for event_id, facts in self._facts.items() if event_id not in self._held
                            for f in facts if f.subject_id == subject_id])
