"""`hub tokens issue | list | revoke`: roles, expiry, ids; never a hash or a token in a listing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from hub.api.tokens import Caller, Refused, Role, TokenStore, list_tokens
from hub.cli.app import app
from hub.cli.tokens import parse_duration
from hub.domain.departments import Department


@pytest.fixture
def tokens_file(tmp_path, monkeypatch):
    path = tmp_path / "tokens.json"
    monkeypatch.setenv("HUB_TOKENS_FILE", str(path))
    return path


def hub(*args: str):
    return CliRunner().invoke(app, ["tokens", *args])


def test_a_department_token_as_before(tokens_file):
    result = hub("issue", "civil-affairs", "--label", "marriage desk")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    (record,) = list_tokens(tokens_file)
    assert (record.role, record.department, record.label) == (Role.DEPARTMENT, Department.CIVIL_AFFAIRS,
                                                              "marriage desk")
    assert record.expires_at - record.issued_at == timedelta(days=90)
    assert TokenStore.load(tokens_file).department_for(token) is Department.CIVIL_AFFAIRS
    assert record.id in result.stderr


@pytest.mark.parametrize("role", ["operator", "auditor"])
def test_operator_and_auditor_tokens_need_no_department(tokens_file, role):
    result = hub("issue", "--role", role, "--expires-in", "12h")
    assert result.exit_code == 0, result.output
    caller = TokenStore.load(tokens_file).check(result.stdout.strip())
    assert isinstance(caller, Caller) and caller.role is Role(role) and caller.department is None
    (record,) = list_tokens(tokens_file)
    assert record.expires_at - record.issued_at == timedelta(hours=12)


@pytest.mark.parametrize("args, hint", [
    (["issue"], "DEPARTMENT"),
    (["issue", "--role", "operator", "TAX"], "DEPARTMENT"),
    (["issue", "--role", "root"], "--role"),
    (["issue", "TAX", "--expires-in", "0d"], "--expires-in"),
    (["issue", "TAX", "--expires-in", "forever"], "--expires-in"),
    (["issue", "NO_SUCH_DEPARTMENT"], ""),
])
def test_bad_options_exit_2_and_write_nothing(tokens_file, args, hint):
    result = hub(*args)
    assert result.exit_code == 2, result.output
    assert hint in result.output
    assert not tokens_file.exists()


@pytest.mark.parametrize("text, expected", [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)),
                                            ("90m", timedelta(minutes=90)), ("2w", timedelta(weeks=2))])
def test_durations(text, expected):
    assert parse_duration(text) == expected


def test_list_shows_every_token_but_no_hash_and_no_token(tokens_file):
    civil = hub("issue", "CIVIL_AFFAIRS", "--label", "desk").stdout.strip()
    ops = hub("issue", "--role", "operator").stdout.strip()
    listing = hub("list")
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "ROLE", "DEPARTMENT", "ISSUED", "EXPIRES", "REVOKED", "LABEL"]
    records = list_tokens(tokens_file)
    for record, line in zip(records, lines[1:], strict=True):
        assert line.startswith(record.id) and record.sha256 not in listing.stdout
    assert "department  CIVIL_AFFAIRS" in lines[1] and "operator    -" in lines[2]
    for token in (civil, ops):
        assert token not in listing.stdout and token[-12:] not in listing.stdout


def test_revoke_by_id_and_unknown_ids(tokens_file):
    token = hub("issue", "HEALTH").stdout.strip()
    (record,) = list_tokens(tokens_file)
    revoked = hub("revoke", record.id)
    assert revoked.exit_code == 0 and f"token {record.id} revoked at" in revoked.stdout
    assert TokenStore.load(tokens_file).check(token) == Refused("bearer token revoked")
    assert datetime.fromisoformat(json.loads(tokens_file.read_text())["tokens"][0]["revoked_at"])
    unknown = hub("revoke", "nope")
    assert unknown.exit_code == 1
    assert "no token with id 'nope'" in unknown.output
