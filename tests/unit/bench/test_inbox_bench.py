"""The inbox benchmark's options, summary and table (its run needs the stack: make bench-inbox)."""

import pytest

from bench import inbox_bench
from bench.inbox_bench import Run, parse_args, render, summarise


def test_short_sizes_and_the_modes_asked_for_with_raw_always_among_them():
    args = parse_args(["--short", "--modes", "batch_500"])
    assert (args.items, args.rounds, args.modes) == (3000, 1, ["raw", "batch_500"])
    assert parse_args([]).modes == list(inbox_bench.MODES)
    with pytest.raises(SystemExit):
        parse_args(["--modes", "batch_500,nonsense"])


def test_ratios_to_raw_per_round_and_their_median():
    rounds = [{"raw": Run("raw", 1000, 0.5, 0.3), "batch_500": Run("batch_500", 1000, 1.0, 0.8)},
              {"raw": Run("raw", 1000, 0.4, 0.3), "batch_500": Run("batch_500", 1000, 1.6, 0.9)}]
    summary = summarise(rounds)
    assert summary["batch_500"]["vs_raw_per_round"] == [0.5, 0.25]
    assert summary["batch_500"]["items_per_s"] == pytest.approx((1000 + 625) / 2)
    assert summary["batch_500"]["cpu_ms_per_item"] == pytest.approx(0.85)
    table = render({"items": 1000, "rounds": 2, "summary": summary})
    assert "| raw kafka-python" in table and "0.500, 0.250" in table
