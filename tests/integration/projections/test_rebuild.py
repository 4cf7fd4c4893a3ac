"""Projections are caches of the log: discarded and rebuilt from the topics, they equal the live ones.

The live projections are caught up again and again while a flow runs in three waves (records
arrive between catch-ups, small transactions end mid-case); the rebuilt ones read every topic once from the beginning,
directly and through `hub rebuild`. Both must hold exactly the same state.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from hub.security.pseudonym_keys import load_pseudonyms
from hub.kafka.clients import Clients
from hub.cli.app import app as cli
from hub.config import HubSettings
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.store import projection_path
from hub.projections.timeline import TimelineProjection
from tests.integration.audited_flow import audited_flow, hub_env
from tests.integration.flow_helpers import read_all


def _rebuild_cli(settings: HubSettings, state_dir: Path, what: str):
    result = CliRunner().invoke(cli, ["rebuild", what], env=hub_env(settings, state_dir))
    assert result.exit_code == 0, result.output
    return result


def _applied(output: str, name: str) -> int:
    match = re.search(rf"^{name}: ([\d,]+) record\(s\) applied in [\d.]+s \([\d,]+ records/s\)",
                      output, re.MULTILINE)
    assert match, output
    return int(match.group(1).replace(",", ""))


def test_rebuilt_projections_equal_the_live_ones(settings, clients, tmp_path: Path):
    live_cases = CaseProjection(clients, tmp_path / "live-cases.sqlite")
    live_timeline = TimelineProjection(clients, tmp_path / "live-timeline.sqlite")
    live_cases.batch_size = live_timeline.batch_size = 7  # transactions end mid-case, mid-poll
    catch_ups = []

    def catch_up_live() -> None:
        catch_ups.append(live_cases.catch_up() + live_timeline.catch_up())

    receipts = audited_flow(settings, tmp_path, count=18, seed=7, waves=3, during=catch_up_live)
    catch_up_live()  # the last records (and their audit) since the flow's last poll
    assert sum(1 for n in catch_ups if n) >= 3, f"the live projections were not caught up mid-flow: {catch_ups}"
    live = live_cases.all_cases()
    assert {c.case_id for c in live} == {r.case_id for r in receipts}
    assert all(c.status.value == "COMPLETED" for c in live)

    # a rebuild in a file of its own, through the API
    rebuilt = CaseProjection(clients, tmp_path / "rebuilt-cases.sqlite")
    names = TopicNames(settings.topic_prefix)
    source_records = sum(len(read_all(settings, t))
                         for t in (names.routing_log, *names.all_outcomes(), names.deadlines))
    assert rebuilt.rebuild() == source_records
    assert rebuilt.all_cases() == live
    assert rebuilt.positions() == live_cases.positions()

    # `hub rebuild cases` discards what the projection file held (here: a case that never was)
    state_dir = tmp_path / "state"
    cli_settings = settings.model_copy(update={"state_dir": state_dir,  # its credentials stay
                                               "credentials_file": settings.resolved_credentials_file})
    stale = CaseProjection(Clients(cli_settings))
    stale.catch_up()
    stale.connection().execute("INSERT INTO cases VALUES ('case-never', NULL, 1, ?)",
                               (live[0].model_copy(update={"case_id": "case-never"}).model_dump_json(),))
    stale.close()
    result = _rebuild_cli(settings, state_dir, "cases")
    assert _applied(result.output, "cases") == source_records
    assert str(projection_path(cli_settings, "cases")) in result.output
    from_cli = CaseProjection(Clients(cli_settings))
    assert from_cli.all_cases() == live
    from_cli.close()

    # the timeline: the same rows, rebuilt directly and by `hub rebuild timeline`
    audit_records = len(read_all(settings, names.audit))
    rebuilt_timeline = TimelineProjection(clients, tmp_path / "rebuilt-timeline.sqlite")
    assert rebuilt_timeline.rebuild() == audit_records
    assert rebuilt_timeline.dump() == live_timeline.dump()
    assert rebuilt_timeline.skipped == 0
    assert _applied(_rebuild_cli(settings, state_dir, "timeline").output, "timeline") == audit_records
    from_cli_timeline = TimelineProjection(Clients(cli_settings))
    assert from_cli_timeline.dump() == live_timeline.dump()
    pseudonyms = load_pseudonyms(settings.resolved_pseudonym_keys_file)
    for subject in {s for c in live for s in c.subject_ids}:
        refs = pseudonyms.lookup_keys(subject)
        assert from_cli_timeline.subject_timeline(subject, refs) == live_timeline.subject_timeline(subject, refs)
    for projection in (live_cases, live_timeline, rebuilt, rebuilt_timeline, from_cli_timeline):
        projection.close()
