"""Projections shared by several processes: a rebuild in one never leaves another inconsistent."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from hub.audit.auditor import Auditor
from hub.audit.intake import AuditIntake
from hub.domain.audit_entries import FactQueryNote
from hub.projections.timeline import TimelineProjection


def _audit_queries(settings, subjects: list[str]) -> None:
    intake = AuditIntake(settings)
    try:
        for subject in subjects:
            intake.post(FactQueryNote(query_id=str(uuid.uuid4()), at=datetime.now(timezone.utc),
                                      department="TAX", subject_id=subject, allowed=True))
    finally:
        intake.close()
    auditor = Auditor(settings)
    with auditor.running():
        auditor.wait_idle()


def test_a_rebuild_under_a_running_reader_keeps_both_consistent(settings, tmp_path):
    path = tmp_path / "timeline.sqlite"
    serving, operator = TimelineProjection(settings, path), TimelineProjection(settings, path)
    try:
        _audit_queries(settings, ["S1", "S2", "S1"])
        assert serving.catch_up() == 3
        assert operator.rebuild() == 3  # e.g. `hub rebuild timeline` while `hub serve` runs
        _audit_queries(settings, ["S2", "S3"])
        assert serving.catch_up() == 2  # continues from the rebuilt positions, nothing twice
        fresh = TimelineProjection(settings, tmp_path / "fresh.sqlite")
        assert fresh.catch_up() == 5
        assert serving.dump() == fresh.dump()
        assert len(serving.subject_timeline("S1")["fact_queries"]) == 2
        fresh.close()
    finally:
        serving.close()
        operator.close()
