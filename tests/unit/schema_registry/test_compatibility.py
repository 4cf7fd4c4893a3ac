"""Schema evolution under FULL_TRANSITIVE, via ``hub.schema_registry.compatibility`` (Apache Avro's checker).

Each test derives new versions from a real event schema, so the rules are checked on the shapes
the hub actually registers (nested named types, unions, logical types).
"""

from __future__ import annotations

import copy

import pytest

from hub.schema_registry.compatibility import field_path, incompatibilities, transitive_incompatibilities
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.wire.schemas import event_schema

MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]
DEATH = CATALOGUE[EventType.DEATH_CERTIFIED]


def v1(spec=MARRIAGE) -> dict:
    return event_schema(spec)


def payload_fields(schema: dict) -> list[dict]:
    return schema["fields"][1]["type"]["fields"]


def payload_field(schema: dict, name: str) -> dict:
    return next(f for f in payload_fields(schema) if f["name"] == name)


def evolve(base: dict, change) -> dict:
    new = copy.deepcopy(base)
    change(new)
    return new


def add(field: dict):
    return lambda s: payload_fields(s).append(copy.deepcopy(field))


def remove(name: str):
    return lambda s: payload_fields(s).remove(payload_field(s, name))


def retype(name: str, new_type):
    return lambda s: payload_field(s, name).update(type=new_type)


OPTIONAL_REMARK = {"name": "remark", "type": ["null", "string"], "default": None}
REMARK_WITH_DEFAULT = {"name": "remark", "type": "string", "default": ""}
REQUIRED_REMARK = {"name": "remark", "type": "string"}


def test_identical_schema_is_compatible():
    assert transitive_incompatibilities(v1(), [(1, v1())]) == []


def test_no_earlier_versions_means_nothing_to_break():
    assert transitive_incompatibilities(v1(), []) == []


@pytest.mark.parametrize("field", [OPTIONAL_REMARK, REMARK_WITH_DEFAULT], ids=["nullable", "string"])
def test_adding_a_field_with_a_default_passes(field):
    assert transitive_incompatibilities(evolve(v1(), add(field)), [(1, v1())]) == []


def test_removing_a_field_that_had_a_default_passes():
    with_remark = evolve(v1(), add(OPTIONAL_REMARK))
    assert transitive_incompatibilities(v1(), [(1, with_remark)]) == []


def test_removing_a_field_without_default_is_refused_naming_it():
    problems = transitive_incompatibilities(evolve(v1(), remove("registration_office")), [(1, v1())])
    assert len(problems) == 1
    assert problems[0].startswith("payload.registration_office:")
    assert "removed" in problems[0] and "version 1" in problems[0]


def test_adding_a_required_field_is_refused_naming_it():
    problems = transitive_incompatibilities(evolve(v1(), add(REQUIRED_REMARK)), [(1, v1())])
    assert len(problems) == 1
    assert problems[0].startswith("payload.remark:")
    assert "without a default" in problems[0]


@pytest.mark.parametrize(
    "name, new_type",
    [
        ("certificate_number", "int"),
        ("registered_on", "string"),
        ("registration_office", "boolean"),
    ],
)
def test_changing_a_type_is_refused_naming_the_field(name, new_type):
    problems = transitive_incompatibilities(evolve(v1(), retype(name, new_type)), [(1, v1())])
    assert problems, f"{name} -> {new_type} was accepted"
    assert all(p.startswith(f"payload.{name}:") for p in problems)
    assert any("type changed" in p for p in problems)


@pytest.mark.parametrize("new_type", [["null", "string"], ["null", "int"]])
def test_making_a_required_field_a_union_is_refused(new_type):
    # Old readers expect a plain string and cannot read null (or int) values.
    problems = transitive_incompatibilities(
        evolve(v1(), retype("registration_office", new_type)), [(1, v1())])
    assert any("readers on version 1 could not read new events" in p for p in problems)


@pytest.mark.parametrize("new_type", [["null", "string"], ["null", "int"]])
def test_making_a_required_field_a_union_names_the_field(new_type):
    problems = transitive_incompatibilities(
        evolve(v1(), retype("registration_office", new_type)), [(1, v1())])
    assert problems
    assert all(p.startswith("payload.registration_office:") for p in problems), problems


def test_type_change_is_reported_in_both_directions():
    problems = transitive_incompatibilities(evolve(v1(), retype("certificate_number", "int")), [(1, v1())])
    assert len(problems) == 2
    assert any("the new schema could not read version 1 events" in p for p in problems)
    assert any("readers on version 1 could not read new events" in p for p in problems)


def test_nested_field_change_names_the_nested_path():
    def person_id_to_int(schema):
        person = payload_field(schema, "spouse_a")["type"]
        next(f for f in person["fields"] if f["name"] == "id_number")["type"] = "int"

    problems = transitive_incompatibilities(evolve(v1(), person_id_to_int), [(1, v1())])
    assert problems
    assert all(p.startswith("payload.spouse_a.id_number:") for p in problems)


def test_removing_an_enum_symbol_is_refused():
    def drop_other(schema):
        payload_field(schema, "cause_category")["type"]["symbols"].remove("OTHER")

    problems = transitive_incompatibilities(evolve(v1(DEATH), drop_other), [(1, v1(DEATH))])
    assert len(problems) == 1
    assert problems[0].startswith("payload.cause_category:")
    assert "enum symbols removed" in problems[0]


def test_a_widening_promotion_is_still_refused_because_it_is_not_forward():
    # int -> long is backward compatible (Avro promotes) but old readers cannot read a long.
    death_v1 = v1(DEATH)
    spec_v1 = evolve(death_v1, add({"name": "age", "type": "int", "default": 0}))
    spec_v2 = evolve(spec_v1, lambda s: payload_field(s, "age").update(type="long"))
    problems = incompatibilities(spec_v2, spec_v1, "version 1")
    assert len(problems) == 1
    assert "readers on version 1" in problems[0] and problems[0].startswith("payload.age:")


def test_checks_against_every_earlier_version():
    # v2 adds remark with a default; v3 drops the default. v3 is fine after v2 (v2 data always
    # carries remark) but cannot read v1 data, which has none: FULL_TRANSITIVE refuses it.
    version1 = v1()
    version2 = evolve(version1, add(REMARK_WITH_DEFAULT))
    version3 = evolve(version1, add(REQUIRED_REMARK))
    assert transitive_incompatibilities(version3, [(2, version2)]) == []
    problems = transitive_incompatibilities(version3, [(2, version2), (1, version1)])
    assert len(problems) == 1
    assert problems[0].startswith("payload.remark:")
    assert "version 1" in problems[0] and "version 2" not in problems[0]


def test_problems_are_reported_oldest_version_first():
    version1 = v1()
    version2 = evolve(version1, add(REMARK_WITH_DEFAULT))
    version3 = evolve(version1, add({"name": "remark", "type": "int"}))  # v2: type; v1: no default
    problems = transitive_incompatibilities(version3, [(2, version2), (1, version1)])
    labels = ["version 1" if "version 1" in p else "version 2" for p in problems]
    assert labels == ["version 1", "version 2", "version 2"]
    assert all(p.startswith("payload.remark:") for p in problems)


# --- field_path ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "pointer, path",
    [
        ("/fields/1/type/fields/0", "payload.certificate_number"),
        ("/fields/1/type/fields/2", "payload.registration_office"),
        ("/fields/1/type/fields/3/type/fields/1", "payload.spouse_a.id_number"),
        ("/fields/1/type/fields/3/type/fields/2/type", "payload.spouse_a.sex"),
        ("/fields/0/type/fields/4/type/items", "envelope.subject_ids"),
        ("/fields/0/type/fields/8/type/1/fields/1", "envelope.refers_to.change_kind"),
        ("/fields/0", "envelope"),
        ("/", "(schema)"),
        ("", "(schema)"),
    ],
)
def test_field_path_translates_pointers_to_field_names(pointer, path):
    assert field_path(v1(), pointer) == path
