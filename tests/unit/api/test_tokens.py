"""Bearer tokens: issued once, stored only as SHA-256 hashes, resolved to a caller (role,
department, id); expired and revoked tokens refused; files written before roles still load."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import datetime, timedelta, timezone

import pytest

from hub.api.tokens import (
    DEFAULT_EXPIRY,
    Caller,
    Refused,
    Role,
    TokenRecord,
    TokenStore,
    issue,
    issue_token,
    list_tokens,
    revoke,
    token_hash,
)
from hub.domain.departments import Department
from hub.errors import ConfigurationError, InvalidOption, NotFound


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


# --- roles, ids, expiry, revocation ----------------------------------------------------------

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_issued_tokens_have_a_role_an_id_and_a_finite_expiry(tokens_file):
    token, record = issue(tokens_file, Role.OPERATOR, label="night shift", now=NOW)
    assert token.startswith("ooh_operator_")
    assert (record.role, record.department, record.label) == (Role.OPERATOR, None, "night shift")
    assert record.expires_at == NOW + DEFAULT_EXPIRY == NOW + timedelta(days=90)
    assert len(record.id) == 8 and record.id not in token and record.id not in record.sha256
    caller = TokenStore.load(tokens_file, clock=Clock()).check(token)
    assert caller == Caller(record.id, Role.OPERATOR, None, "night shift")
    (stored,) = json.loads(tokens_file.read_text())["tokens"]
    assert stored["role"] == "operator" and stored["department"] is None and stored["revoked_at"] is None


def test_ids_are_unique_and_department_tokens_keep_working_as_before(tokens_file):
    tokens = [issue_token(tokens_file, Department.TAX) for _ in range(5)]
    records = list_tokens(tokens_file)
    assert len({r.id for r in records}) == 5
    store = TokenStore.load(tokens_file)
    assert all(store.department_for(t) is Department.TAX for t in tokens)


@pytest.mark.parametrize("role, department", [(Role.DEPARTMENT, None), (Role.AUDITOR, Department.TAX),
                                               (Role.OPERATOR, Department.HEALTH)])
def test_a_role_and_a_department_must_agree(tokens_file, role, department):
    with pytest.raises(InvalidOption):
        issue(tokens_file, role, department)
    assert not tokens_file.exists()


def test_a_token_expires_when_its_time_is_up(tokens_file):
    token, record = issue(tokens_file, Role.DEPARTMENT, Department.HEALTH, expires_in=timedelta(hours=12),
                          now=NOW)
    clock = Clock(NOW + timedelta(hours=12) - timedelta(microseconds=1))
    store = TokenStore.load(tokens_file, clock=clock)
    assert isinstance(store.check(token), Caller) and store.department_for(token) is Department.HEALTH
    clock.now = NOW + timedelta(hours=12)
    assert store.check(token) == Refused("bearer token expired")
    assert store.department_for(token) is None


def test_a_revoked_token_is_refused_by_a_store_already_loaded(tokens_file):
    """`hub tokens revoke` applies to a running server at its next request."""
    keep = issue_token(tokens_file, Department.TAX)
    token, record = issue(tokens_file, Role.AUDITOR)
    store = TokenStore.load(tokens_file)
    assert isinstance(store.check(token), Caller)
    revoked = revoke(tokens_file, record.id)
    assert revoked.revoked_at is not None
    assert store.check(token) == Refused("bearer token revoked")
    assert isinstance(store.check(keep), Caller)
    # a second revoke keeps the first time
    assert revoke(tokens_file, record.id).revoked_at == revoked.revoked_at
    later = issue_token(tokens_file, Department.HEALTH)
    assert store.department_for(later) is Department.HEALTH  # new tokens apply without a restart too


def test_revoking_an_unknown_id_is_not_found_and_changes_nothing(tokens_file):
    issue_token(tokens_file, Department.TAX)
    before = tokens_file.read_bytes()
    with pytest.raises(NotFound, match="no token with id 'nope'"):
        revoke(tokens_file, "nope")
    assert tokens_file.read_bytes() == before


def test_unknown_missing_and_empty_tokens_are_refused_as_unknown(tokens_file):
    store = TokenStore.load(tokens_file)
    assert store.check(None) == store.check("") == store.check("x") == Refused("missing or unknown bearer token")


def test_a_file_written_before_roles_loads_as_department_tokens_that_never_expire(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [{"department": "CIVIL_AFFAIRS", "sha256": token_hash("old-token"),
                                            "label": "desk", "issued_at": "2024-01-01T00:00:00Z"}]}))
    store = TokenStore.load(path, clock=Clock(datetime(2040, 1, 1, tzinfo=timezone.utc)))
    assert store.check("old-token") == Caller(token_hash("old-token")[:8], Role.DEPARTMENT,
                                              Department.CIVIL_AFFAIRS, "desk")
    (record,) = list_tokens(path)
    assert (record.role, record.expires_at, record.revoked_at) == (Role.DEPARTMENT, None, None)
    # and it can be revoked by that id, the file rewritten in the new shape
    revoke(path, record.id)
    assert store.check("old-token") == Refused("bearer token revoked")
    assert json.loads(path.read_text())["tokens"][0]["role"] == "department"


def test_a_file_that_becomes_malformed_refuses_rather_than_opens(tokens_file):
    token = issue_token(tokens_file, Department.TAX)
    store = TokenStore.load(tokens_file)
    tokens_file.write_text("not json at all")
    with pytest.raises(ConfigurationError):
        store.check(token)


def test_a_deleted_file_leaves_no_token_valid(tokens_file):
    token = issue_token(tokens_file, Department.TAX)
    store = TokenStore.load(tokens_file)
    tokens_file.unlink()
    assert store.check(token) == Refused("missing or unknown bearer token")


def test_every_write_keeps_the_file_private_and_leaves_no_temporary_file(tokens_file):
    _, record = issue(tokens_file, Role.AUDITOR)
    revoke(tokens_file, record.id)
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tokens_file.parent.iterdir()) == ["tokens.json"]
