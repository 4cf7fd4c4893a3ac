"""Projections shared by several processes: a rebuild in one never leaves another inconsistent."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from hub.kafka.clients import Clients
from hub.audit.auditor import Auditor
from hub.audit.intake import KafkaAuditIntake
from hub.domain.audit_entries import FactQueryNote
from hub.projections.timeline import TimelineProjection


def _audit_queries(settings, subjects: list[str]) -> None:
    intake = KafkaAuditIntake(Clients(settings))
    try:
        for subject in subjects:
            intake.post(FactQueryNote(query_id=str(uuid.uuid4()), at=datetime.now(timezone.utc),
                                      department="TAX", subject_ref=subject, allowed=True))
    finally:
        intake.close()
    auditor = Auditor(Clients(settings))
    with auditor.running():
        auditor.wait_idle()


@pytest.fixture
def two_processes(settings, tmp_path):
    """Two instances on one file: one serving (``hub serve``), one rebuilding (``hub rebuild``)."""
    path = tmp_path / "timeline.sqlite"
    serving, operator = TimelineProjection(Clients(settings), path), TimelineProjection(Clients(settings), path)
    yield serving, operator
    serving.close()
    operator.close()


def test_a_rebuild_under_a_running_reader_keeps_both_consistent(settings, clients, tmp_path, two_processes):
    serving, operator = two_processes
    _audit_queries(settings, ["S1", "S2", "S1"])
    assert serving.catch_up() == 3
    assert operator.rebuild() == 3  # e.g. `hub rebuild timeline` while `hub serve` runs
    _audit_queries(settings, ["S2", "S3"])
    assert serving.catch_up() == 2  # continues from the rebuilt positions, nothing twice
    fresh = TimelineProjection(clients, tmp_path / "fresh.sqlite")
    assert fresh.catch_up() == 5
    assert serving.dump() == fresh.dump()
    assert len(serving.subject_timeline("S1")["fact_queries"]) == 2
    fresh.close()


def test_a_reader_sees_the_old_view_until_the_rebuild_swaps_in_the_new_one(settings, tmp_path, two_processes):
    serving, operator = two_processes
    _audit_queries(settings, ["S1", "S2"])
    serving.catch_up()
    before = serving.dump()
    # a row the log never held: only a rebuild removes it
    serving.connection().execute(
        "INSERT INTO fact_queries VALUES ('S-stale', -1, 'q-stale', 'TAX', 1, '[]', NULL, '2020-01-01')")
    stale = serving.dump()
    seen_during = []

    def progress(applied: int, total: int) -> None:
        seen_during.append(serving.dump())  # `hub serve` answering while the rebuild runs
        assert list(tmp_path.glob("timeline.rebuild-*.sqlite")), "the rebuild works in a shadow file"

    assert operator.rebuild(progress) == 2
    assert seen_during and all(view == stale for view in seen_during)  # never empty, never half
    assert serving.dump() == before  # the stale row is gone, the log's rows are back
    assert not list(tmp_path.glob("timeline.rebuild-*"))


def test_a_failed_rebuild_leaves_the_live_projection_as_it_was(settings, tmp_path, two_processes):
    serving, operator = two_processes
    _audit_queries(settings, ["S1"])
    serving.catch_up()
    before, positions = serving.dump(), serving.positions()

    def interrupted(applied: int, total: int) -> None:
        if applied:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C mid-rebuild

    with pytest.raises(KeyboardInterrupt):
        operator.rebuild(interrupted)
    assert serving.dump() == before and serving.positions() == positions
    assert not list(tmp_path.glob("timeline.rebuild-*"))
