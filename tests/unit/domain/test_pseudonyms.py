"""Keyed pseudonyms of subjects: stable under one key, unlinkable without it, findable after a
rotation, and old records in clear still found."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.domain.pseudonyms import Pseudonyms

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))
SUBJECT = "33010619900101123X"


def test_a_pseudonym_is_the_keyed_hmac_of_the_number_tagged_with_its_key():
    expected = hmac.new(KEY_A, SUBJECT.encode(), hashlib.sha256).hexdigest()[:32]
    assert Pseudonyms({"a": KEY_A}, "a").of(SUBJECT) == f"a:{expected}"


def test_the_same_number_however_written_has_one_pseudonym():
    names = Pseudonyms({"a": KEY_A}, "a")
    assert names.of(SUBJECT) == names.of(SUBJECT.lower()) == names.of(f" {SUBJECT} ")


def test_another_key_gives_an_unrelated_pseudonym():
    assert Pseudonyms({"a": KEY_A}, "a").of(SUBJECT).split(":")[1] != \
        Pseudonyms({"a": KEY_B}, "a").of(SUBJECT).split(":")[1]


def test_after_a_rotation_new_records_use_the_new_key_and_lookups_find_both_and_the_clear_number():
    before = Pseudonyms({"a": KEY_A}, "a")
    after = Pseudonyms({"a": KEY_A, "b": KEY_B}, "b")
    assert after.of(SUBJECT).startswith("b:")
    assert after.lookup_keys(SUBJECT) == [before.of(SUBJECT), after.of(SUBJECT), SUBJECT]


@pytest.mark.parametrize("keys,current,rule", [
    ({"a": KEY_A}, "b", "not among the keys"),
    ({"a:b": KEY_A}, "a:b", "contain no ':'"),
    ({"a": b"short"}, "a", "at least 32 bytes"),
])
def test_a_bad_key_set_is_refused(keys, current, rule):
    with pytest.raises(ValueError, match=rule):
        Pseudonyms(keys, current)
