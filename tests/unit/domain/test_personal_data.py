"""Which fields describe a person, per event type: each names a field of its payload, a sealed
event still encodes with its schema, and putting the fields back gives the event again."""

from __future__ import annotations

import copy
import io
import random

import fastavro
import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import REGISTRATIONS, EventType
from hub.domain.personal_data import PERSONS, merge, persons_in, split, with_fields
from hub.domain.rules import _field_type
from hub.wire.schemas import event_schema
from producers.demo_data import generate
from tests.factories import sealed_record


def _event(event_type: EventType, seed: int = 3) -> dict:
    return sealed_record(event_type, generate(event_type, random.Random(seed)))


@pytest.mark.parametrize("event_type", list(CATALOGUE), ids=lambda t: t.value)
def test_every_personal_field_is_a_field_of_its_payload(event_type):
    model = CATALOGUE[event_type].payload_model
    for part in PERSONS[event_type]:
        for path in (part.subject_field, *part.fields):
            assert _field_type(model, path.split(".")[1:]) is not None, f"{event_type.value}: {path}"


@pytest.mark.parametrize("event_type", REGISTRATIONS, ids=lambda t: t.value)
def test_split_leaves_no_personal_value_and_still_encodes(event_type):
    event = _event(event_type)
    clear, taken = split(event)
    assert taken, "every registration names at least one person"
    schema = fastavro.parse_schema(event_schema(CATALOGUE[event_type]))
    fastavro.schemaless_writer(io.BytesIO(), schema, clear)  # placeholders are valid Avro
    for _part, subject, fields in taken:
        for path, value in fields.items():
            if isinstance(value, str) and len(value) > 1:
                assert value not in repr(clear["payload"]), path
        # the person's number goes sealed, unless the envelope files the event under it anyway
        assert subject in fields.values() or subject in event["envelope"]["subject_ids"]


@pytest.mark.parametrize("event_type", REGISTRATIONS, ids=lambda t: t.value)
def test_merge_puts_every_field_back(event_type):
    event = _event(event_type)
    clear, taken = split(event)
    restored = clear
    for _part, _subject, fields in taken:
        restored = merge(restored, fields)
    assert restored == event and clear != event


def test_a_birth_without_a_father_names_two_people():
    body = generate(EventType.BIRTH_CERTIFIED, random.Random(5))
    body["payload"]["father"] = None
    roles = [part.role for part, _ in persons_in(sealed_record(EventType.BIRTH_CERTIFIED, body))]
    assert roles == ["child", "mother"]


@pytest.mark.parametrize("event_type", list(REGISTRATIONS), ids=lambda t: t.value)
def test_split_and_merge_leave_their_input_as_it_was(event_type):
    event = sealed_record(event_type, generate(event_type, random.Random(3)))
    before = copy.deepcopy(event)
    clear, taken = split(event)
    assert event == before  # only the changed paths are copied; the input is never written
    opened = merge(clear, {p: v for _, _, fields in taken for p, v in fields.items()})
    assert opened == event and clear != event and event == before


def test_with_fields_copies_only_the_branches_it_changes():
    tree = {"envelope": {"event_id": "e"}, "payload": {"a": {"name": "x", "n": 1}, "b": {"name": "y"}}}
    out = with_fields(tree, {"payload.a.name": ""})
    assert out == {"envelope": {"event_id": "e"}, "payload": {"a": {"name": "", "n": 1}, "b": {"name": "y"}}}
    assert tree["payload"]["a"]["name"] == "x"
    assert out["payload"]["a"] is not tree["payload"]["a"] and out["payload"] is not tree["payload"]
    assert out["envelope"] is tree["envelope"] and out["payload"]["b"] is tree["payload"]["b"]
