"""``bench.summary``: the one screen ``make bench-all`` ends with, read from a directory of results."""

from __future__ import annotations

import json
from pathlib import Path

from bench import summary
from bench.summary import Bench, dig, last_line, parse_status, read_dir, render

ENV = {"load_average_at_start": [1.5, 1.0, 0.5], "load_average_1_5_15": [2.25, 1.0, 0.5]}

# The keys each bench's JSON holds that its headline reads (the rest of each file left out).
RESULTS = {
    "publish": {"publish": {"sdk": {"events_per_s": 812.4, "p50_us": 1180.0}},
                "ratios": {"sdk": {"throughput": 0.8123, "p50": 1.25}}},
    "route": {"throughput": {"modes": {"router": {"events_per_s": 211.0}},
                             "ratios": {"router": {"ratio": 0.512}}},
              "latency": {"ms": {"item": {"p50_ms": 85.25}}}},
    "inbox": {"summary": {"batch_500": {"items_per_s": 1210.0, "vs_raw": 0.45},
                          "one_by_one_20": {"items_per_s": 170.0}}},
    "timeline": {"answers": {"http/random": {"p50_ms": 4.1, "p99_ms": 9.0}},
                 "build": {"records_per_s": 25000}, "ratios": {"http_to_projection_p50": 2.5}},
    "replay": {"summary": {"file": {"events_per_s": 8000.0, "vs_raw": 0.25},
                           "inbox": {"events_per_s": 3000.0, "vs_raw": 0.1}}},
    "verify": {"verify": {"ok": True, "records": 30001, "records_per_s": 9000, "ratio_to_raw_read": 0.3}},
    "security": {"figures": {"sync": {"secured": {"per_s": 1500.0}, "ratios": {"per_s": {"median": 0.9}}},
                             "connect": {"secured": {"total_ms": 45.0},
                                         "ratios": {"total_ms": {"median": 3.0}}}}},
    "shredding": {"event_types": {t: {"stages_us": {"protect + encode": {"p50": p}}}
                                  for t, p in (("a", 300.0), ("b", 500.0), ("c", 900.0))},
                  "ratios": {"protect_to_encode_p50": 6.0, "reveal_to_encode_p50": 5.0}},
    "rss": {"summary": {"max_rss_mb": 150.0, "limit_mb": 300.0, "events_fed": 3000, "events_per_s": 140.0},
            "restarts": [{"until_routed_s": 3.5}, {"until_routed_s": 4.25}]},
    "ingest": {"modes": {"http": {"events_per_s": 410.2, "latency_ms": {"p99_ms": 38.5}}},
               "ratios": {"http/sdk": {"events_per_s": 0.81, "p99": 2.5}}},
}
HEADLINES = {
    "publish": ("SDK publish_raw 812 events/s, p50 1,180 µs", "SDK ÷ raw: events/s 0.812×, p50 1.250×"),
    "route": ("router 211 events/s; item due → COMPLETED p50 85.2 ms", "router ÷ faust raw: events/s 0.512×"),
    "inbox": ("inbox, SQL adapter on SQLite 1,210 items/s (one transaction per item: 170)",
              "÷ raw consume-produce-commit: 0.450×"),
    "timeline": ("HTTP timeline p50 4.10 ms, p99 9.00 ms; build 25,000 records/s",
                 "HTTP ÷ projection: p50 2.500×"),
    "replay": ("to file 8,000 events/s, to inboxes 3,000 events/s", "÷ raw read: file 0.250×, inbox 0.100×"),
    "verify": ("hub audit verify 9,000 records/s (30,001 records)", "÷ raw read: records/s 0.300×"),
    "security": ("SASL_SSL sync 1,500 events/s, new producer to first ack 45.0 ms",
                 "SASL_SSL ÷ plaintext: sync events/s 0.900×, connect 3.000×"),
    "shredding": ("protect + encode p50 500 µs (median of 3 event types)",
                  "÷ encode only: p50 6.000×, reveal 5.000×"),
    "rss": ("router max RSS 150.0 MB over 3,000 events, 140 events/s, restart 4.2 s", "max RSS ÷ limit 0.500×"),
    "ingest": ("HTTP ingest 410 requests/s, p99 38.5 ms",
               "HTTP ÷ SDK (same concurrency): requests/s 0.810×, p99 2.500×"),
}


def _write(directory: Path, name: str, results: dict | None, status: str | None = "0 42") -> None:
    if results is not None:
        (directory / f"{name}.json").write_text(json.dumps({"environment": ENV, "problems": [], **results}))
    if status is not None:
        (directory / f"{name}.status").write_text(status + "\n")


def test_every_bench_has_its_headline_figure_and_ratio():
    assert set(HEADLINES) == set(summary.HEADLINES) == set(RESULTS)
    for name, results in RESULTS.items():
        assert Bench(name, 0, 1.0, results).headline() == HEADLINES[name], name


def test_a_headline_with_missing_figures_shows_dashes():
    figure, ratio = Bench("publish", 0, 1.0, {"publish": {}}).headline()
    assert figure == "SDK publish_raw – events/s, p50 – µs" and ratio == "SDK ÷ raw: events/s –, p50 –"
    assert Bench("rss", 0, 1.0, {}).headline()[0].startswith("router max RSS – MB")


def test_the_ingest_ratio_is_read_in_the_files_first_shape_too():
    first = {**RESULTS["ingest"], "ratios": {"sdk": {"events_per_s": 0.81, "p99": 2.5}}}
    assert Bench("ingest", 0, 1.0, first).headline() == HEADLINES["ingest"]


def test_an_unknown_bench_shows_its_own_headline():
    other = {"headline": {"figure": "POST /v1/events 900 events/s", "ratio": "÷ SDK 0.7×"}}
    assert Bench("other", 0, 1.0, other).headline() == ("POST /v1/events 900 events/s", "÷ SDK 0.7×")
    assert Bench("other", 0, 1.0, {}).headline() == ("–", "–")


def test_dig_and_status_lines():
    assert dig({"a": {"b": 1}}, "a", "b") == 1
    assert dig({"a": {"b": 1}}, "a", "c") is None and dig({"a": 3}, "a", "b") is None
    assert parse_status("1 371\n") == (1, 371.0) and parse_status("") == (None, None)
    assert last_line("Traceback\n  File x\nValueError: boom\n\n") == "ValueError: boom"


def test_failed_means_a_non_zero_exit_no_json_or_problems():
    assert not Bench("verify", 0, 1.0, {}).failed
    assert not Bench("verify", None, None, {}).failed  # run by hand: no status, judged by its JSON
    assert Bench("verify", 1, 1.0, {}).failed
    assert Bench("verify", 0, 1.0, None).failed
    assert Bench("verify", 0, 1.0, {}, problems=["x"]).failed


def test_a_directory_read_in_bench_order_with_each_failure_and_why(tmp_path):
    _write(tmp_path, "rss", RESULTS["rss"] | {"problems": ["max RSS 401.9 MB over the 300 MB limit"]}, "1 100")
    _write(tmp_path, "verify", {"verify": {**RESULTS["verify"]["verify"], "ok": False}}, "1 30")
    _write(tmp_path, "route", None, "2 5")
    (tmp_path / "route.log").write_text("Traceback …\nRuntimeError: the stack is down\n")
    _write(tmp_path, "publish", RESULTS["publish"], "0 95")
    _write(tmp_path, "zeta", {})
    (tmp_path / "rss-samples.jsonl").write_text("{}\n")
    benches = read_dir(tmp_path)
    assert [b.name for b in benches] == ["publish", "route", "verify", "rss", "zeta"]
    assert [b.failed for b in benches] == [False, True, True, True, False]
    assert benches[2].problems == ["`hub audit verify` found the chain broken"]
    text = render(benches, tmp_path)
    lines = text.splitlines()
    assert lines[2].split() == ["publish", "ok", "1:35", "1.5→2.2", *HEADLINES["publish"][0].split()]
    assert lines[3].strip() == HEADLINES["publish"][1]
    assert lines[3].index("SDK") == lines[2].index("SDK")  # the ratio under the figure
    assert "route      FAILED  0:05  –→–          no JSON results" in text
    assert "2 of 5 benches passed; 4:32 of bench time." in text
    assert "  route: exit code 2; route.log ends: RuntimeError: the stack is down" in text
    assert "  rss: max RSS 401.9 MB over the 300 MB limit" in text
    assert len(lines) < 25  # one screen


def test_main_exits_1_if_any_bench_failed_0_if_none_2_without_results(tmp_path, capsys):
    _write(tmp_path, "publish", RESULTS["publish"])
    assert summary.main([str(tmp_path)]) == 0
    _write(tmp_path, "replay", RESULTS["replay"], "1 12")
    assert summary.main([str(tmp_path)]) == 1
    assert "1 of 2 benches passed" in capsys.readouterr().out
    assert summary.main([str(tmp_path / "none")]) == 2
    (tmp_path / "empty").mkdir()
    assert summary.main([str(tmp_path / "empty")]) == 2


def test_latest_is_the_newest_all_directory(tmp_path):
    assert summary.latest(tmp_path) is None
    for name in ("all-20261203-101500", "all-20261203-091500", "publish-20261203-111500.json"):
        (tmp_path / name).mkdir()
    assert summary.latest(tmp_path) == tmp_path / "all-20261203-101500"
