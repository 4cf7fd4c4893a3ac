"""``hub erase`` refuses, before it reads or writes anything, a request it must not run."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.cli.app import app

ID = "110101199003077777"  # synthetic


def test_a_department_may_not_erase(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")  # error boxes wrap at the width: keep each rule on one line
    monkeypatch.setenv("HUB_PRINCIPAL", "tax")
    # Unreachable servers: a refusal that tried to connect would fail differently (exit 3).
    monkeypatch.setenv("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    refused = CliRunner().invoke(app, ["erase", ID, "--basis", "PIPL art. 47(1): purpose achieved"])
    assert refused.exit_code == 2 and "hub erase is the operator's" in refused.output
    assert ID not in refused.output


def test_a_bad_request_is_refused_naming_each_argument_and_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")  # error boxes wrap at the width: keep each rule on one line
    monkeypatch.setenv("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    refused = CliRunner().invoke(app, ["erase", "12345", "--basis", f"for {ID}"])
    assert refused.exit_code == 2
    assert "SUBJECT_ID: must be an identity number" in refused.output
    assert "--basis: must not contain an identifier" in refused.output
    assert ID not in refused.output
