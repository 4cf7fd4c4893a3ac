"""The encryption-cost benchmark measures what it says, on a handful of events."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from bench.shredding_bench import STAGES, ratios, render, run
from hub.domain.personal_data import PERSONS


def test_every_type_with_people_is_measured_at_every_stage():
    results = run(SimpleNamespace(events=3, seed=1), Console(quiet=True))
    measured = results["event_types"]
    assert set(measured) == {t.value for t, people in PERSONS.items() if people}
    for row in measured.values():
        assert set(row["stages_us"]) == set(STAGES) and all(s["p50"] > 0 for s in row["stages_us"].values())
        assert row["bytes_protected"] > row["bytes_clear"]  # a block per person rides along
    assert "marriage_registered | 2 |" in render(results)


def test_the_results_carry_the_run_header_and_each_stage_over_encoding_alone():
    results = run(SimpleNamespace(events=3, seed=1), Console(quiet=True))
    assert {"finished", "prefix", "options", "environment"} <= set(results) and results["problems"] == []
    env = results["environment"]
    assert len(env["load_average_at_start"]) == len(env["load_average_1_5_15"]) == 3
    assert "cryptography" in env["packages"] and results["options"] == {"events": 3, "seed": 1}
    ratios = results["ratios"]
    assert set(ratios["per_type"]) == set(results["event_types"])
    assert ratios["protect_to_encode_p50"] > 1 and ratios["new_people_to_encode_p50"] > 1


def test_ratios_are_per_type_and_their_median():
    def row(encode, protect):
        return {"stages_us": {"encode only": {"p50": encode}, "protect + encode": {"p50": protect},
                              "protect + encode, new people": {"p50": 2 * protect},
                              "decode + reveal": {"p50": protect}}}
    out = ratios({"a": row(100, 300), "b": row(100, 500), "c": row(50, 500)})
    assert out["per_type"]["c"] == {"protect_to_encode_p50": 10.0, "new_people_to_encode_p50": 20.0,
                                    "reveal_to_encode_p50": 10.0}
    assert (out["protect_to_encode_p50"], out["new_people_to_encode_p50"]) == (5.0, 10.0)
    assert ratios({}) == {"protect_to_encode_p50": None, "new_people_to_encode_p50": None,
                          "reveal_to_encode_p50": None, "per_type": {}}
