"""Resident identity numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015).

The expected check characters are computed here by an independent formulation of each rule
(weights derived as powers, not copied from the module under test) and by hand for the published
examples, so a wrong table in ``hub.domain.identifiers`` cannot agree with itself.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from hub.domain import identifiers
from hub.domain.identifiers import (
    id_birth_date,
    id_check_character,
    id_is_male,
    mask_id,
    resident_id_problems,
    uscc_check_character,
    uscc_problems,
)

TODAY = date(2024, 6, 15)


# --- independent reference implementations -------------------------------------------------

def ref_id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2: weight of position i is 2**(17-i) mod 11; check = (12 - S) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


REF_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols: no I, O, Z, S, V


def ref_uscc_check(first17: str) -> str:
    """GB 32100: weight of position i is 3**i mod 31; check = 31 - S mod 31 (31 -> 0)."""
    total = sum(REF_USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return REF_USCC_ALPHABET[(31 - total % 31) % 31]


def make_id(born: str, seq: str = "123", region: str = "330106") -> str:
    """A synthetic identity number: region + YYYYMMDD + 3-digit sequence + reference check."""
    first17 = f"{region}{born}{seq}"
    assert len(first17) == 17
    return first17 + ref_id_check(first17)


def with_wrong_check(id_number: str) -> str:
    wrong = "0" if id_number[17] != "0" else "1"
    return id_number[:17] + wrong


def rules(problems: list[tuple[str, str]]) -> list[str]:
    return [rule for rule, _ in problems]


# --- resident identity number -------------------------------------------------------------

def test_reference_rule_reproduces_hand_computed_vectors():
    # 11010519491231002X: S = 167, 167 mod 11 = 2 -> "X"; 440524188001010014: S = 195 -> 8 -> "4".
    assert ref_id_check("11010519491231002") == "X"
    assert ref_id_check("44052418800101001") == "4"


@pytest.mark.parametrize("valid", ["11010519491231002X", "440524188001010014"])
def test_published_examples_are_valid(valid):
    assert resident_id_problems(valid, TODAY) == []
    assert id_check_character(valid[:17]) == valid[17]


def test_check_character_agrees_with_reference_on_random_numbers():
    rng = random.Random(11643)
    # Every check value 0..10 (including X) must occur, so the whole table is exercised.
    seen = set()
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        expected = ref_id_check(first17)
        assert id_check_character(first17) == expected, first17
        seen.add(expected)
    assert seen == set("0123456789X")


@pytest.mark.parametrize("position", range(17))
def test_changing_any_digit_breaks_the_check(position):
    valid = "11010519491231002X"
    digit = valid[position]
    altered = valid[:position] + str((int(digit) + 1) % 10) + valid[position + 1:]
    # A date digit may also make the date impossible; the check must fail either way.
    assert "check_character" in rules(resident_id_problems(altered, TODAY))


def test_wrong_check_character_is_reported_with_expected_value():
    problems = resident_id_problems("110105194912310021", TODAY)
    assert rules(problems) == ["check_character"]
    assert "expected X" in problems[0][1]


@pytest.mark.parametrize(
    "born, valid",
    [
        ("19490230", False),  # February 30
        ("19000229", False),  # 1900 is not a leap year
        ("20000229", True),   # 2000 is
        ("19991301", False),  # month 13
        ("19990100", False),  # day 0
        ("00000101", False),  # year 0
        ("19991231", True),
    ],
)
def test_embedded_birth_date_must_be_real(born, valid):
    number = make_id(born)
    problems = rules(resident_id_problems(number, TODAY))
    assert problems == ([] if valid else ["birth_date"])


def test_embedded_birth_date_is_read_from_digits_7_to_14():
    assert id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert id_birth_date(make_id("20000229")) == date(2000, 2, 29)


@pytest.mark.parametrize(
    "born, future",
    [("20240615", False), ("20240616", True), ("20991231", True)],
)
def test_embedded_birth_date_must_not_be_in_the_future(born, future):
    problems = rules(resident_id_problems(make_id(born), TODAY))
    assert problems == (["birth_date_not_future"] if future else [])


def test_every_broken_rule_is_reported():
    number = with_wrong_check(make_id("19490230"))
    assert sorted(rules(resident_id_problems(number, TODAY))) == ["birth_date", "check_character"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "11010519491231002",          # 17 characters
        "11010519491231002X0",        # 19 characters
        "11010519491231002x",         # lower-case x
        "1101051949123100X2",         # X not in the last position
        "11010519491231O02X",         # letter O for zero
        "110105 19491231002X",
        "-1010519491231002X",
    ],
)
def test_malformed_numbers_fail_only_the_format_rule(bad):
    assert rules(resident_id_problems(bad, TODAY)) == ["format"]


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(lambda: resident_id_problems("１１０１０５１９４９１２３１００２X", TODAY), id="fullwidth-id"),
        pytest.param(lambda: resident_id_problems("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", TODAY), id="arabic-indic-id"),
        pytest.param(lambda: resident_id_problems("11010519491231002X\n", TODAY), id="id-newline"),
        pytest.param(lambda: uscc_problems("91350100M000100Y43\n"), id="uscc-newline"),
    ],
)
def test_lookalike_characters_are_not_accepted(check):
    assert rules(check()) == ["format"]


@pytest.mark.parametrize(
    "number, male",
    [
        ("11010519491231002X", False),   # 17th digit 2
        ("440524188001010014", True),    # 17th digit 1
        (make_id("19800101", "129"), True),
        (make_id("19800101", "120"), False),
        (make_id("19800101", "998"), False),
    ],
)
def test_id_is_male_follows_the_parity_of_the_17th_digit(number, male):
    assert id_is_male(number) is male


# --- unified social credit code -----------------------------------------------------------

def test_published_uscc_example_checks_out_by_the_reference_rule():
    example = "91350100M000100Y43"
    assert ref_uscc_check(example[:17]) == example[17]
    assert uscc_problems(example) == []
    assert uscc_check_character(example[:17]) == "3"


def test_uscc_alphabet_is_the_31_symbol_set():
    assert identifiers.USCC_ALPHABET == REF_USCC_ALPHABET
    assert len(set(identifiers.USCC_ALPHABET)) == 31


def test_uscc_check_character_agrees_with_reference_on_random_codes():
    rng = random.Random(32100)
    seen = set()
    for _ in range(3000):
        first17 = "".join(rng.choice(REF_USCC_ALPHABET) for _ in range(17))
        expected = ref_uscc_check(first17)
        assert uscc_check_character(first17) == expected, first17
        assert uscc_problems(first17 + expected) == []
        seen.add(expected)
    assert seen == set(REF_USCC_ALPHABET)  # incl. "0", the (31 - 0) mod 31 case


def test_wrong_uscc_check_character_is_refused():
    problems = uscc_problems("91350100M000100Y44")
    assert rules(problems) == ["check_character"]
    assert "expected 3" in problems[0][1]


@pytest.mark.parametrize("letter", list("IOZSV"))
@pytest.mark.parametrize("position", [8, 17])
def test_letters_outside_the_alphabet_are_refused(letter, position):
    example = "91350100M000100Y43"
    code = example[:position] + letter + example[position + 1:]
    assert rules(uscc_problems(code)) == ["format"]


@pytest.mark.parametrize(
    "bad",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100m000100y43", "91350100M000100Y4-"],
)
def test_malformed_uscc_fails_only_the_format_rule(bad):
    assert rules(uscc_problems(bad)) == ["format"]


# --- masking ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value, masked",
    [
        ("11010519491231002X", "110105********002X"),
        ("440524188001010014", "440524********0014"),
        ("91350100M000100Y43", "913501********0Y43"),
        ("12345678901", "123456*8901"),
    ],
)
def test_mask_id_keeps_first_six_and_last_four(value, masked):
    assert mask_id(value) == masked
    assert len(mask_id(value)) == len(value)


def test_mask_id_never_reveals_the_birth_date():
    masked = mask_id("11010519491231002X")
    assert "19491231" not in masked and "1949" not in masked


@pytest.mark.parametrize("short", ["", "1", "1234567890"])
def test_mask_id_hides_short_values_completely(short):
    assert mask_id(short) == "*" * len(short)
