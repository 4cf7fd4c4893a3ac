"""References and ids are owned: which events may change which, as pure rules.

The hub refuses an event that would reach into another department's data:

- **one writer per topic** — an event must come from a department that publishes its type,
  on that department's own topic (:func:`writer_refusal`);
- **references are owned** — a correction or annulment (``refers_to``) must name an event the
  hub has recorded, published by the same department, of the same type, filed under the same
  subject (its Kafka key); an annulment is also about the same primary subject (``subject_ids[0]``),
  a correction may change it (a mistyped identity number) and is then filed under its original's
  subject (``refers_to.subject_id``), so whichever router holds the original sees it; a 补齐材料 supplement must name an event held for documents
  (容缺受理) that the supplement's own department accepted (:func:`reference_refusal`);
- **ids are owned** — an event id already recorded with different content is not that event
  again but a forgery or a mistake (:func:`id_refusal`; same content is the harmless
  re-delivery), and a case (一件事) is joined only by the department that opened it
  (:func:`case_refusal`).

Each rule returns None (accepted) or the refusal reason, naming the rule; the router
dead-letters with it, the projections skip with it. What a rule needs of the original is what
the hub recorded when it first saw it (:class:`Recorded`), never the original's data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from hub.domain.envelope import EventType, filing_subject

SUPPLEMENT = EventType.DOCUMENTS_SUPPLEMENTED.value


@dataclass(frozen=True)
class Recorded:
    """What the hub keeps about an event it accepted: who published it, what it was, about
    whom, a fingerprint of its content, and the subject it is filed under. ``None``: not
    recorded (an entry written before the hub kept it; ``filed_under``: its primary subject)."""

    department: str | None
    event_type: str | None
    subject: str | None
    fingerprint: str | None = None
    filed_under: str | None = None

    @classmethod
    def of(cls, event: dict) -> "Recorded":
        env = event["envelope"]
        subject = str(env["subject_ids"][0])
        filed = filing_subject(env["subject_ids"], env.get("refers_to"))
        # None when it is the primary subject, as from_json reads an entry that omits it.
        return cls(str(env["source_department"]), str(env["event_type"]), subject,
                   fingerprint(event), filed if filed != subject else None)

    @property
    def key(self) -> str | None:
        """The subject the event is filed under (its Kafka key)."""
        return self.filed_under or self.subject

    def as_json(self) -> dict:
        return {"department": self.department, "event_type": self.event_type,
                "subject": self.subject, "fingerprint": self.fingerprint,
                **({"filed_under": self.filed_under} if self.filed_under not in (None, self.subject) else {})}

    @classmethod
    def from_json(cls, data: dict) -> "Recorded":
        return cls(data.get("department"), data.get("event_type"), data.get("subject"),
                   data.get("fingerprint"), data.get("filed_under"))


def _plain(value: Any) -> Any:
    """One value as canonical JSON data (times in UTC, money exact); None-valued keys dropped,
    so an optional field added to a schema later does not change an old event's fingerprint."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    return value


_NOT_FINGERPRINTED = frozenset({"recorded_at", "schema_version", "protected"})


def fingerprint(event: dict) -> str:
    """SHA-256 of the canonical JSON of a decoded event, without what the hub adds when it
    seals it (``recorded_at``, ``schema_version``) or what encrypting its personal fields adds
    (``protected``: fresh randomness each time; the fingerprint is of the revealed payload): a
    department's retry with the same event id and the same submission has the same fingerprint."""
    env = {k: v for k, v in event["envelope"].items() if k not in _NOT_FINGERPRINTED}
    text = json.dumps(_plain({"envelope": env, "payload": event.get("payload")}),
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def writer_refusal(event: dict, topic: str, topic_event_type: str, topic_writer: str | None,
                   publishers: frozenset[str]) -> str | None:
    """One writer per topic: the event's department publishes its type, on its own topic."""
    env = event["envelope"]
    department, event_type = str(env["source_department"]), str(env["event_type"])
    if event_type != topic_event_type:
        return (f"one writer per topic: a {event_type} event on {topic}, the topic of "
                f"{topic_event_type}")
    if department not in publishers:
        return (f"one writer per topic: {department} does not publish {event_type} "
                f"(publishers: {', '.join(sorted(publishers))})")
    if topic_writer != department:
        return (f"one writer per topic: an event from {department} on {topic}, which only "
                f"{topic_writer or 'the hub'} writes")
    return None


def reference_refusal(event: dict, original: Recorded | None) -> str | None:
    """References are owned. ``original``: what was recorded of the event ``event`` refers to —
    for a correction or annulment, any recorded event (routed or held); for a supplement, the
    event held for documents (None if none is held under that id)."""
    env = event["envelope"]
    department = str(env["source_department"])
    if str(env["event_type"]) == SUPPLEMENT:
        return supplement_refusal(department, event["payload"]["supplements_event_id"], original)
    refers = env.get("refers_to")
    if not refers:
        return None
    kind, target = str(refers["change_kind"]).lower(), refers["event_id"]
    prefix = f"{kind} refused (references are owned): event {target}"
    if original is None:
        return (f"{prefix} was never recorded by the hub (or is filed under another subject: an event "
                "that changes the primary subject names its original's in refers_to.subject_id)")
    if original.department != department:
        return f"{prefix} was published by {original.department or 'an unrecorded department'}, not by {department}"
    if original.event_type != str(env["event_type"]):
        return f"{prefix} is a {original.event_type or 'unrecorded type'} event, not {env['event_type']}"
    # No identity numbers in these reasons: they are logged and dead-lettered.
    if original.key != filing_subject(env["subject_ids"], refers):
        return (f"{prefix} is filed under another subject (an event that changes the primary subject "
                "names its original's in refers_to.subject_id)")
    if kind == "annulment" and original.subject != str(env["subject_ids"][0]):
        return f"{prefix} is about another primary subject"
    return None


def supplement_refusal(department: str, target: str, held: Recorded | None) -> str | None:
    """A 补齐材料 from ``department`` for event ``target``: ``held`` is what was recorded of
    ``target`` if it is held for documents (None if it is not)."""
    if held is None:
        return (f"supplement refused: no event {target} is waiting for documents "
                "(unknown id, already released, or keyed by another subject)")
    if held.department != department:
        return (f"supplement refused (references are owned): event {target} was accepted by "
                f"{held.department or 'an unrecorded department'}, not by {department}")
    return None


def withdrawal_refusal(department: str, target: str, original: Recorded | None, subject_id: str,
                       items: list[str], withdrawable: set[str]) -> str | None:
    """A 撤回同意 from ``department`` for the consent given with event ``target`` (filed under
    ``subject_id``): ``original`` is what was recorded of ``target`` (None: nothing), and
    ``withdrawable`` the consent-based items of its type."""
    prefix = f"consent withdrawal refused (references are owned): event {target}"
    if original is None:
        return (f"consent withdrawal refused: event {target} was never recorded by the hub (unknown id, "
                "or filed under another subject: name the subject the event is filed under)")
    if original.department != department:
        return f"{prefix} was recorded by {original.department or 'an unrecorded department'}, not by {department}"
    if original.key != subject_id:
        return f"{prefix} is filed under another subject"
    unknown = sorted(set(items) - withdrawable)
    if unknown:
        return (f"consent withdrawal refused: {', '.join(unknown)} is not a consent-based item of "
                f"{original.event_type} (an item the law grants does not rest on consent); "
                f"consent-based: {', '.join(sorted(withdrawable)) or 'none'}")
    return None


def id_refusal(event: dict, recorded: Recorded | None, event_fingerprint: str | None = None) -> str | None:
    """Ids are owned: an event id already recorded must come back with the same content."""
    if recorded is None:
        return None
    mine = event_fingerprint or fingerprint(event)
    if recorded.fingerprint == mine:
        return None  # the same event again (a re-delivery, a retry): harmless
    event_id = event["envelope"]["event_id"]
    if recorded.fingerprint is None:
        return (f"event id {event_id} was already used (recorded before content fingerprints were "
                "kept): refused, as it cannot be told apart from a reuse with different content")
    return f"event id reused with different content: {event_id} was already recorded"


def case_refusal(case_id: str, department: str, opener: str | None) -> str | None:
    """A department joins only a case (一件事) it opened; ``opener``: who opened case
    ``case_id`` (None or empty: a new case, which ``department``'s event opens)."""
    if not opener or opener == department:
        return None
    return (f"case refused (ids are owned): case {case_id} was opened by {opener}; "
            f"{department} may not join it")


def outcome_refusal(department: str, item_id: str, routed_to: str) -> str | None:
    """An outcome counts only from the department its item was routed to."""
    if department == routed_to:
        return None
    return (f"outcome refused (references are owned): item {item_id} was routed to {routed_to}, "
            f"not to {department}")


class Refused(ValueError):
    """An event refused by one of these rules; its message is the reason (dead letters name it)."""
