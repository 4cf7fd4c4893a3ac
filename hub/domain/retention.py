"""How long each class of topic keeps its records, and on what basis (PIPL art. 19: no longer
than the purpose needs).

- **Event topics** are the hub's system of record: a correction or annulment may arrive, and a
  replay or rebuild may be needed, for as long as the registration itself is kept by the
  department that made it, which for registrations of civil status, enterprises and social
  organisations is their whole life. So events are kept with no time limit unless the operator
  sets a limit per event type (``HUB_EVENT_RETENTION_DAYS``); erasure of one subject's personal
  fields inside that period is the job of crypto-shredding, not of retention.
- **Inboxes** carry the personal fields each department was granted; a department consumes its
  item within minutes and keeps it in its own system, and a lost item is sent again by a replay
  from the events. Bounded (30 days by default).
- **Dead letters** hold only a parked record's coordinates (topic, partition, offset), never its
  bytes; they are kept as long as the inboxes (30 days by default): past that, their source may be
  gone too.
- **Routing log, outcomes, deadlines**: which items were decided, completed or overdue — the case
  view (一件事) is rebuilt from them, so they are kept as long as the events. They carry ids and
  references, not payload fields.
- **The audit trail** (chain, anchors, intake) is kept forever: it proves who received what and
  why, and names subjects by pseudonym only.
- **People's keys** (crypto-shredding): a publisher's key intake keeps a key one day (the router
  copies it to the hub's key topic within seconds, and an erased key must not linger there); the
  hub's key topic is compacted and kept with no time limit — a key lives as long as its person's
  fields, and its tombstone (an erasure) removes it within :data:`MAX_COMPACTION_LAG_MS`.

Pure: the broker settings are derived from this at the Kafka edge (:mod:`hub.kafka.admin`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

DAY_MS = 86_400_000
# An erased key (its tombstone written) is compacted out of the key topic within a day: a bound set
# on the topic, not the cleaner's whim. Key topics roll a segment every hour (retention and
# compaction act on whole segments), so an intake's copy of a key is gone within a day and an
# hour; the tombstone outlives that (two days), so a reader always meets one or the other.
MAX_COMPACTION_LAG_MS = DAY_MS
KEY_SEGMENT_MS = 3_600_000
TOMBSTONE_RETENTION_MS = 2 * DAY_MS


class TopicClass(StrEnum):
    EVENTS = "events"
    INBOX = "inbox"
    DEAD_LETTERS = "dead letters"
    ROUTING_LOG = "routing log"
    OUTCOMES = "outcomes"
    DEADLINES = "deadlines"
    AUDIT = "audit"
    KEY_INTAKE = "key intake"
    SUBJECT_KEYS = "subject keys"


@dataclass(frozen=True)
class Retention:
    """``days`` None: kept with no time limit."""

    days: int | None
    basis: str
    compacted: bool = False  # the latest record per key is kept (a tombstone deletes it)
    short_segments: bool = False  # segments roll hourly, so retention acts within the hour

    @property
    def retention_ms(self) -> str:
        """The topic's ``retention.ms``."""
        return "-1" if self.days is None else str(self.days * DAY_MS)

    def __str__(self) -> str:
        kept = "no time limit" if self.days is None else f"{self.days} day{'s' if self.days != 1 else ''}"
        return f"{kept}, compacted" if self.compacted else kept


_BASES = {
    TopicClass.EVENTS: "as long as the registration is kept by its department (corrections, "
                       "annulments, replays and rebuilds need it)",
    TopicClass.INBOX: "until the department has taken its item (minutes), with a margin; a lost "
                      "item is sent again by a replay from the events",
    TopicClass.DEAD_LETTERS: "coordinates only, as long as the inboxes they point into",
    TopicClass.ROUTING_LOG: "as long as the events: the case view is rebuilt from it",
    TopicClass.OUTCOMES: "as long as the events: the case view is rebuilt from it",
    TopicClass.DEADLINES: "as long as the events: the case view is rebuilt from it",
    TopicClass.AUDIT: "forever: the proof of who received which data and why (pseudonyms only)",
    TopicClass.KEY_INTAKE: "a day: the router copies each key to the hub's key topic at once",
    TopicClass.SUBJECT_KEYS: "as long as its person's fields are kept; an erased key is compacted "
                             "away within a day",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention of every topic class; ``event_days`` limits chosen event types."""

    inbox_days: int = 30
    dead_letter_days: int = 30
    event_days: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, days in (("inbox_days", self.inbox_days), ("dead_letter_days", self.dead_letter_days),
                           *((f"event_days[{t}]", d) for t, d in self.event_days.items())):
            if not isinstance(days, int) or days < 1:
                raise ValueError(f"{name}: must be a whole number of days, at least 1 (got {days!r})")

    def of(self, kind: TopicClass, event_type: str | None = None) -> Retention:
        """The retention of a topic of class ``kind`` (of ``event_type``, for an event topic)."""
        if kind is TopicClass.EVENTS and event_type in self.event_days:
            return Retention(self.event_days[event_type], f"set for {event_type} by the operator")
        days = {TopicClass.INBOX: self.inbox_days,
                TopicClass.DEAD_LETTERS: self.dead_letter_days, TopicClass.KEY_INTAKE: 1}.get(kind)
        keys = kind in (TopicClass.KEY_INTAKE, TopicClass.SUBJECT_KEYS)
        return Retention(days, _BASES[kind], compacted=kind is TopicClass.SUBJECT_KEYS, short_segments=keys)

    def table(self, event_types: list[str]) -> list[tuple[str, Retention]]:
        """Every class (each event type on its own line) with its retention: for people."""
        rows = [(f"events: {t}", self.of(TopicClass.EVENTS, t)) for t in event_types]
        return rows + [(kind.value, self.of(kind)) for kind in TopicClass if kind is not TopicClass.EVENTS]
