"""Registrar rules and sealing, through ``hub.domain.sealing.seal`` with a pinned clock.

Valid submissions come from ``producers.demo_data.generate``; each bad-input case breaks exactly
one rule of an otherwise valid submission and checks the dotted field path and the rule name a
department system receives.

``generate`` stamps instants (``occurred_at``, ``born_at``, ``died_at``) from the real clock, so
the pinned clock is "now" frozen when this module is imported; dates are generated for that
clock's day in China Standard Time. Cases about ages and birth dates use fixed historical dates.
"""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

import pytest

from hub.domain.catalogue import CATALOGUE, spec_for, spec_for_publisher
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import FOLLOW_UPS, EventType
from hub.domain.identifiers import id_check_character, uscc_check_character
from hub.domain.sealing import seal
from hub.errors import InvalidEvent, NotOwner, UnknownEventType
from producers.demo_data import generate

NOW = datetime.now(timezone.utc).replace(microsecond=123_456)
TODAY = NOW.astimezone(CHINA_TZ).date()
FIXED_ID = "0f6e1b52-9a61-4c1e-8d8e-2d6f3c4b5a69"

M = EventType.MARRIAGE_REGISTERED
B = EventType.BIRTH_CERTIFIED
D = EventType.DEATH_CERTIFIED
R = EventType.RETIREMENT_APPROVED
E = EventType.ENTERPRISE_REGISTERED
S = EventType.SOCIAL_ORGANISATION_REGISTERED


def clock() -> datetime:
    return NOW


def submission(event_type: EventType, seed: int = 7) -> dict:
    return generate(event_type, random.Random(seed), TODAY)


def seal_as_owner(event_type: EventType, raw: dict, **kwargs):
    spec = CATALOGUE[event_type]
    return seal(spec, spec.owner, raw, clock=clock, **kwargs)


def errors_of(event_type: EventType, raw) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as info:
        seal_as_owner(event_type, raw)
    assert info.value.event_type == event_type.value
    return [(e.field, e.rule) for e in info.value.errors]


def make_id(born: date, male: bool, seq: int = 12) -> str:
    first17 = f"330106{born:%Y%m%d}{seq * 2 + (1 if male else 0):03d}"
    return first17 + id_check_character(first17)


def raw_id(born: str, male: bool = True) -> str:
    """An id with an arbitrary (possibly impossible) 8-digit date and a correct check."""
    first17 = f"330106{born}{25 if male else 24:03d}"
    return first17 + id_check_character(first17)


def make_person(born: date, male: bool, name: str = "张伟", seq: int = 12) -> dict:
    return {"name": name, "id_number": make_id(born, male, seq), "sex": "MALE" if male else "FEMALE"}


def wrong_check(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def with_check(uscc17: str) -> str:
    """A credit code with a correct check character, so only a category rule can fail."""
    return uscc17 + uscc_check_character(uscc17)


# --- every generated submission seals ------------------------------------------------------

@pytest.mark.parametrize("event_type", list(EventType))
def test_every_generated_submission_seals(event_type):
    spec = CATALOGUE[event_type]
    for seed in range(60):
        raw = submission(event_type, seed)
        event = seal_as_owner(event_type, copy.deepcopy(raw))
        assert event.envelope.event_type is event_type
        # The payload is the submitted one as the model reads it (nothing replaced or dropped).
        context = {"today": TODAY, "now": NOW}
        assert event.payload == spec.payload_model.model_validate(raw["payload"], context=context)


def test_catalogue_covers_the_six_triggers_and_the_follow_ups_with_their_owners():
    assert {t: s.owner for t, s in CATALOGUE.items()} == {
        S: Department.CIVIL_AFFAIRS,
        E: Department.MARKET_SUPERVISION,
        M: Department.CIVIL_AFFAIRS,
        B: Department.HEALTH,
        D: Department.HEALTH,
        R: Department.HUMAN_RESOURCES_SOCIAL_SECURITY,
        EventType.DOCUMENTS_SUPPLEMENTED: Department.CIVIL_AFFAIRS,
        EventType.CONSENT_WITHDRAWN: Department.CIVIL_AFFAIRS,
    }
    # A supplement (容缺受理) or a consent withdrawal may come from any department that accepts
    # registrations (the router checks it is the one that recorded the event it names).
    for follow_up in (EventType.DOCUMENTS_SUPPLEMENTED, EventType.CONSENT_WITHDRAWN):
        assert CATALOGUE[follow_up].publishers == {
            Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION, Department.HEALTH,
            Department.HUMAN_RESOURCES_SOCIAL_SECURITY}



@pytest.mark.parametrize("event_type", list(EventType))
def test_submission_generated_for_a_past_day_seals_with_a_clock_on_that_day(event_type):
    day = date(2023, 3, 15)
    raw = generate(event_type, random.Random(1), day)
    noon = datetime(2023, 3, 15, 12, 0, tzinfo=CHINA_TZ)
    spec = CATALOGUE[event_type]
    seal(spec, spec.owner, raw, clock=lambda: noon)


# --- one broken rule, one precise error ----------------------------------------------------

def _set(path: str, value):
    """Mutation that sets a dotted path (creating nothing: the parent must exist)."""
    def mutate(raw):
        *parents, leaf = path.split(".")
        node = raw
        for p in parents:
            node = node[p]
        node[leaf] = value(raw) if callable(value) else value
    return mutate


def _delete(path: str):
    def mutate(raw):
        *parents, leaf = path.split(".")
        node = raw
        for p in parents:
            node = node[p]
        del node[leaf]
    return mutate


def _both(*mutations):
    def mutate(raw):
        for m in mutations:
            m(raw)
    return mutate


TOMORROW = (TODAY + timedelta(days=1)).isoformat()

CASES = [
    # identifiers
    ("bad-check-character", M,
     _set("payload.spouse_a.id_number", lambda r: wrong_check(r["payload"]["spouse_a"]["id_number"])),
     ("payload.spouse_a.id_number", "check_character")),
    ("impossible-date-in-id", D, _set("payload.deceased.id_number", raw_id("19490230")),
     ("payload.deceased.id_number", "birth_date")),
    ("future-date-in-id", D,
     _set("payload.deceased.id_number", raw_id(f"{TODAY + timedelta(days=1):%Y%m%d}")),
     ("payload.deceased.id_number", "birth_date_not_future")),
    ("malformed-id", R, _set("payload.person.id_number", "33010619600101123"),
     ("payload.person.id_number", "format")),
    ("bad-uscc-check", E, _set("payload.uscc", lambda r: r["payload"]["uscc"][:17] + (
        "0" if r["payload"]["uscc"][17] != "0" else "1")), ("payload.uscc", "check_character")),
    # dates and instants
    ("future-registered-on", M, _set("payload.registered_on", TOMORROW),
     ("payload.registered_on", "not_future")),
    ("future-approved-on", R, _set("payload.approved_on", TOMORROW), ("payload.approved_on", "not_future")),
    ("future-occurred-at", M, _set("occurred_at", (NOW + timedelta(hours=1)).isoformat()),
     ("occurred_at", "not_future")),
    ("future-born-at", B, _set("payload.born_at", (NOW + timedelta(days=1)).isoformat()),
     ("payload.born_at", "not_future")),
    ("naive-occurred-at", M, _set("occurred_at", "2024-01-01T10:00:00"), ("occurred_at", "timezone_required")),
    ("naive-died-at", D, _set("payload.died_at", "2024-01-01T10:00:00"), ("payload.died_at", "timezone_required")),
    # presence, types, unknown fields
    ("missing-payload-field", M, _delete("payload.registration_office"),
     ("payload.registration_office", "missing")),
    ("missing-nested-field", B, _delete("payload.mother.name"), ("payload.mother.name", "missing")),
    ("missing-occurred-at", D, _delete("occurred_at"), ("occurred_at", "missing")),
    ("int-wrong-type", B, _set("payload.birth_weight_grams", "heavy"),
     ("payload.birth_weight_grams", "int_parsing")),
    ("int-out-of-range", B, _set("payload.birth_weight_grams", 9000),
     ("payload.birth_weight_grams", "less_than_equal")),
    ("bool-wrong-type", E, _set("payload.foreign_invested", "maybe"), ("payload.foreign_invested", "bool_parsing")),
    ("decimal-wrong-type", E, _set("payload.registered_capital", "lots"),
     ("payload.registered_capital", "decimal_parsing")),
    ("negative-money", R, _set("payload.monthly_pension", "-0.01"),
     ("payload.monthly_pension", "greater_than_equal")),
    ("money-three-places", S, _set("payload.registered_funds", "10.001"),
     ("payload.registered_funds", "decimal_max_places")),
    ("date-wrong-type", M, _set("payload.registered_on", "yesterday"),
     ("payload.registered_on", "date_from_datetime_parsing")),
    ("enum-unknown-symbol", D, _set("payload.cause_category", "OLD_AGE"), ("payload.cause_category", "enum")),
    ("list-item-pattern", E, _both(_set("payload.foreign_invested", True),
                                   _set("payload.investor_countries", ["usa"])),
     ("payload.investor_countries.0", "string_pattern_mismatch")),
    ("unknown-payload-field", M, _set("payload.witness", "李四"), ("payload.witness", "extra_forbidden")),
    ("unknown-nested-field", M, _set("payload.spouse_a.nickname", "阿伟"),
     ("payload.spouse_a.nickname", "extra_forbidden")),
    ("caller-sets-department", M, _set("source_department", "TAX"), ("source_department", "extra_forbidden")),
    ("caller-sets-event-type", M, _set("event_type", "birth_certified"), ("event_type", "extra_forbidden")),
    ("bad-event-id", M, _set("event_id", "not-a-uuid"), ("event_id", "uuid_parsing")),
    ("bad-case-id", M, _set("case_id", "a b"), ("case_id", "string_pattern_mismatch")),
    # cross-field registrar rules
    ("sex-not-matching-id", M, _set("payload.spouse_b.sex", "MALE"),
     ("payload.spouse_b.sex", "sex_matches_id_number")),
    ("same-person-twice", M, _set("payload.spouse_b", lambda r: copy.deepcopy(r["payload"]["spouse_a"])),
     ("payload.spouse_b", "distinct_spouses")),
    ("same-sex-spouses", M, _set("payload.spouse_b", lambda r: {**r["payload"]["spouse_a"],
                                                                "id_number": "110105199001010010"}),
     ("payload.spouse_b", "opposite_sex")),
    ("social-org-uscc-category", S, _set("payload.organisation_type", "FOUNDATION"),
     ("payload.uscc", "uscc_category")),
    ("enterprise-with-social-org-code", E,
     _set("payload.uscc", lambda r: with_check("51" + r["payload"]["uscc"][2:17])),
     ("payload.uscc", "uscc_category")),
    ("foreign-invested-no-countries", E, _both(_set("payload.foreign_invested", True),
                                               _set("payload.investor_countries", [])),
     ("payload.investor_countries", "foreign_investor_required")),
    ("foreign-invested-only-cn", E, _both(_set("payload.foreign_invested", True),
                                          _set("payload.investor_countries", ["CN"])),
     ("payload.investor_countries", "foreign_investor_required")),
]


@pytest.mark.parametrize(
    "event_type, mutate, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_broken_rule_is_reported_with_its_field_and_rule(event_type, mutate, expected):
    raw = submission(event_type)
    mutate(raw)
    assert errors_of(event_type, raw) == [expected]


def test_errors_carry_a_human_message():
    raw = submission(M)
    raw["payload"]["spouse_b"]["sex"] = "MALE"
    with pytest.raises(InvalidEvent) as info:
        seal_as_owner(M, raw)
    (error,) = info.value.errors
    assert "MALE" in error.message and "FEMALE" in error.message
    assert error.as_dict() == {"field": "payload.spouse_b.sex", "rule": "sex_matches_id_number",
                               "message": error.message}
    assert "payload.spouse_b.sex" in str(info.value)


@pytest.mark.parametrize("raw, expected", [
    ([], [("(body)", "model_type")]),
    ({}, [("payload", "missing"), ("occurred_at", "missing")]),
    ({"payload": [], "occurred_at": NOW.isoformat()}, [("payload", "model_type")]),
])
def test_structurally_wrong_submissions(raw, expected):
    assert errors_of(M, raw) == expected


def test_occurred_at_allows_five_minutes_of_clock_skew():
    raw = submission(M)
    raw["occurred_at"] = (NOW + timedelta(minutes=4)).isoformat()
    seal_as_owner(M, raw)
    raw["occurred_at"] = (NOW + timedelta(minutes=6)).isoformat()
    assert errors_of(M, raw) == [("occurred_at", "not_future")]


def test_today_is_the_clock_day_in_china_standard_time():
    # 17:00 UTC is 01:00 the next day in Beijing: a registration dated that day is not future.
    late = datetime(2024, 6, 14, 17, 0, tzinfo=timezone.utc)
    raw = {
        "occurred_at": "2024-06-15T00:30:00+08:00",
        "payload": {
            "certificate_number": "J330109-2024-000123",
            "registered_on": "2024-06-15",
            "registration_office": "杭州市萧山区婚姻登记处",
            "spouse_a": make_person(date(1990, 1, 1), True),
            "spouse_b": make_person(date(1992, 1, 1), False, "李娜"),
        },
    }
    event = seal(CATALOGUE[M], Department.CIVIL_AFFAIRS, raw, clock=lambda: late)
    assert event.payload.registered_on == date(2024, 6, 15)
    raw["payload"]["registered_on"] = "2024-06-16"
    with pytest.raises(InvalidEvent) as info:
        seal(CATALOGUE[M], Department.CIVIL_AFFAIRS, raw, clock=lambda: late)
    assert [(e.field, e.rule) for e in info.value.errors] == [("payload.registered_on", "not_future")]


def test_sex_is_not_also_blamed_when_the_id_number_itself_is_invalid():
    raw = submission(M)
    spouse_b = raw["payload"]["spouse_b"]
    spouse_b["id_number"] = wrong_check(spouse_b["id_number"])
    spouse_b["sex"] = "MALE"
    assert errors_of(M, raw) == [("payload.spouse_b.id_number", "check_character")]


# --- ages: fixed historical dates, boundaries on the birthday ------------------------------

def marriage_on(day: date, spouse_a: dict, spouse_b: dict) -> dict:
    return {
        "occurred_at": f"{day.isoformat()}T10:00:00+08:00",
        "payload": {
            "certificate_number": "J330109-2024-000123",
            "registered_on": day.isoformat(),
            "registration_office": "杭州市萧山区婚姻登记处",
            "spouse_a": spouse_a,
            "spouse_b": spouse_b,
        },
    }


WEDDING = date(2024, 6, 15)
GROOM = make_person(date(1995, 3, 3), True)
BRIDE = make_person(date(1996, 4, 4), False, "李娜")


@pytest.mark.parametrize(
    "field, born, male, ok",
    [
        ("spouse_a", date(2002, 6, 15), True, True),    # man: 22 on the day
        ("spouse_a", date(2002, 6, 16), True, False),   # man: 22 tomorrow
        ("spouse_b", date(2004, 6, 15), False, True),   # woman: 20 on the day
        ("spouse_b", date(2004, 6, 16), False, False),  # woman: 20 tomorrow
    ],
)
def test_legal_marriage_age(field, born, male, ok):
    people = {"spouse_a": GROOM, "spouse_b": BRIDE}
    people[field] = make_person(born, male, "王芳", seq=40)
    raw = marriage_on(WEDDING, people["spouse_a"], people["spouse_b"])
    if ok:
        seal_as_owner(M, raw)
    else:
        assert errors_of(M, raw) == [(f"payload.{field}", "legal_marriage_age")]


def retirement(person: dict, kind: str = "NORMAL", on: date = date(2024, 6, 1)) -> dict:
    return {
        "occurred_at": "2024-05-20T09:00:00+08:00",
        "payload": {
            "approval_number": "TX-2024-00042",
            "person": person,
            "retirement_type": kind,
            "retirement_date": on.isoformat(),
            "approved_on": "2024-05-20",
            "monthly_pension": "4321.50",
            "insured_region": "330106",
        },
    }


@pytest.mark.parametrize(
    "born, male, kind, ok",
    [
        (date(1964, 6, 1), True, "NORMAL", True),     # man: 60 on the retirement date
        (date(1964, 6, 2), True, "NORMAL", False),    # man: 59
        (date(1974, 6, 1), False, "NORMAL", True),    # woman: 50
        (date(1974, 6, 2), False, "NORMAL", False),   # woman: 49
        (date(1970, 1, 1), True, "EARLY_DISABILITY", True),    # early types are exempt
        (date(1970, 1, 1), True, "EARLY_SPECIAL_WORK", True),
    ],
)
def test_statutory_retirement_age(born, male, kind, ok):
    raw = retirement(make_person(born, male), kind)
    if ok:
        event = seal_as_owner(R, raw)
        assert event.payload.retirement_type.value == kind
    else:
        assert errors_of(R, raw) == [("payload.retirement_date", "statutory_retirement_age")]


def death(deceased: dict, died_at: str) -> dict:
    return {
        "occurred_at": "2024-06-01T09:00:00+08:00",
        "payload": {
            "certificate_number": "330106202400012",
            "deceased": deceased,
            "died_at": died_at,
            "place_of_death": "萧山区第一人民医院",
            "cause_category": "DISEASE",
            "certifying_institution": "萧山区第一人民医院",
        },
    }


@pytest.mark.parametrize(
    "died_at, ok",
    [
        ("1960-05-04T12:00:00+08:00", False),  # the day before birth
        ("1960-05-05T12:00:00+08:00", True),   # the day of birth
        ("2024-05-31T23:00:00+08:00", True),
    ],
)
def test_death_is_not_before_birth(died_at, ok):
    raw = death(make_person(date(1960, 5, 5), True), died_at)
    if ok:
        seal_as_owner(D, raw)
    else:
        assert errors_of(D, raw) == [("payload.died_at", "after_birth")]


def test_death_early_in_the_morning_of_the_birth_day_is_accepted():
    seal_as_owner(D, death(make_person(date(2024, 5, 5), False), "2024-05-05T06:00:00+08:00"))


def test_full_width_identity_number_is_refused():
    raw = submission(M)
    ascii_id = raw["payload"]["spouse_a"]["id_number"]
    raw["payload"]["spouse_a"]["id_number"] = "".join(
        chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in ascii_id)
    try:
        seal_as_owner(M, raw)
    except InvalidEvent as exc:
        assert [(e.field, e.rule) for e in exc.errors] == [("payload.spouse_a.id_number", "format")]
    else:
        raise AssertionError("full-width identity number was accepted")


# --- all errors at once --------------------------------------------------------------------

def test_multiple_errors_are_all_reported_at_once():
    raw = submission(M)
    raw["payload"]["spouse_a"]["id_number"] = wrong_check(raw["payload"]["spouse_a"]["id_number"])
    raw["payload"]["registered_on"] = TOMORROW
    del raw["payload"]["registration_office"]
    raw["payload"]["witness"] = "李四"
    raw["occurred_at"] = "2024-01-01T10:00:00"
    assert sorted(errors_of(M, raw)) == sorted([
        ("payload.spouse_a.id_number", "check_character"),
        ("payload.registered_on", "not_future"),
        ("payload.registration_office", "missing"),
        ("payload.witness", "extra_forbidden"),
        ("occurred_at", "timezone_required"),
    ])


def test_errors_in_several_nested_people_are_all_reported():
    raw = submission(B, seed=3)
    assert raw["payload"]["father"] is not None
    raw["payload"]["mother"]["sex"] = "MALE"
    raw["payload"]["father"]["id_number"] = wrong_check(raw["payload"]["father"]["id_number"])
    raw["payload"]["birth_weight_grams"] = "heavy"
    assert sorted(errors_of(B, raw)) == sorted([
        ("payload.mother.sex", "sex_matches_id_number"),
        ("payload.father.id_number", "check_character"),
        ("payload.birth_weight_grams", "int_parsing"),
    ])


# --- the sealed envelope -------------------------------------------------------------------

def _subjects(event_type: EventType, payload: dict) -> list[str]:
    if event_type is M:
        return [payload["spouse_a"]["id_number"], payload["spouse_b"]["id_number"]]
    if event_type is B:
        ids = [payload["certificate_number"], payload["mother"]["id_number"]]
        return ids + ([payload["father"]["id_number"]] if payload["father"] else [])
    if event_type is D:
        return [payload["deceased"]["id_number"]]
    if event_type is R:
        return [payload["person"]["id_number"]]
    if event_type in FOLLOW_UPS:
        return [payload["subject_id"]]
    return [payload["uscc"]]


@pytest.mark.parametrize("event_type", list(EventType))
def test_envelope_is_sealed_by_the_hub(event_type):
    spec = CATALOGUE[event_type]
    raw = submission(event_type)
    event = seal(spec, spec.owner, raw, clock=clock, new_id=lambda: FIXED_ID)
    env = event.envelope
    assert env.event_id == FIXED_ID
    assert env.event_type is event_type
    assert env.schema_version == spec.schema_version == 1
    assert env.source_department is spec.owner
    assert env.subject_ids == _subjects(event_type, raw["payload"])
    assert event.key == env.subject_ids[0]
    assert env.occurred_at == datetime.fromisoformat(raw["occurred_at"])
    assert env.recorded_at == NOW.replace(microsecond=123_000)  # milliseconds, as on the wire
    assert env.case_id == f"case-{FIXED_ID}"
    assert env.refers_to is None


def test_source_department_is_the_callers():
    # seal() trusts its caller for the department (ownership is checked by spec_for_publisher).
    event = seal(CATALOGUE[M], Department.TAX, submission(M), clock=clock)
    assert event.envelope.source_department is Department.TAX


@pytest.mark.parametrize("with_father", [True, False])
def test_birth_subjects_are_certificate_then_mother_then_father(with_father):
    raw = submission(B, seed=3)
    p = raw["payload"]
    if not with_father:
        p["father"] = None
    event = seal_as_owner(B, raw)
    expected = [p["certificate_number"], p["mother"]["id_number"]]
    if with_father:
        expected.append(p["father"]["id_number"])
    assert event.envelope.subject_ids == expected
    assert event.key == p["certificate_number"]


def test_marriage_subjects_are_both_spouses_keyed_by_spouse_a():
    raw = submission(M)
    event = seal_as_owner(M, raw)
    a, b = raw["payload"]["spouse_a"]["id_number"], raw["payload"]["spouse_b"]["id_number"]
    assert event.envelope.subject_ids == [a, b]
    assert event.key == a


def test_occurred_at_is_normalised_to_utc_milliseconds():
    raw = submission(M)
    raw["occurred_at"] = "2024-06-15T09:30:15.987654+08:00"
    event = seal_as_owner(M, raw)
    assert event.envelope.occurred_at == datetime(2024, 6, 15, 1, 30, 15, 987_000, tzinfo=timezone.utc)
    assert event.envelope.occurred_at.utcoffset() == timedelta(0)


def test_client_event_id_and_case_id_are_kept():
    raw = submission(M)
    raw["event_id"] = FIXED_ID
    raw["case_id"] = "xs-2024-0042"
    raw["refers_to"] = {"event_id": "11111111-2222-4333-8444-555555555555", "change_kind": "CORRECTION"}
    event = seal_as_owner(M, raw, new_id=lambda: pytest.fail("new_id must not be called"))
    assert event.envelope.event_id == FIXED_ID
    assert event.envelope.case_id == "xs-2024-0042"
    assert event.envelope.refers_to.event_id == "11111111-2222-4333-8444-555555555555"
    assert event.envelope.refers_to.change_kind.value == "CORRECTION"


def test_client_event_id_opens_its_own_case():
    raw = submission(D)
    raw["event_id"] = FIXED_ID
    assert seal_as_owner(D, raw).envelope.case_id == f"case-{FIXED_ID}"


def test_generated_event_ids_are_fresh_uuids():
    a, b = (seal_as_owner(M, submission(M)).envelope.event_id for _ in range(2))
    assert a != b
    assert str(UUID(a)) == a


def test_sealing_is_deterministic_given_the_collaborators():
    raw = submission(E)
    first = seal_as_owner(E, copy.deepcopy(raw), new_id=lambda: FIXED_ID)
    second = seal_as_owner(E, copy.deepcopy(raw), new_id=lambda: FIXED_ID)
    assert first == second


# --- catalogue look-ups --------------------------------------------------------------------

@pytest.mark.parametrize("event_type", list(EventType))
def test_spec_for_finds_each_type_by_name(event_type):
    assert spec_for(event_type.value).event_type is event_type


@pytest.mark.parametrize("name", ["nope", "", "MARRIAGE_REGISTERED", "marriage-registered"])
def test_spec_for_unknown_type_raises(name):
    with pytest.raises(UnknownEventType) as info:
        spec_for(name)
    assert info.value.event_type == name
    assert "marriage_registered" in str(info.value)  # lists the known types


@pytest.mark.parametrize("event_type", list(EventType))
def test_only_the_owner_may_publish(event_type):
    spec = CATALOGUE[event_type]
    for department in spec.publishers:
        assert spec_for_publisher(event_type.value, department) is spec
    for department in Department:
        if department in spec.publishers:
            continue
        with pytest.raises(NotOwner) as info:
            spec_for_publisher(event_type.value, department)
        assert info.value.owner == spec.owner.value
        assert info.value.department == department.value
        assert spec.owner.value in str(info.value)


def test_spec_for_publisher_checks_the_type_first():
    with pytest.raises(UnknownEventType):
        spec_for_publisher("nope", Department.CIVIL_AFFAIRS)
