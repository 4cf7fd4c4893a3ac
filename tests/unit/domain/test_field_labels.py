"""Field paths in words for the citizen page; every granted field of the rules has its words."""

from hub.domain.field_labels import WORDS, field_label
from hub.rules import load_rules


def test_a_path_reads_in_chinese_or_english_and_an_unknown_segment_as_written():
    assert field_label("payload.spouse_a.id_number") == "配偶甲 · 公民身份号码"
    assert field_label("payload.spouse_a.id_number", "en") == "spouse A · identity number"
    assert field_label("payload.some_new_field", "en") == "some new field"


def test_every_field_the_rules_grant_has_words():
    rules = load_rules()
    granted = {g.field for items in rules.event_types.values() for item in items for g in item.grants}
    missing = {part for field in granted for part in field.split(".")[1:] if part not in WORDS}
    assert granted and missing == set()
