"""Routing rules as data: which follow-on items a registration triggers, and what each gets.

A :class:`RuleBook` is validated when built: every granted field must exist in the event's
payload model (which the schema-agreement test ties to the Avro schema), every department must
be known, every deadline a positive ISO 8601 duration. A bad rule is refused with its location,
e.g. ``enterprise_registered/foreign_investment_filing: grant payload.foo: no such field``.
"""

from __future__ import annotations

import types
import typing
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.errors import HubError


class RuleError(HubError):
    """The routing rules are invalid; the worker must not start with them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid routing rules:\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grant(_Strict):
    """One field a department may receive, and the law that entitles it."""

    field: str = Field(pattern=r"^payload(\.[a-z_][a-z0-9_]*)+$")
    basis: str = Field(min_length=2)


class Condition(_Strict):
    """Route only when a payload field equals a value (e.g. foreign_invested: true)."""

    field: str = Field(pattern=r"^payload(\.[a-z_][a-z0-9_]*)+$")
    equals: Any

    def holds(self, event: dict) -> bool:
        return lookup(event, self.field) == self.equals


class BasisKind(StrEnum):
    """Why a department may receive the fields: a law entitles it, or the citizen agreed."""

    LAW = "law"
    CONSENT = "consent"  # PIPL art. 13(1)(1), art. 14: given separately, at the window (一窗受理)


NO_CONSENT = "not shared: no consent"
CONSENT_WITHDRAWN = "not shared: consent withdrawn"


class FollowOnItem(_Strict):
    """A follow-on item (事项) another department completes because of the event. An item with
    ``basis_kind: consent`` is sent only if the event carries the citizen's consent to it (the
    item's name among the envelope's ``consents``)."""

    item: str = Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")
    department: Department
    name_zh: str = Field(min_length=2)
    name_en: str = Field(min_length=2)
    deadline: timedelta
    grants: list[Grant] = Field(min_length=1)
    condition: Condition | None = None
    basis_kind: BasisKind = BasisKind.LAW

    @field_validator("deadline")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("deadline must be a positive duration such as P3D or PT4H")
        return value

    def applies_to(self, event: dict) -> bool:
        return self.condition is None or self.condition.holds(event)

    def consented(self, event: dict) -> bool:
        """True unless the item needs consent and the event does not carry it."""
        return (self.basis_kind is BasisKind.LAW
                or self.item in (event["envelope"].get("consents") or []))


class RuleBook(_Strict):
    """All routing rules, keyed by event type."""

    version: int = Field(ge=1)
    event_types: dict[EventType, list[FollowOnItem]]

    def items_for(self, event_type: EventType | str) -> list[FollowOnItem]:
        return self.event_types.get(EventType(event_type), [])


def lookup(tree: dict, dotted: str) -> Any:
    """The value at ``payload.a.b`` in a nested dict (None when any step is missing)."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _field_type(model: type[BaseModel], parts: list[str]):
    annotation: Any = model
    for part in parts:
        annotation = _unwrap(annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        info = annotation.model_fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
    return annotation


def _unwrap(annotation: Any) -> Any:
    """``Person | None`` → ``Person``; ``Annotated[X, ...]`` → ``X``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(rest[0]) if len(rest) == 1 else annotation
    return annotation


def _problems(book: RuleBook) -> list[str]:
    problems = []
    for event_type, items in book.event_types.items():
        payload_model = CATALOGUE[event_type].payload_model
        seen = set()
        for item in items:
            where = f"{event_type.value}/{item.item}"
            if item.item in seen:
                problems.append(f"{where}: item defined twice")
            seen.add(item.item)
            paths = [g.field for g in item.grants] + ([item.condition.field] if item.condition else [])
            for path in paths:
                if _field_type(payload_model, path.split(".")[1:]) is None:
                    problems.append(f"{where}: field {path}: no such field in the {event_type.value} schema")
    return problems


def build_rulebook(data: Any) -> RuleBook:
    """Validate raw rules (parsed YAML) into a :class:`RuleBook`, or raise :class:`RuleError`."""
    try:
        book = RuleBook.model_validate(data)
    except ValidationError as exc:
        raise RuleError([_located(err) for err in exc.errors(include_url=False)]) from None
    problems = _problems(book)
    if problems:
        raise RuleError(problems)
    return book


def _located(err: dict) -> str:
    loc = "/".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}"
