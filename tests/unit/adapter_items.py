"""Work items for the adapter tests, routed from generated events exactly as the router would."""

from __future__ import annotations

import random

from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.domain.routing import WorkItem, route
from hub.domain.sealing import seal
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

RULES = load_rules()


def routed(event_type: EventType, seed: int, refers_to: dict | None = None,
           routed_before: set[tuple[str, str]] | None = None) -> list[WorkItem]:
    spec = CATALOGUE[event_type]
    submission = generate(event_type, random.Random(seed))
    if refers_to:
        submission["refers_to"] = refers_to
    event = seal(spec, spec.owner, submission)
    return route(event_to_record(event), RULES, routed_before)


def items(count: int, event_type: EventType = EventType.MARRIAGE_REGISTERED) -> list[WorkItem]:
    """``count`` distinct work items (first item of each routed event, seeds 1..count)."""
    return [routed(event_type, seed)[0] for seed in range(1, count + 1)]


def correction_of(original: WorkItem) -> WorkItem:
    """A CORRECTION work item for the same department and item as ``original``."""
    refers = {"event_id": original.event_id, "change_kind": "CORRECTION"}
    before = {(original.department.value, original.item)}
    corrected = routed(EventType(original.event_type), 99, refers, before)
    return next(i for i in corrected if (i.department, i.item) == (original.department, original.item))
