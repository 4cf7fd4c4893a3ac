"""Every model and its Avro schema agree, and events survive the wire both ways.

The schemas in ``schemas/*.avsc`` are written by hand; ``tests.unit.schemas.model_shapes`` states how a
pydantic annotation maps to an Avro type. The agreement test compares the two shapes field by
field; the negative tests prove that comparison notices a dropped field, a changed type, a lost
default or a removed enum symbol. The round trips then check real encodings with fastavro.
"""

from __future__ import annotations

import copy
import io
import random
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from pydantic import ValidationError

from tests import factories
from hub.domain.catalogue import CATALOGUE, AVRO_NAMESPACE
from hub.domain.common import CHINA_TZ
from hub.domain.envelope import Event, EventType
from hub.wire.codec import event_to_record, record_to_event
from hub.wire.schemas import event_schema, schema_path
from producers.demo_data import generate
from tests.unit.schemas.model_shapes import avro_type, schema_shape

SPECS = list(CATALOGUE.values())
SPEC_IDS = [s.event_type.value for s in SPECS]
NOW = datetime.now(timezone.utc)  # generate() stamps instants from the real clock
TODAY = NOW.astimezone(CHINA_TZ).date()
SEEDS = range(25)


# --- shape comparison ----------------------------------------------------------------------

def normalised(shape):
    """Blank the names of the event record and its payload record, which differ by design
    (pydantic ``Event[Marriage…]`` / ``Marriage…`` vs Avro ``Marriage…`` / ``Marriage…Payload``)."""
    kind, _name, fields = shape
    assert kind == "record"
    out = []
    for name, tp, has_default in fields:
        if name == "payload":
            assert tp[0] == "record"
            tp = ("record", "<payload>", tp[2])
        out.append((name, tp, has_default))
    return ("record", "<event>", out)


def differences(expected, actual, path: str = "") -> list[str]:
    """Where two shapes differ, as ``dotted.path: what`` lines (for readable failures)."""
    where = path or "(event)"
    if type(expected) is not type(actual):
        return [f"{where}: {expected!r} != {actual!r}"]
    if isinstance(expected, tuple) and expected[0] == "record" and actual[0] == "record":
        out = [] if expected[1] == actual[1] else [f"{where}: record {expected[1]} != {actual[1]}"]
        model_fields = {n: (t, d) for n, t, d in expected[2]}
        wire_fields = {n: (t, d) for n, t, d in actual[2]}
        for name in model_fields.keys() - wire_fields.keys():
            out.append(f"{path + '.' if path else ''}{name}: in the model, not in the schema")
        for name in wire_fields.keys() - model_fields.keys():
            out.append(f"{path + '.' if path else ''}{name}: in the schema, not in the model")
        for name in model_fields.keys() & wire_fields.keys():
            sub = f"{path + '.' if path else ''}{name}"
            (mt, md), (wt, wd) = model_fields[name], wire_fields[name]
            if md != wd:
                out.append(f"{sub}: default in model {md}, in schema {wd}")
            out += differences(mt, wt, sub)
        if not out and [n for n, _, _ in expected[2]] != [n for n, _, _ in actual[2]]:
            out.append(f"{where}: field order differs")
        return out
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{where}: union {expected!r} != {actual!r}"]
        return [d for e, a in zip(expected, actual) for d in differences(e, a, path)]
    if isinstance(expected, dict) and expected.get("type") == "array" == actual.get("type"):
        return differences(expected["items"], actual["items"], path)
    return [] if expected == actual else [f"{where}: {expected!r} != {actual!r}"]


def model_shape(spec):
    return normalised(avro_type(Event[spec.payload_model]))


def wire_shape(schema: dict):
    return normalised(schema_shape(schema))


def assert_agree(spec, schema: dict) -> None:
    expected, actual = model_shape(spec), wire_shape(schema)
    assert expected == actual, "\n".join(differences(expected, actual))


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_model_and_avro_schema_agree(spec):
    assert_agree(spec, event_schema(spec))


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_schema_names_follow_the_catalogue(spec):
    schema = event_schema(spec)
    assert schema_path(spec).name == f"{AVRO_NAMESPACE}.{spec.record_name}.avsc"
    assert schema["name"] == spec.avro_full_name
    assert spec.record_name == spec.payload_model.__name__
    assert [f["name"] for f in schema["fields"]] == ["envelope", "payload"]
    assert schema["fields"][1]["type"]["name"] == f"{spec.avro_full_name}Payload"
    assert schema["fields"][0]["type"]["name"] == f"{AVRO_NAMESPACE}.Envelope"


def test_normalising_keeps_nested_record_names():
    # Only the two top levels are renamed: a Person stays a Person.
    spec = CATALOGUE[EventType.MARRIAGE_REGISTERED]
    payload_fields = dict((n, t) for n, t, _ in model_shape(spec)[2][1][1][2])
    assert payload_fields["spouse_a"][:2] == ("record", "Person")


# --- the comparison can fail ---------------------------------------------------------------

def _payload_field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"][1]["type"]["fields"] if f["name"] == name)


def _envelope_field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"][0]["type"]["fields"] if f["name"] == name)


def _drop(name):
    def mutate(schema):
        fields = schema["fields"][1]["type"]["fields"]
        fields.remove(_payload_field(schema, name))
    return mutate


def _set_type(name, new_type, where=_payload_field):
    def mutate(schema):
        where(schema, name)["type"] = new_type
    return mutate


def _drop_default(name):
    def mutate(schema):
        del _payload_field(schema, name)["default"]
    return mutate


def _rename(name, new_name):
    def mutate(schema):
        _payload_field(schema, name)["name"] = new_name
    return mutate


def _drop_symbol(name, symbol):
    def mutate(schema):
        _payload_field(schema, name)["type"]["symbols"].remove(symbol)
    return mutate


def _person_id_as_long(schema):
    person = _payload_field(schema, "spouse_a")["type"]
    next(f for f in person["fields"] if f["name"] == "id_number")["type"] = "long"


DECIMAL_SCALE_3 = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 3}

BROKEN = [
    ("drop-field", EventType.MARRIAGE_REGISTERED, _drop("registration_office"),
     "payload.registration_office"),
    ("int-to-long", EventType.BIRTH_CERTIFIED, _set_type("birth_weight_grams", "long"),
     "payload.birth_weight_grams"),
    ("date-to-string", EventType.RETIREMENT_APPROVED, _set_type("retirement_date", "string"),
     "payload.retirement_date"),
    ("decimal-scale", EventType.ENTERPRISE_REGISTERED, _set_type("registered_capital", DECIMAL_SCALE_3),
     "payload.registered_capital"),
    ("optional-made-required", EventType.SOCIAL_ORGANISATION_REGISTERED,
     _set_type("supervising_unit", "string"), "payload.supervising_unit"),
    ("default-dropped", EventType.BIRTH_CERTIFIED, _drop_default("father"), "payload.father"),
    ("renamed-field", EventType.DEATH_CERTIFIED, _rename("place_of_death", "death_place"),
     "payload.place_of_death"),
    ("enum-symbol-removed", EventType.DEATH_CERTIFIED, _drop_symbol("cause_category", "OTHER"),
     "payload.cause_category"),
    ("nested-record-field", EventType.MARRIAGE_REGISTERED, _person_id_as_long,
     "payload.spouse_a.id_number"),
    ("envelope-field", EventType.ENTERPRISE_REGISTERED,
     _set_type("subject_ids", {"type": "array", "items": "long"}, _envelope_field),
     "envelope.subject_ids"),
]


@pytest.mark.parametrize(
    "event_type, mutate, path", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_agreement_check_detects_a_broken_schema(event_type, mutate, path):
    spec = CATALOGUE[event_type]
    original = event_schema(spec)
    broken = copy.deepcopy(original)
    mutate(broken)
    assert broken != original
    with pytest.raises(AssertionError) as info:
        assert_agree(spec, broken)
    assert path in str(info.value)
    assert_agree(spec, event_schema(spec))  # the mutation did not leak into the cached schema


# --- round trips ---------------------------------------------------------------------------

PARSED = {spec.event_type: parse_schema(event_schema(spec)) for spec in SPECS}


def sealed(spec, raw):
    return factories.sealed(spec, raw, clock=lambda: NOW)


def write(spec, record) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, PARSED[spec.event_type], record, strict=True)
    return buf.getvalue()


def read(spec, data: bytes) -> dict:
    return schemaless_reader(io.BytesIO(data), PARSED[spec.event_type], None)


def generated_events(spec):
    for seed in SEEDS:
        yield seed, sealed(spec, generate(spec.event_type, random.Random(seed), TODAY))


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_model_to_avro_to_model(spec):
    for seed, event in generated_events(spec):
        back = record_to_event(spec, read(spec, write(spec, event_to_record(event))))
        assert back == event, f"seed {seed}"
        assert back.envelope.occurred_at.tzinfo is not None


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_avro_to_model_to_avro_is_byte_identical(spec):
    for seed, event in generated_events(spec):
        first = write(spec, event_to_record(event))
        rebuilt = record_to_event(spec, read(spec, first))
        assert write(spec, event_to_record(rebuilt)) == first, f"seed {seed}"


def _variant_refers_to(raw):
    raw["event_id"] = "0f6e1b52-9a61-4c1e-8d8e-2d6f3c4b5a69"
    raw["case_id"] = "xs-2024-0042"
    raw["refers_to"] = {"event_id": "11111111-2222-4333-8444-555555555555", "change_kind": "ANNULMENT"}


def _variant_millis(raw):
    raw["occurred_at"] = "1969-12-31T23:59:59.123456+05:00"  # before the epoch (UTC), sub-ms digits


VARIANTS = [
    ("refers-to-and-case", EventType.MARRIAGE_REGISTERED, _variant_refers_to),
    ("pre-epoch-occurred-at", EventType.DEATH_CERTIFIED, _variant_millis),
    ("no-father", EventType.BIRTH_CERTIFIED, lambda r: r["payload"].update(father=None)),
    ("no-supervising-unit", EventType.SOCIAL_ORGANISATION_REGISTERED,
     lambda r: r["payload"].pop("supervising_unit")),
    ("foreign-investors", EventType.ENTERPRISE_REGISTERED,
     lambda r: r["payload"].update(foreign_invested=True, investor_countries=["US", "DE", "CN"])),
    ("money-whole-and-exponent", EventType.RETIREMENT_APPROVED,
     lambda r: r["payload"].update(monthly_pension="4E+3")),
    ("money-max", EventType.ENTERPRISE_REGISTERED,
     lambda r: r["payload"].update(registered_capital="9999999999999999.99")),
    ("early-historical-dates", EventType.RETIREMENT_APPROVED,
     lambda r: r["payload"].update(retirement_type="EARLY_DISABILITY", retirement_date="1901-01-01",
                                   approved_on="1900-12-01")),
]


@pytest.mark.parametrize(
    "event_type, change", [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_round_trip_of_edge_values(event_type, change):
    spec = CATALOGUE[event_type]
    raw = generate(event_type, random.Random(5), TODAY)
    change(raw)
    event = sealed(spec, raw)
    data = write(spec, event_to_record(event))
    back = record_to_event(spec, read(spec, data))
    assert back == event
    assert write(spec, event_to_record(back)) == data


def test_decoded_values_have_their_logical_types():
    spec = CATALOGUE[EventType.RETIREMENT_APPROVED]
    _, event = next(generated_events(spec))
    record = read(spec, write(spec, event_to_record(event)))
    assert isinstance(record["payload"]["monthly_pension"], Decimal)
    assert record["payload"]["monthly_pension"] == event.payload.monthly_pension
    assert isinstance(record["payload"]["retirement_date"], date)
    assert record["envelope"]["recorded_at"] == NOW.replace(microsecond=NOW.microsecond // 1000 * 1000)
    assert record["payload"]["person"]["sex"] == event.payload.person.sex.value


@pytest.mark.parametrize("amount", ["3000.100", "0.000"])
def test_every_accepted_amount_can_be_written(amount):
    spec = CATALOGUE[EventType.SOCIAL_ORGANISATION_REGISTERED]
    raw = generate(spec.event_type, random.Random(1), TODAY)
    raw["payload"]["registered_funds"] = amount
    event = sealed(spec, raw)  # accepted by the model
    back = record_to_event(spec, read(spec, write(spec, event_to_record(event))))
    assert back == event


# --- decoding on replay --------------------------------------------------------------------

def test_decoding_ignores_today_so_old_events_replay():
    # A record's "not in the future" rules were checked when it was sealed; replaying with any
    # clock must not refuse it. Move the dates past the real today to stand in for clock skew.
    spec = CATALOGUE[EventType.MARRIAGE_REGISTERED]
    _, event = next(generated_events(spec))
    record = read(spec, write(spec, event_to_record(event)))
    record["payload"]["registered_on"] = date(2999, 1, 1)
    record["envelope"]["occurred_at"] = datetime(2999, 1, 1, tzinfo=timezone.utc)
    assert record_to_event(spec, record).payload.registered_on == date(2999, 1, 1)


def test_decoding_still_applies_the_other_rules():
    spec = CATALOGUE[EventType.MARRIAGE_REGISTERED]
    _, event = next(generated_events(spec))
    record = read(spec, write(spec, event_to_record(event)))
    record["payload"]["spouse_b"] = record["payload"]["spouse_a"]
    with pytest.raises(ValidationError) as info:
        record_to_event(spec, record)
    assert [e["type"] for e in info.value.errors()] == ["distinct_spouses"]
