"""``hub keys init`` makes the master key once and never replaces it."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.cli.app import app


def test_init_makes_the_pair_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "init"])
    assert first.exit_code == 0 and ": made" in first.output
    key_id = first.output.split()[2].rstrip(":")
    private = (tmp_path / "master-key.json").read_bytes()
    again = runner.invoke(app, ["keys", "init"])
    assert again.exit_code == 0 and f"master key {key_id}: kept" in again.output
    assert (tmp_path / "master-key.json").read_bytes() == private  # never replaced
    assert oct((tmp_path / "master-key.json").stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "master-key.pub.json").exists()
