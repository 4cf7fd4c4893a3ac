"""The encryption-cost benchmark measures what it says, on a handful of events."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from bench.shredding_bench import STAGES, render, run
from hub.domain.personal_data import PERSONS


def test_every_type_with_people_is_measured_at_every_stage():
    results = run(SimpleNamespace(events=3, seed=1), Console(quiet=True))
    measured = results["event_types"]
    assert set(measured) == {t.value for t, people in PERSONS.items() if people}
    for row in measured.values():
        assert set(row["stages_us"]) == set(STAGES) and all(s["p50"] > 0 for s in row["stages_us"].values())
        assert row["bytes_protected"] > row["bytes_clear"]  # a block per person rides along
    assert "marriage_registered | 2 |" in render(results)
