"""The router's decision, as a pure function: event in, one work item per follow-on item out.

Deterministic by construction: the item id is a UUIDv5 of (event id, department, item) and every
timestamp comes from the event itself, so routing the same event twice — after a crash, a
rebalance or a replay — yields byte-identical work items that agencies recognise and apply once.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.domain.departments import Department
from hub.domain.rules import CONSENT_WITHDRAWN, NO_CONSENT, BasisKind, FollowOnItem, RuleBook, lookup

# Fixed namespace: changing it would change every item id ever issued.
ITEM_NAMESPACE = uuid.UUID("5b0c1a9e-6f1d-4c8e-9a57-0e4c1f2b3a77")


class ItemChange(StrEnum):
    """Why a work item exists: a new registration, or a change to an earlier one."""

    NEW = "NEW"
    CORRECTION = "CORRECTION"
    ANNULMENT = "ANNULMENT"


class GrantedField(BaseModel):
    model_config = ConfigDict(frozen=True)
    field: str
    basis: str


class WorkItem(BaseModel):
    """One follow-on item for one department, carrying only the fields granted to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    case_id: str
    event_id: str
    event_type: str
    item: str
    name_zh: str
    name_en: str
    department: Department
    change: ItemChange
    refers_to_item_id: str | None
    requested_at: datetime
    deadline_at: datetime
    grants: list[GrantedField]
    data: dict[str, str | None]


def inbox_key(item: WorkItem) -> bytes:
    """The Kafka key of ``item`` on its inbox: the item it changes, so an original and every
    correction, annulment or erasure of it stay in order on one partition."""
    return (item.refers_to_item_id or item.item_id).encode()


def item_id(event_id: str, department: Department | str, item: str) -> str:
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{event_id}/{Department(department).value}/{item}"))


def _text(value: Any) -> str | None:
    """One leaf value as text, the same way every time (dates ISO, money exact, UTC times)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (date, Decimal, int)):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return json.dumps([_text(v) for v in value], ensure_ascii=False)
    return str(value)


def project(event: dict, paths: list[str]) -> dict[str, str | None]:
    """The granted fields as flat ``path → text`` leaves; nothing outside ``paths`` appears."""
    out: dict[str, str | None] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{path}.{key}", child)
        else:
            out[path] = _text(value)

    for path in paths:
        walk(path, lookup(event, path))
    return out


def _work_item(event: dict, rule: FollowOnItem, change: ItemChange, refers_to: str | None) -> WorkItem:
    env = event["envelope"]
    requested = env["recorded_at"]
    return WorkItem(
        item_id=item_id(env["event_id"], rule.department, rule.item),
        case_id=env["case_id"], event_id=env["event_id"], event_type=str(env["event_type"]),
        item=rule.item, name_zh=rule.name_zh, name_en=rule.name_en, department=rule.department,
        change=change,
        refers_to_item_id=item_id(refers_to, rule.department, rule.item) if refers_to else None,
        requested_at=requested, deadline_at=requested + rule.deadline,
        grants=[GrantedField(field=g.field, basis=g.basis) for g in rule.grants],
        data=project(event, [g.field for g in rule.grants]),
    )


def route(event: dict, rules: RuleBook, routed_before: set[tuple[str, str]] | None = None,
          withdrawn: frozenset[str] = frozenset()) -> list[WorkItem]:
    """Work items for a decoded event record (``{"envelope": ..., "payload": ...}``).

    A correction or annulment goes to every department that received the original
    (``routed_before``: its ``(department, item)`` pairs, which the router remembers), plus
    any item whose condition the corrected data now meets. ``withdrawn``: consent-based items
    whose consent the citizen withdrew for this registration — never sent again.
    """
    env = event["envelope"]
    refers = env.get("refers_to")
    rule_set = [r for r in rules.items_for(env["event_type"]) if r.item not in withdrawn]
    if not refers:
        return [_work_item(event, r, ItemChange.NEW, None) for r in rule_set
                if r.applies_to(event) and r.consented(event)]
    change = ItemChange(str(refers["change_kind"]))
    before = routed_before or set()
    chosen = [r for r in rule_set if (r.department.value, r.item) in before
              or (r.applies_to(event) and r.consented(event))]
    return [_work_item(event, r, change, refers["event_id"]) for r in chosen]


def consent_items(rules: RuleBook, event_type: str) -> dict[str, list[FollowOnItem]]:
    """The consent-based items of ``event_type`` by item name (the only ones a citizen can
    withdraw: an item the law grants does not rest on consent)."""
    out: dict[str, list[FollowOnItem]] = {}
    for r in rules.items_for(event_type):
        if r.basis_kind is BasisKind.CONSENT:
            out.setdefault(r.item, []).append(r)
    return out


def withdrawal_notices(withdrawal: dict, original_type: str, routed: set[tuple[str, str]],
                       rules: RuleBook) -> list[WorkItem]:
    """What a 撤回同意 sends: to each department that received one of the withdrawn items of the
    registration, an ANNULMENT of that item (it deletes what it holds on that consent). No
    field values: the notice names the item it annuls and nothing else.

    Deterministic like every item (ids from the withdrawal's id), so a re-delivered withdrawal
    sends the same notices again, which agencies recognise."""
    env, payload = withdrawal["envelope"], withdrawal["payload"]
    target, requested = payload["withdraws_consent_of"], env["recorded_at"]
    by_name = consent_items(rules, original_type)
    return [
        WorkItem(item_id=item_id(env["event_id"], r.department, r.item), case_id=env["case_id"],
                 event_id=env["event_id"], event_type=str(env["event_type"]), item=r.item,
                 name_zh=r.name_zh, name_en=r.name_en, department=r.department,
                 change=ItemChange.ANNULMENT, refers_to_item_id=item_id(target, r.department, r.item),
                 requested_at=requested, deadline_at=requested + r.deadline, grants=[], data={})
        for name in payload["items"] for r in by_name.get(name, [])
        if (r.department.value, r.item) in routed
    ]


class WithheldItem(BaseModel):
    """A follow-on item the rules have for the event but that was not sent, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: Department
    item: str
    name_zh: str
    reason: str


def withheld(event: dict, rules: RuleBook, sent: list[WorkItem],
             withdrawn: frozenset[str] = frozenset()) -> list[WithheldItem]:
    """The consent-based items that would apply to ``event`` but were not sent: for want of the
    citizen's consent ("not shared: no consent"), or because it was withdrawn for this
    registration ("not shared: consent withdrawn"). The routing decision and the timeline say so."""
    went = {(w.department, w.item) for w in sent}
    out = []
    for r in rules.items_for(str(event["envelope"]["event_type"])):
        if (r.department, r.item) in went or not r.applies_to(event):
            continue
        if r.item in withdrawn:
            out.append(WithheldItem(department=r.department, item=r.item, name_zh=r.name_zh,
                                    reason=CONSENT_WITHDRAWN))
        elif not r.consented(event):
            out.append(WithheldItem(department=r.department, item=r.item, name_zh=r.name_zh,
                                    reason=NO_CONSENT))
    return out


class DecisionKind(StrEnum):
    ROUTED = "ROUTED"
    HELD = "HELD"  # 容缺受理: accepted with documents missing; items wait for the supplement
    RELEASED = "RELEASED"


class PlannedItem(BaseModel):
    """A follow-on item as the routing log records it: no field values, only names and bases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    department: Department
    item: str
    name_zh: str
    name_en: str
    change: ItemChange
    refers_to_item_id: str | None
    deadline_at: datetime
    grants: list[GrantedField]

    @classmethod
    def of(cls, work: WorkItem) -> "PlannedItem":
        return cls(**work.model_dump(include=set(cls.model_fields)))


DECISION_NAMESPACE = uuid.UUID("0d7e2c4b-3a91-4f6e-8b2d-5c1a9e7f3b60")


class RoutingDecision(BaseModel):
    """What the router decided for one event (keyed by case id on the routing log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str
    case_id: str
    event_id: str
    event_type: str
    source_department: str
    subject_ids: list[str]
    kind: DecisionKind
    change: ItemChange
    pending_documents: list[str] = []
    decided_at: datetime
    items: list[PlannedItem]
    withheld: list[WithheldItem] = []


def decision_for(event: dict, kind: DecisionKind, items: list[WorkItem],
                 pending: list[str] | None = None,
                 withheld_items: list[WithheldItem] | None = None) -> RoutingDecision:
    """The routing-log record for ``items`` routed (or held) for ``event``."""
    env = event["envelope"]
    refers = env.get("refers_to")
    return RoutingDecision(
        decision_id=str(uuid.uuid5(DECISION_NAMESPACE, f"{env['event_id']}/{kind.value}")),
        case_id=env["case_id"], event_id=env["event_id"], event_type=str(env["event_type"]),
        source_department=str(env["source_department"]), subject_ids=list(env["subject_ids"]),
        kind=kind, change=ItemChange(str(refers["change_kind"])) if refers else ItemChange.NEW,
        pending_documents=pending or [], decided_at=env["recorded_at"],
        items=[PlannedItem.of(w) for w in items], withheld=withheld_items or [],
    )
