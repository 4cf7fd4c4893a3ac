"""Shared-data facts (数据共享查询): what the registrations say about a subject now, and what a
department may see of it.

A *fact* is a named, current statement about one subject (a person's identity number, an
organisation's credit code, a newborn's birth-certificate number) derived from the latest
registration event of its kind: ``marital_status`` MARRIED, ``registered_organisation``
REGISTERED, ``child`` BORN, ``vital_status`` BORN/DECEASED, ``retirement`` RETIREMENT_APPROVED.
It keeps every payload leaf of its event as dotted path → text (:func:`hub.domain.routing.project`,
so a value reads exactly as in a work item); which of them a department sees is decided when it
asks, from the routing rules:

- a leaf is visible to department D only if a rule item of D for that event type (whose
  condition, if any, holds for the event) grants the leaf's path or a record containing it, and
  it is shown with that grant's legal basis;
- a fact is visible only if D is granted the field the subject was found by (e.g.
  ``payload.legal_representative.id_number``): answering a query by an identifier the rules do
  not give D would link that identifier to the event's data;
- a department granted no field at all (the source-only departments) is refused.

Corrections (``refers_to`` CORRECTION) replace the facts of the event they correct, annulments
(ANNULMENT) withdraw them, and an event accepted with documents missing (容缺受理) states nothing
until its documents are supplemented — the router sends no data for it either.

Pure: no Kafka, HTTP or database here; the projection stores what :func:`change_for` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from hub.domain.audit_entries import QueriedField
from hub.domain.departments import Department
from hub.domain.envelope import ChangeKind, EventType
from hub.domain.routing import project
from hub.domain.rules import BasisKind, FollowOnItem, Grant, RuleBook, lookup


class FactKind(StrEnum):
    MARITAL_STATUS = "marital_status"
    REGISTERED_ORGANISATION = "registered_organisation"  # one entry per organisation
    CHILD = "child"  # one entry per child (birth certificate)
    VITAL_STATUS = "vital_status"
    RETIREMENT = "retirement"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Frozen):
    """One statement about one subject, with every payload leaf of the event it comes from."""

    fact: FactKind
    key: str  # which entry of a many-valued fact (an organisation's code, a child's certificate)
    status: str
    subject_id: str
    role: str  # what the subject is in the event: spouse, organisation, mother, deceased, ...
    subject_field: str  # the payload path that holds the subject id
    event_id: str
    event_type: EventType
    occurred_at: datetime
    recorded_at: datetime
    values: dict[str, str | None]  # every payload leaf: dotted path → text


class _About(NamedTuple):
    """A statement an event makes about the subject found at ``subject_field``."""

    fact: FactKind
    status: str
    role: str
    subject_field: str
    key_field: str | None = None  # a many-valued fact's entry key; None: one value per subject


# -- which subjects an event is about, and what it says of them: one function per event type ---

def _marriage(event: dict) -> list[_About]:
    """结婚登记: each spouse is MARRIED (the entry names both spouses)."""
    return [_About(FactKind.MARITAL_STATUS, "MARRIED", "spouse", f"payload.{s}.id_number")
            for s in ("spouse_a", "spouse_b")]


def _organisation(event: dict) -> list[_About]:
    """企业设立登记 / 社会组织成立登记: the organisation (its credit code) is REGISTERED, and
    its legal representative gets an entry for it; both keyed by the credit code."""
    return [
        _About(FactKind.REGISTERED_ORGANISATION, "REGISTERED", "organisation", "payload.uscc",
               "payload.uscc"),
        _About(FactKind.REGISTERED_ORGANISATION, "REGISTERED", "legal_representative",
               "payload.legal_representative.id_number", "payload.uscc"),
    ]


def _birth(event: dict) -> list[_About]:
    """出生医学证明: the newborn (who has no identity number yet, so the certificate number is
    its subject id) is BORN; the mother, and the father when named, get a child entry keyed by
    the certificate."""
    parents = ["mother"] + (["father"] if lookup(event, "payload.father") else [])
    return [_About(FactKind.VITAL_STATUS, "BORN", "child", "payload.certificate_number")] + [
        _About(FactKind.CHILD, "BORN", parent, f"payload.{parent}.id_number",
               "payload.certificate_number") for parent in parents]


def _death(event: dict) -> list[_About]:
    """死亡医学证明: the deceased is DECEASED."""
    return [_About(FactKind.VITAL_STATUS, "DECEASED", "deceased", "payload.deceased.id_number")]


def _retirement(event: dict) -> list[_About]:
    """退休审批: the person's retirement is approved (the date may still be ahead)."""
    return [_About(FactKind.RETIREMENT, "RETIREMENT_APPROVED", "retiree", "payload.person.id_number")]


def _nothing(event: dict) -> list[_About]:
    """补齐材料 states nothing itself: it releases the event it supplements; nor does 撤回同意
    (consent-based items are outside the facts query)."""
    return []


STATEMENTS: dict[EventType, Callable[[dict], list[_About]]] = {
    EventType.MARRIAGE_REGISTERED: _marriage,
    EventType.ENTERPRISE_REGISTERED: _organisation,
    EventType.SOCIAL_ORGANISATION_REGISTERED: _organisation,
    EventType.BIRTH_CERTIFIED: _birth,
    EventType.DEATH_CERTIFIED: _death,
    EventType.RETIREMENT_APPROVED: _retirement,
    EventType.DOCUMENTS_SUPPLEMENTED: _nothing,
    EventType.CONSENT_WITHDRAWN: _nothing,
}


def derive_facts(event: dict) -> list[Fact]:
    """The facts a decoded event record (``{"envelope": ..., "payload": ...}``) states."""
    env = event["envelope"]
    event_type = EventType(str(env["event_type"]))
    abouts = STATEMENTS[event_type](event)
    if not abouts:
        return []
    values = project(event, ["payload"])
    return [
        Fact(fact=a.fact, key=(values.get(a.key_field) or "") if a.key_field else "", status=a.status,
             subject_id=values[a.subject_field], role=a.role, subject_field=a.subject_field,
             event_id=env["event_id"], event_type=event_type, occurred_at=env["occurred_at"],
             recorded_at=env["recorded_at"], values=values)
        for a in abouts if values.get(a.subject_field)
    ]


class FactChange(_Frozen):
    """What one event does to the stored facts.

    ``withdraws``: the event whose facts (and those of its own corrections) no longer hold — the
    corrected or annulled one. ``facts`` replace them (empty for an annulment). ``held_for``:
    documents still missing, so ``facts`` stay hidden until a supplement brings them.
    ``supplements`` / ``documents``: a supplement names the held event and what it brings.
    """

    event_id: str
    withdraws: str | None = None
    facts: list[Fact] = []
    held_for: list[str] = []
    supplements: str | None = None
    documents: list[str] = []


def change_for(event: dict) -> FactChange:
    env = event["envelope"]
    refers = env.get("refers_to")
    kind = ChangeKind(str(refers["change_kind"])) if refers else None
    if str(env["event_type"]) == EventType.DOCUMENTS_SUPPLEMENTED.value:
        payload = event["payload"]
        return FactChange(event_id=env["event_id"], supplements=payload["supplements_event_id"],
                          documents=list(payload["documents"]))
    return FactChange(
        event_id=env["event_id"],
        withdraws=refers["event_id"] if refers else None,
        facts=[] if kind is ChangeKind.ANNULMENT else derive_facts(event),
        held_for=list(env.get("pending_documents") or []),
    )


def current(facts: list[Fact]) -> list[Fact]:
    """The latest fact of each kind (and entry, for many-valued kinds), by when it occurred."""
    latest: dict[tuple[str, str, str], Fact] = {}
    for fact in facts:
        slot = (fact.subject_id, fact.fact.value, fact.key)
        held = latest.get(slot)
        if held is None or _order(fact) > _order(held):
            latest[slot] = fact
    return sorted(latest.values(), key=lambda f: (f.fact.value, f.key, _order(f)))


def _order(fact: Fact) -> tuple:
    return fact.occurred_at, fact.recorded_at, fact.event_id


# -- what a department may see ----------------------------------------------------------------

class VisibleField(_Frozen):
    value: str | None
    basis: str


class VisibleFact(_Frozen):
    """A fact as one department sees it: only its granted fields, each with its legal basis."""

    fact: FactKind
    status: str
    role: str
    subject_field: str
    event_id: str
    event_type: EventType
    as_of: datetime  # when the hub recorded the event (a work item's requested_at)
    fields: dict[str, VisibleField]


def grants_anything(rules: RuleBook, department: Department) -> bool:
    """True if some rule item grants ``department`` a field (it may query facts at all)."""
    return any(item.department == department and item.basis_kind is BasisKind.LAW
               for items in rules.event_types.values() for item in items)


def _as_text(value) -> str | None:
    """A rule's literal as the text :func:`project` makes of the same value."""
    return project({"v": value}, ["v"])["v"]


def _applies(item: FollowOnItem, fact: Fact) -> bool:
    """The item's condition, evaluated on the fact's (textual) values as the router would."""
    return item.condition is None or fact.values.get(item.condition.field) == _as_text(item.condition.equals)


def _grants_for(rules: RuleBook, department: Department, fact: Fact) -> list[Grant]:
    # A consent covers the one item it names, sent once; it is no standing licence to query.
    return [g for item in rules.items_for(fact.event_type)
            if item.department == department and item.basis_kind is BasisKind.LAW
            and _applies(item, fact) for g in item.grants]


def basis_for(path: str, grants: list[Grant]) -> str | None:
    """The basis of the most specific grant covering ``path`` (itself or a record holding it)."""
    covering = [g for g in grants if path == g.field or path.startswith(g.field + ".")]
    return max(covering, key=lambda g: len(g.field)).basis if covering else None


def visible_to(department: Department, facts: list[Fact], rules: RuleBook) -> list[VisibleFact]:
    """What ``department`` may see of ``facts``: granted fields only; nothing else leaves."""
    out = []
    for fact in facts:
        grants = _grants_for(rules, department, fact)
        if basis_for(fact.subject_field, grants) is None:
            continue  # not granted the identifier it asked by: no link to this event's data
        fields = {path: VisibleField(value=value, basis=basis)
                  for path, value in sorted(fact.values.items())
                  if (basis := basis_for(path, grants)) is not None}
        if fields:
            out.append(VisibleFact(fact=fact.fact, status=fact.status, role=fact.role,
                                   subject_field=fact.subject_field, event_id=fact.event_id,
                                   event_type=fact.event_type, as_of=fact.recorded_at,
                                   fields=fields))
    return out


def disclosed_fields(facts: list[VisibleFact]) -> list[QueriedField]:
    """Every field disclosed (event type, path, basis), once each: what the audit note names."""
    named = sorted({(f.event_type.value, path, v.basis) for f in facts for path, v in f.fields.items()})
    return [QueriedField(event_type=t, field=path, basis=basis) for t, path, basis in named]
