"""Every topic name the hub uses, derived from one prefix, in one place.

One writer per topic, so the broker's ACLs can enforce who wrote what:

- ``<prefix>.events.<type>``: the event type's one publisher (its owner); a type several
  departments publish (``documents_supplemented``) has one topic per publisher,
  ``<prefix>.events.<type>.<department lower>``;
- ``<prefix>.outcomes.<department lower>``: that department's inbox (its agency) reports there;
- everything else (inboxes, routing log, dead letters, ``<prefix>.deadlines`` with the OVERDUE
  outcomes of the deadline watch, the audit topics) is written by the hub itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.domain.departments import Department


@dataclass(frozen=True)
class TopicNames:
    """``<prefix>.events.<type>[.<department>]``, ``<prefix>.inbox.<department>``,
    ``<prefix>.outcomes.<department>``, deadlines, routing log, DLQ, audit."""

    prefix: str

    # -- department event topics ------------------------------------------------------------------

    def events(self, spec: EventSpec, publisher: Department | None = None) -> str:
        """The topic ``publisher`` writes ``spec``'s events to.

        A type several departments publish has one topic per publisher (one writer per topic):
        the publisher is required for it. For a single-publisher type it may be None or the owner.
        """
        if publisher is None and spec.shared:
            raise ValueError(
                f"{spec.event_type.value} is published by several departments and each has its "
                "own topic (one writer per topic): name the publishing department")
        if publisher is not None and publisher not in spec.publishers:
            raise ValueError(
                f"{publisher.value} does not publish {spec.event_type.value} (one writer per topic: "
                f"its publishers are {', '.join(sorted(d.value for d in spec.publishers))})")
        return spec.topic(self.prefix, publisher)

    def topics_of(self, spec: EventSpec) -> list[str]:
        """Every topic ``spec``'s events are published on (one per publisher if shared)."""
        if not spec.shared:
            return [self.events(spec)]
        return [self.events(spec, d) for d in Department if d in spec.publishers]

    def all_events(self) -> list[str]:
        """Every event topic, every publisher's."""
        return [t for spec in CATALOGUE.values() for t in self.topics_of(spec)]

    def event_specs(self) -> dict[str, EventSpec]:
        """Event topic → the event type published on it."""
        return {t: spec for spec in CATALOGUE.values() for t in self.topics_of(spec)}

    def event_topics_of(self, department: Department) -> list[str]:
        """The event topics ``department`` may write (and no other department may)."""
        return [self.events(spec, department) for spec in CATALOGUE.values()
                if department in spec.publishers]

    # -- inboxes and outcomes -------------------------------------------------------------------

    def inbox(self, department: Department) -> str:
        return f"{self.prefix}.inbox.{department.value.lower()}"

    def all_inboxes(self) -> list[str]:
        return [self.inbox(d) for d in Department]

    def outcomes_of(self, department: Department) -> str:
        """Where ``department``'s inbox reports its items' outcomes (it alone writes there)."""
        return f"{self.prefix}.outcomes.{Department(department).value.lower()}"

    def all_outcomes(self) -> list[str]:
        """Every department's outcome topic (not the hub's :attr:`deadlines`)."""
        return [self.outcomes_of(d) for d in Department]

    @property
    def deadlines(self) -> str:
        """OVERDUE outcomes, written by the router's deadline watch (the hub's, not a department's)."""
        return f"{self.prefix}.deadlines"

    def writer_of(self, topic: str) -> Department | None:
        """The one department that writes ``topic`` (an event, outcome or its dead-letter topic);
        None for the hub's own topics and for names that are not the hub's."""
        return self._writers.get(topic)

    @cached_property
    def _writers(self) -> dict[str, Department]:
        writers = {self.outcomes_of(d): d for d in Department}
        writers.update({self.dead_letters_of(d): d for d in Department})
        writers.update({self.key_intake(d): d for d in Department})
        for department in Department:
            writers.update(dict.fromkeys(self.event_topics_of(department), department))
        return writers

    # -- people's keys (crypto-shredding: ARCHITECTURE.md) ------------------------------------

    def key_intake(self, department: Department) -> str:
        """Where ``department``'s publishers put the keys they mint (it alone writes there; the
        router copies them to :attr:`subject_keys`, so the intake keeps them a day only)."""
        return f"{self.prefix}.subject-keys.{Department(department).value.lower()}"

    def all_key_intakes(self) -> list[str]:
        return [self.key_intake(d) for d in Department]

    @property
    def subject_keys(self) -> str:
        """Every person's keys, compacted; written only by the router (a tombstone erases a key)."""
        return f"{self.prefix}.subject-keys"

    def key_topics(self) -> list[str]:
        """The people's keys: the departments' intakes and the hub's compacted topic."""
        return [*self.all_key_intakes(), self.subject_keys]

    # -- the hub's own topics -------------------------------------------------------------------

    @property
    def routing_log(self) -> str:
        return f"{self.prefix}.routing"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dlq"

    def dead_letters_of(self, department: Department) -> str:
        """Where a department's inbox parks the items it cannot take: its own topic, so a
        department can neither forge the hub's dead letters nor another department's."""
        return f"{self.prefix}.dlq.{Department(department).value.lower()}"

    def all_dead_letters(self) -> list[str]:
        """The hub's dead letters (router, auditor) and every department's."""
        return [self.dead_letters, *(self.dead_letters_of(d) for d in Department)]

    @property
    def audit(self) -> str:
        """The hash-chained audit trail (JSON values; written only by the auditor)."""
        return f"{self.prefix}.audit"

    @property
    def audit_anchors(self) -> str:
        """Chain heads, anchored periodically so an auditor can keep them outside the system."""
        return f"{self.prefix}.audit.anchors"

    @property
    def audit_intake(self) -> str:
        """Audit facts from other components (replays, data queries), chained by the auditor."""
        return f"{self.prefix}.audit.intake"

    def audit_topics(self) -> list[str]:
        """JSON topics of the audit trail: an auditor can read them with no schema registry."""
        return [self.audit, self.audit_anchors, self.audit_intake]

    def internal(self) -> list[str]:
        """Topics with one of the hub's own record schemas (everything but the department
        event topics and the audit topics): inboxes, outcomes, deadlines, routing log, DLQ."""
        return [*self.all_inboxes(), *self.all_outcomes(), self.deadlines, self.routing_log,
                *self.all_dead_letters()]

    def with_hub_schemas(self) -> list[str]:
        """Every topic whose values are one of the hub's own records (whose subjects provisioning
        registers): :meth:`internal` and :meth:`key_topics`."""
        return [*self.internal(), *self.key_topics()]

    def schema_of(self, topic: str) -> str | None:
        """Record name of the value schema of one of the hub's internal topics."""
        if topic in self.all_inboxes():
            return "WorkItem"
        if topic in self.all_outcomes() or topic == self.deadlines:
            return "Outcome"
        if topic in self.all_dead_letters():
            return "DeadLetter"
        if topic == self.subject_keys or topic in self.all_key_intakes():
            return "SubjectKey"
        return {self.routing_log: "RoutingDecision"}.get(topic)
