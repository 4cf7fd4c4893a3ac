"""Shared test factories: synthetic submissions, sealed events and their records.

Every test that needs an event builds it here, the way the hub does (``seal`` validates and
fills in the envelope), from the demo-data generator seeded for repeatability — never real people.

    sealed(EventType.MARRIAGE_REGISTERED, seed=3)          # an Event
    sealed_record(EventType.BIRTH_CERTIFIED, seed=1)       # its Avro-shaped record (a dict)
    sealed_record(spec, raw, department=Department.TAX)    # a given submission, another sender
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.domain.catalogue import EventSpec, spec_for
from hub.domain.departments import Department
from hub.domain.envelope import Event, EventType
from hub.domain.sealing import seal
from hub.wire.codec import event_to_record
from producers.demo_data import generate


def submission(event_type: EventType | str, seed: int = 1, **hints: Any) -> dict[str, Any]:
    """A valid submission, repeatable by ``seed``; ``hints`` replace its top-level keys
    (``refers_to``, ``case_id``, ``pending_documents`` …)."""
    kind = spec_for(event_type).event_type
    return {**generate(kind, random.Random(seed)), **hints}


def sealed(event_type: EventType | str | EventSpec, raw: dict[str, Any] | None = None, *,
           seed: int = 1, department: Department | None = None,
           clock: Callable[[], datetime] | None = None, **hints: Any) -> Event:
    """The sealed event of ``raw`` (a generated submission by default), sent by ``department``
    (the owner of the type by default)."""
    spec = event_type if isinstance(event_type, EventSpec) else spec_for(event_type)
    body = raw if raw is not None else submission(spec.event_type, seed, **hints)
    return seal(spec, department or spec.owner, body, **({"clock": clock} if clock else {}))


def sealed_record(event_type: EventType | str | EventSpec, raw: dict[str, Any] | None = None,
                  **options: Any) -> dict[str, Any]:
    """:func:`sealed`, as the record the router and projections decode from the wire."""
    return event_to_record(sealed(event_type, raw, **options))


def change_record(original: dict[str, Any], seed: int = 1, kind: str = "CORRECTION",
                  department: Department | None = None, **payload: Any) -> dict[str, Any]:
    """A correction (or ``kind="ANNULMENT"``) of ``original`` by its owner (or ``department``):
    the original's payload (so the same subjects) with ``payload`` fields replaced, a fresh
    submission's ``occurred_at``, ``refers_to`` the original."""
    event_type = original["envelope"]["event_type"]
    spec = spec_for(event_type)
    raw = submission(event_type, seed)
    raw["payload"] = {**spec.payload_model.model_validate(original["payload"]).model_dump(mode="json"),
                      **payload}
    raw["refers_to"] = {"event_id": original["envelope"]["event_id"], "change_kind": kind}
    return sealed_record(event_type, raw, department=department)


def supplement_record(held: dict[str, Any], documents: list[str], occurred_at: datetime,
                      department: Department | None = None) -> dict[str, Any]:
    """A 补齐材料 (容缺受理) event bringing ``documents`` for the ``held`` event, sent by
    ``department`` (the held event's own department by default)."""
    raw = {"occurred_at": occurred_at.isoformat(), "payload": {
        "supplements_event_id": held["envelope"]["event_id"],
        "subject_id": held["envelope"]["subject_ids"][0], "documents": documents}}
    sender = department or Department(str(held["envelope"]["source_department"]))
    return sealed_record(EventType.DOCUMENTS_SUPPLEMENTED, raw, department=sender)


def withdrawal_record(original: dict[str, Any], items: list[str], occurred_at: datetime,
                      department: Department | None = None) -> dict[str, Any]:
    """A 撤回同意 of the consent to ``items`` given with ``original``, sent by ``department``
    (the original's own department by default), in the original's case."""
    raw = {"occurred_at": occurred_at.isoformat(), "case_id": original["envelope"]["case_id"], "payload": {
        "withdraws_consent_of": original["envelope"]["event_id"],
        "subject_id": original["envelope"]["subject_ids"][0], "items": items,
        "withdrawn_on": occurred_at.date().isoformat()}}
    sender = department or Department(str(original["envelope"]["source_department"]))
    return sealed_record(EventType.CONSENT_WITHDRAWN, raw, department=sender)


def pickle_router(names, clock: Callable[[], datetime], **options: Any):
    """A :class:`~hub.worker.processor.RouterProcessor` on the seed rules with pickle standing in
    for Avro (the processor only hands bytes to the codecs it is given) and dict tables;
    ``options`` as the processor takes them (``early_supplements``, ``cases`` …)."""
    import pickle

    from hub.rules import load_rules
    from hub.worker.processor import RouterProcessor

    return RouterProcessor(
        rules=load_rules(), names=names, specs_by_topic=names.event_specs(),
        decode=lambda spec, data, topic: pickle.loads(data),
        encode_item=lambda m, t: pickle.dumps(m), encode_decision=lambda m, t: pickle.dumps(m),
        encode_dead_letter=lambda m, t: pickle.dumps(m), routed={}, held={}, clock=clock, **options)
