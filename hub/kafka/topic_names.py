"""Every topic name the hub uses, derived from one prefix, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.domain.departments import Department


@dataclass(frozen=True)
class TopicNames:
    """``<prefix>.events.<type>``, ``<prefix>.inbox.<department>``, outcomes, routing log, DLQ."""

    prefix: str

    def events(self, spec: EventSpec) -> str:
        return spec.topic(self.prefix)

    def all_events(self) -> list[str]:
        return [self.events(spec) for spec in CATALOGUE.values()]

    def inbox(self, department: Department) -> str:
        return f"{self.prefix}.inbox.{department.value.lower()}"

    def all_inboxes(self) -> list[str]:
        return [self.inbox(d) for d in Department]

    @property
    def outcomes(self) -> str:
        return f"{self.prefix}.outcomes"

    @property
    def routing_log(self) -> str:
        return f"{self.prefix}.routing"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dlq"

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
        """Topics the hub writes itself (everything but the department event topics)."""
        return [*self.all_inboxes(), self.outcomes, self.routing_log, self.dead_letters]

    def schema_of(self, topic: str) -> str | None:
        """Record name of the value schema of one of the hub's internal topics."""
        if topic in self.all_inboxes():
            return "WorkItem"
        return {self.outcomes: "Outcome", self.routing_log: "RoutingDecision",
                self.dead_letters: "DeadLetter"}.get(topic)
