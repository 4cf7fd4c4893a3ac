"""The pseudonym key file: created once, owner-only, shared by processes, rotated in place."""

from __future__ import annotations

import json
import stat

import pytest

from hub.errors import ConfigurationError
from hub.security.pseudonym_keys import load_pseudonyms, rotate

SUBJECT = "330106199001011234"


def test_a_missing_file_is_created_owner_only_and_then_reused(tmp_path):
    path = tmp_path / "keys" / "pseudonym-keys.json"
    first = load_pseudonyms(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_pseudonyms(path).of(SUBJECT) == first.of(SUBJECT)


def test_without_create_a_missing_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="not found"):
        load_pseudonyms(tmp_path / "absent.json", create=False)


def test_a_rotation_adds_a_current_key_and_keeps_the_old_for_lookups(tmp_path):
    path = tmp_path / "pseudonym-keys.json"
    old = load_pseudonyms(path).of(SUBJECT)
    new_id = rotate(path)
    rotated = load_pseudonyms(path)
    assert rotated.current == new_id and rotated.of(SUBJECT).startswith(f"{new_id}:")
    assert old in rotated.lookup_keys(SUBJECT) and len(rotated.key_ids) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and not path.with_suffix(".tmp").exists()


@pytest.mark.parametrize("body", ["not json", json.dumps({"keys": {}}),
                                  json.dumps({"current": "a", "keys": {"a": "!!"}}),
                                  json.dumps({"current": "a", "keys": {"a": "c2hvcnQ="}})])
def test_a_malformed_file_is_refused_with_its_path_and_no_key_material(tmp_path, body):
    path = tmp_path / "pseudonym-keys.json"
    path.write_text(body)
    with pytest.raises(ConfigurationError, match="pseudonym keys file") as refused:
        load_pseudonyms(path)
    assert "c2hvcnQ" not in str(refused.value)
