"""`hub rebuild` and `hub audit subject` with fake projections: what they print and exit with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hub.cli.rebuild as cli_rebuild
import hub.projections.timeline as timeline_module
from hub.cli.app import app as cli
from hub.domain.timeline import subject_timeline
from hub.errors import TopicMissing, Unavailable


class FakeProjection:
    """Records ``rebuild`` calls; reports progress like SqliteProjection does."""

    rebuilt: list[str] = []
    fail: Exception | None = None

    def __init__(self, settings, path=None):
        self.path = Path("/nowhere") / f"{self.name}.sqlite"
        self.skipped = 0

    def rebuild(self, progress=None):
        if self.fail:
            raise self.fail
        if progress:
            progress(0, 3)
            progress(3, 3)
        FakeProjection.rebuilt.append(self.name)
        return 3

    def close(self):
        pass


def fake(name: str):
    return type(f"Fake{name}", (FakeProjection,), {"name": name})


@pytest.fixture
def factories(monkeypatch):
    FakeProjection.rebuilt, FakeProjection.fail = [], None
    known = {"cases": fake("cases"), "timeline": fake("timeline"), "facts": fake("facts")}

    def factory(name):
        if name not in known:
            raise ValueError(name)
        return known[name]

    monkeypatch.setattr(cli_rebuild, "projection_factory", factory)
    return known


def test_rebuild_one_projection_prints_records_time_and_rate(factories):
    result = CliRunner().invoke(cli, ["rebuild", "cases"])
    assert result.exit_code == 0, result.output
    assert FakeProjection.rebuilt == ["cases"]
    assert "cases: 3 record(s) applied in " in result.stdout and "records/s) -> /nowhere/cases.sqlite" in result.stdout


def test_rebuild_all_rebuilds_every_projection_in_turn(factories):
    result = CliRunner().invoke(cli, ["rebuild", "all"])
    assert result.exit_code == 0, result.output
    assert FakeProjection.rebuilt == ["cases", "timeline", "facts"]
    assert all(f"{n}: 3 record(s) applied in " in result.stdout for n in ("cases", "timeline", "facts"))


def test_rebuild_of_an_unknown_projection_is_refused(factories):
    result = CliRunner().invoke(cli, ["rebuild", "everything"])
    assert result.exit_code == 2 and FakeProjection.rebuilt == []


@pytest.mark.parametrize("error, code", [(Unavailable("Kafka: KafkaConnectionError: down"), 3),
                                         (Unavailable("no records from Kafka"), 3),
                                         (TopicMissing(["p.audit"]), 1)])
def test_rebuild_exit_codes(factories, error, code):
    FakeProjection.fail = error
    result = CliRunner().invoke(cli, ["rebuild", "timeline"])
    assert result.exit_code == code and str(error) in result.stderr


def test_every_projection_name_has_its_class():
    from hub.projections.cases import CaseProjection
    from hub.projections.facts import FactsProjection
    from hub.projections.timeline import TimelineProjection

    assert [cli_rebuild.projection_factory(n) for n in ("cases", "timeline", "facts")] == \
        [CaseProjection, TimelineProjection, FactsProjection]
    with pytest.raises(ValueError, match="unknown projection 'views'"):
        cli_rebuild.projection_factory("views")


class FakeTimeline:
    def __init__(self, settings, path=None):
        self.caught_up = False

    def catch_up(self, progress=None):
        self.caught_up = True
        return 0

    def subject_timeline(self, subject_id, refs):
        assert self.caught_up and "S1" in refs and len(refs) == 2  # the pseudonym, and the number
        return subject_timeline(subject_id, [], [], [])

    def close(self):
        pass


def test_audit_subject_json_and_text(monkeypatch):
    monkeypatch.setattr(timeline_module, "TimelineProjection", FakeTimeline)
    result = CliRunner().invoke(cli, ["audit", "subject", "S1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subject_id"] == "S1"
    text = CliRunner().invoke(cli, ["audit", "subject", "S1"])
    assert text.stdout.strip() == "S1: no audited data about this subject"
