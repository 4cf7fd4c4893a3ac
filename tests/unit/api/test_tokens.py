"""Bearer tokens: issued once, stored only as SHA-256 hashes, resolved to a department."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import datetime, timezone

import pytest

from hub.api.tokens import TokenRecord, TokenStore, issue_token, token_hash
from hub.domain.departments import Department
from hub.errors import ConfigurationError


@pytest.fixture
def tokens_file(tmp_path):
    return tmp_path / "state" / "tokens.json"


def test_token_hash_is_sha256_hex():
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()


def test_issue_token_stores_only_the_hash(tokens_file):
    token = issue_token(tokens_file, Department.CIVIL_AFFAIRS, label="marriage desk")
    text = tokens_file.read_text()
    assert len(token) >= 32
    # Not the token, nor any 12-character piece of it (e.g. its random part on its own).
    assert not [token[i:i + 12] for i in range(len(token) - 11) if token[i:i + 12] in text]
    (record,) = json.loads(text)["tokens"]
    assert record["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert record["department"] == "CIVIL_AFFAIRS"
    assert record["label"] == "marriage desk"
    assert datetime.fromisoformat(record["issued_at"]).tzinfo is not None


def test_tokens_file_is_private_and_written_atomically(tokens_file):
    issue_token(tokens_file, Department.HEALTH)
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tokens_file.parent.iterdir()) == ["tokens.json"]  # no temp left


def test_issued_tokens_resolve_to_their_departments(tokens_file):
    civil = issue_token(tokens_file, Department.CIVIL_AFFAIRS)
    health = issue_token(tokens_file, Department.HEALTH)
    second_civil = issue_token(tokens_file, Department.CIVIL_AFFAIRS)
    assert len({civil, health, second_civil}) == 3
    store = TokenStore.load(tokens_file)
    assert len(store) == 3
    assert store.department_for(civil) is Department.CIVIL_AFFAIRS
    assert store.department_for(second_civil) is Department.CIVIL_AFFAIRS
    assert store.department_for(health) is Department.HEALTH
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("presented", ["", "ooh_civil_affairs_guess", "KNOWN-TOKEN ", "known-token"])
def test_unknown_token_resolves_to_none(presented):
    store = TokenStore([TokenRecord(department=Department.TAX, sha256=token_hash("KNOWN-TOKEN"),
                                    issued_at=datetime.now(timezone.utc))])
    assert store.department_for("KNOWN-TOKEN") is Department.TAX
    assert store.department_for(presented) is None


def test_missing_file_is_an_empty_store(tmp_path):
    store = TokenStore.load(tmp_path / "absent.json")
    assert len(store) == 0
    assert store.department_for("anything") is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"tokens": {}}',
        b'{"tokens": [{"department": "NOPE", "sha256": "ab", "issued_at": "2024-01-01T00:00:00Z"}]}',
        b'{"tokens": [{"department": "TAX", "issued_at": "2024-01-01T00:00:00Z"}]}',
        b"\xff\xfe\x00garbage",
    ],
    ids=["empty", "not-json", "list", "tokens-not-list", "unknown-department", "no-hash", "binary"],
)
def test_malformed_file_is_a_configuration_error(tmp_path, content):
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as info:
        TokenStore.load(path)
    assert str(path) in str(info.value)


def test_issue_token_leaves_a_malformed_file_untouched(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_bytes(b"not json")
    with pytest.raises(Exception):
        issue_token(path, Department.TAX)
    assert path.read_bytes() == b"not json"


def test_issue_token_on_a_malformed_file_is_a_configuration_error(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_bytes(b"not json")
    try:
        issue_token(path, Department.TAX)
    except ConfigurationError:
        return
    except Exception as exc:  # noqa: BLE001 - the point is which type
        raise AssertionError(f"raised {type(exc).__name__}, not ConfigurationError") from exc
    raise AssertionError("no error raised")
