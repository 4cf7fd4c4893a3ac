"""Which payload fields describe a natural person, per event type, and what a field reads as
once encrypted or erased (crypto-shredding: ARCHITECTURE.md, "Erasure by crypto-shredding").

Each person in an event is a :class:`PersonPart`: where their identifier is and which fields are
theirs. Those fields travel encrypted to the person's own key; in the clear payload each carries a
placeholder of its type (the Avro schema is held FULL_TRANSITIVE, so a field cannot become
optional), and the envelope's ``protected`` blocks say which fields are placeholders. What stays
clear, on purpose: the identifiers the envelope files the event under (``subject_ids``, the
Kafka key), a person's sex (their identity number says it already), enumerations (an Avro enum
has no symbol to spare for a placeholder: a death's cause category stays coarse and clear), and
what is about an organisation rather than a person.

Pure data and functions over decoded records (``{"envelope": …, "payload": …}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hub.domain.envelope import EventType
from hub.domain.rules import lookup

ERASED = "erased"  # what views show for a field whose person was erased


@dataclass(frozen=True)
class PersonPart:
    """One person of an event: their role, where their identifier is, and their fields."""

    role: str
    subject_field: str
    fields: tuple[str, ...]


def _person(role: str, *extra: str) -> PersonPart:
    base = f"payload.{role}"
    return PersonPart(role, f"{base}.id_number", (f"{base}.name", f"{base}.id_number", *extra))


PERSONS: dict[EventType, tuple[PersonPart, ...]] = {
    EventType.SOCIAL_ORGANISATION_REGISTERED: (_person("legal_representative"),),
    EventType.ENTERPRISE_REGISTERED: (_person("legal_representative"),),
    EventType.MARRIAGE_REGISTERED: (_person("spouse_a"), _person("spouse_b")),
    EventType.BIRTH_CERTIFIED: (
        # The child has no identity number yet: the birth certificate number is theirs.
        PersonPart("child", "payload.certificate_number",
                   ("payload.child_name", "payload.born_at", "payload.birth_place",
                    "payload.birth_weight_grams")),
        _person("mother"), _person("father")),
    EventType.DEATH_CERTIFIED: (
        _person("deceased", "payload.died_at", "payload.place_of_death"),),
    EventType.RETIREMENT_APPROVED: (_person("person", "payload.monthly_pension"),),
    EventType.DOCUMENTS_SUPPLEMENTED: (),
    EventType.CONSENT_WITHDRAWN: (),
}

# An encrypted field's placeholder, by the type of its value: plainly not data, and valid Avro.
_PLACEHOLDERS: dict[type, Any] = {str: "", int: 0}


def persons_in(event: dict) -> list[tuple[PersonPart, str]]:
    """The people of a decoded event who are present in it, with their identifiers."""
    event_type = EventType(str(event["envelope"]["event_type"]))
    out = []
    for part in PERSONS[event_type]:
        subject = lookup(event, part.subject_field)
        if subject:
            out.append((part, str(subject)))
    return out


def placeholder(value: Any) -> Any:
    """What an encrypted field carries in the clear payload instead of ``value``."""
    if isinstance(value, datetime):
        return datetime.fromtimestamp(0, value.tzinfo)
    if isinstance(value, date):
        return date(1970, 1, 1)
    if isinstance(value, Decimal):
        return Decimal("0.00")
    return _PLACEHOLDERS.get(type(value), value)


def with_fields(tree: dict, fields: dict[str, Any]) -> dict:
    """``tree`` with ``fields`` (dotted path → value) set; the input is not changed.

    Only the dicts on the fields' paths are copied; every other branch is shared with the
    input, so a caller must not change the result in place outside those paths (copy the
    branch first, as :func:`~hub.security.shredding.protect_record` does with the envelope).
    A deep copy of the whole event here was a third of the SDK's CPU per publish (sealing
    splits every event, and opening merges each person back: BENCHMARKS.md, "Issue 14")."""
    out = dict(tree)
    copied: dict[tuple[str, ...], dict] = {(): out}
    for dotted, value in fields.items():
        *parents, last = dotted.split(".")
        node, path = out, ()
        for part in parents:
            path += (part,)
            if path not in copied:
                copied[path] = node[part] = dict(node[part])
            node = copied[path]
        node[last] = value
    return out


def split(event: dict) -> tuple[dict, list[tuple[PersonPart, str, dict[str, Any]]]]:
    """The event with each person's fields replaced by placeholders, and per person the fields
    taken out (``path → value``, as decoded). The input is not changed (see :func:`with_fields`)."""
    taken = []
    for part, subject in persons_in(event):
        fields = {path: lookup(event, path) for path in _sealed_fields(part, subject, event)}
        taken.append((part, subject, fields))
    clear = with_fields(event, {path: placeholder(value) for _, _, fields in taken
                                for path, value in fields.items()})
    return clear, taken


def _sealed_fields(part: PersonPart, subject: str, event: dict) -> tuple[str, ...]:
    """The fields of ``part`` that travel sealed: all of them, but the person's identifier when
    the envelope files the event under it anyway (``subject_ids``, in the clear by design) —
    then the views of an erased person still find their records by it."""
    if subject in event["envelope"].get("subject_ids", ()):
        return tuple(f for f in part.fields if f != part.subject_field)
    return part.fields


def sealed_paths(event: dict, role: str) -> tuple[str, ...]:
    """The fields of ``role`` that an event (opened, or as views show it) carries sealed."""
    for part in PERSONS[EventType(str(event["envelope"]["event_type"]))]:
        if part.role == role:
            subject = lookup(event, part.subject_field)
            return _sealed_fields(part, str(subject), event) if subject else part.fields
    return ()


def erased_view(event: dict, roles: list[str]) -> dict:
    """The event as views show it once the people in ``roles`` were erased: their sealed fields
    read :data:`ERASED` (never the placeholder, which could pass for a value). The input is not
    changed."""
    return merge(event, {path: ERASED for role in roles for path in sealed_paths(event, role)})


def merge(event: dict, fields: dict[str, Any]) -> dict:
    """The event with ``fields`` (``path → value``) put back; the input is not changed (see
    :func:`with_fields`)."""
    return with_fields(event, fields)
