"""The security benchmark's plumbing, without a broker. No timing is asserted anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.security import twin as twins
from bench.security.cli import parse_args
from bench.security.inputs import (
    WARM_CONNECTIONS,
    Counts,
    backlog_topic,
    cycled,
    record_bytes,
    sizes,
    warmup_topic,
)
from bench.security.live import Workload
from bench.security.report import (
    MEASURES,
    MODES,
    PLAINTEXT,
    SECURED,
    comparison_table,
    figures,
    median_summary,
    paired_ratios,
    ratio,
    render,
    side_order,
    warmup_note,
)
from bench.workload import WireRecord
from hub.config import HubSettings


def rec(value: bytes = b"v" * 10, topic: str = "t") -> WireRecord:
    return WireRecord(topic, b"key", value, (("oncehub.event_type", b"birth"),))


# -- order, medians, ratios ---------------------------------------------------------------------


def test_the_clusters_alternate_between_rounds():
    assert side_order(1) == [SECURED, PLAINTEXT]
    assert side_order(2) == [PLAINTEXT, SECURED]
    assert side_order(3) == side_order(1)
    assert side_order(4, ["a", "b", "c"]) == ["c", "b", "a"]


def test_median_over_rounds_keeps_the_maximum_of_maxima():
    rounds = [{"per_s": 100.0, "max_us": 9_000, "broker_cpu_us": 5.0},
              {"per_s": 300.0, "max_us": 4_000, "broker_cpu_us": None},
              {"per_s": 200.0, "max_us": 7_000, "broker_cpu_us": 6.0}]
    assert median_summary(rounds) == {"per_s": 200.0, "max_us": 9_000, "broker_cpu_us": None}
    assert median_summary([{"total_max_ms": 1.0}, {"total_max_ms": 3.0}]) == {"total_max_ms": 3.0}


def test_ratio_is_missing_without_both_figures():
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(3.0, None) is None and ratio(3.0, 0) is None


def test_ratios_are_paired_per_round_then_the_median():
    secured = [{"per_s": 90.0, "p50_us": 1_100}, {"per_s": 50.0, "p50_us": 2_000},
               {"per_s": 120.0, "p50_us": 1_000}]
    plaintext = [{"per_s": 100.0, "p50_us": 1_000}, {"per_s": 100.0, "p50_us": 1_000},
                 {"per_s": 100.0, "p50_us": 1_000}]
    r = paired_ratios(secured, plaintext)
    assert r["per_s"]["per_round"] == pytest.approx([0.9, 0.5, 1.2])
    assert r["per_s"]["median"] == pytest.approx(0.9)
    assert r["p50_us"]["median"] == pytest.approx(1.1)
    # A round without a figure leaves the median unknown rather than biased.
    gap = paired_ratios([{"x": 1.0}, {"x": None}], [{"x": 1.0}, {"x": 2.0}])
    assert gap["x"] == {"median": None, "per_round": [1.0, None]}


def test_figures_hold_both_medians_and_the_ratios():
    runs = {"sync": {SECURED: [{"per_s": 80.0}, {"per_s": 90.0}],
                     PLAINTEXT: [{"per_s": 100.0}, {"per_s": 100.0}]}}
    figs = figures(runs)
    assert figs["sync"][SECURED] == {"per_s": 85.0}
    assert figs["sync"][PLAINTEXT] == {"per_s": 100.0}
    assert figs["sync"]["ratios"]["per_s"]["median"] == pytest.approx(0.85)


# -- the report -----------------------------------------------------------------------------------


def fake_figures(modes=MODES) -> dict:
    keys = {m.key for m in MEASURES}
    secured = dict.fromkeys(keys, 2.0)
    plaintext = dict.fromkeys(keys, 1.0)
    runs = {mode: {SECURED: [secured, secured], PLAINTEXT: [plaintext, plaintext]} for mode in modes}
    return figures(runs)


def test_comparison_table_has_a_row_per_measure_with_difference_and_ratio():
    table = comparison_table(fake_figures())
    lines = table.splitlines()
    assert lines[0] == ("| measure | plaintext | SASL_SSL | SASL_SSL − plaintext | "
                        "SASL_SSL ÷ plaintext | per round |")
    assert len(lines) == 2 + len(MEASURES)
    assert "| sync: p50 µs | 1 | 2 | +1 µs | 2.000 | 2.000, 2.000 |" in lines
    assert "| **sync `send().get()`: events/s** | 1 | 2 | | 2.000 | 2.000, 2.000 |" in lines
    without_sdk = comparison_table(fake_figures(tuple(m for m in MODES if m != "sdk")))
    assert "SDK" not in without_sdk


def results(problems=(), warm=None) -> dict:
    return {
        "options": {"rounds": 2, "events": 1000, "pipelined": 10000, "read_records": 50000,
                    "connections": 20, "sdk": True},
        "environment": {"bootstrap_servers": "127.0.0.1:9092", "load_average_at_start": [1.0, 1, 1],
                        "load_average_1_5_15": [1.5, 1, 1], "cpus": 2},
        "twin": {"bootstrap_servers": "127.0.0.1:40000", "reused": False, "startup_s": 9.5,
                 "jvm_warmup": warm or {}},
        "figures": fake_figures(),
        "value_bytes_mean": 312.4, "record_bytes_mean": 458.0,
        "scram_iterations": 8192, "pbkdf2_ms": 12.3,
        "checked": True, "problems": list(problems),
    }


def test_render_says_what_ran_and_whether_the_check_passed():
    text = render(results())
    assert "2 rounds" in text and "1,000 SDK publishes" in text and "mean value 312 B" in text
    assert "started in 9.5 s" in text and "8,192 iterations" in text and "12.3 ms" in text
    assert "Check passed" in text and "no JVM warm-up" in text
    failed = render(results(problems=["127.0.0.1:9092: the backlog holds 3 records, expected 4"]))
    assert "**Check failed:** 127.0.0.1:9092: the backlog" in failed and "Check passed" not in failed


def test_warmup_note_shows_the_first_and_last_repetition():
    warm = {"seconds": 41.2, "reps": [{"at_s": 2.0, "sync_per_s": 300.0, "broker_cpu_us": 2_850.0},
                                      {"at_s": 40.0, "sync_per_s": 850.0, "broker_cpu_us": 260.0}]}
    note = warmup_note(warm)
    assert "41 s, 2 repetitions" in note and "2,850 µs to 260 µs" in note and "300/s to 850/s" in note
    assert "no JVM warm-up" in warmup_note({})


# -- inputs ---------------------------------------------------------------------------------------


def test_records_are_cycled_and_retargeted():
    records = [rec(b"a"), rec(b"bb")]
    out = cycled(records, 5, topic="p.backlog")
    assert [r.value for r in out] == [b"a", b"bb", b"a", b"bb", b"a"]
    assert {r.topic for r in out} == {"p.backlog"}
    assert cycled(records, 1) == [records[0]]


def test_record_bytes_count_key_value_and_headers():
    r = rec(b"v" * 10)
    assert record_bytes(r) == 3 + 10 + len("oncehub.event_type") + 5
    assert sizes([rec(b"v" * 10), rec(b"v" * 20)])["value_bytes_mean"] == 15


def test_topic_names_live_under_the_run_prefix():
    assert backlog_topic("bench-1") == "bench-1.backlog"
    assert warmup_topic("bench-1") == "bench-1.warmup"


def test_expected_counts_of_the_event_topics():
    counts = Counts(events=10, pipelined=50, warmup=3, connections=4, rounds=2, sdk=True)
    assert counts.per_round() == 10 + 10 + 50 + 4
    assert counts.warm() == 3 + 3 + 50 + WARM_CONNECTIONS
    assert counts.expected_event_records() == counts.warm() + 2 * counts.per_round()
    no_sdk = Counts(events=10, pipelined=50, warmup=3, connections=4, rounds=1, sdk=False)
    assert no_sdk.expected_event_records() == 3 + 50 + WARM_CONNECTIONS + 10 + 50 + 4


def test_workload_sizes_per_mode():
    work = Workload(warm_jobs=[], jobs=[None] * 7, warm_records=[rec()] * 2, records=[rec()] * 7,
                    pipelined=[rec()] * 30, backlog=[rec()] * 100, partitions=3, connections=4,
                    modes=MODES)
    assert [work.size(m) for m in MODES] == [7, 30, 100, 4, 7]
    assert work.warm_size("sync") == 2 and work.warm_size("connect") == WARM_CONNECTIONS
    assert work.warm_size("pipelined") == 30 and work.warm_size("sdk") == 0


# -- the twin -------------------------------------------------------------------------------------


def test_twin_settings_are_plaintext_on_their_own_ports_and_state(tmp_path):
    base = HubSettings(publish_timeout_s=7)
    s = twins.twin_settings(tmp_path, 41000, 42000, base=base)
    assert s.kafka_security == "plaintext" and s.state_dir == tmp_path
    assert s.bootstrap_servers == "127.0.0.1:41000"
    assert s.schema_registry_url == "http://127.0.0.1:42000/apis/ccompat/v7"
    assert s.cache_dir == base.cache_dir and s.publish_timeout_s == 7  # the same cached jars


def test_the_twin_never_shares_the_dev_stacks_state(tmp_path):
    with pytest.raises(ValueError):
        twins.check_separate(tmp_path, HubSettings(state_dir=tmp_path))
    twins.check_separate(tmp_path / "twin", HubSettings(state_dir=tmp_path))


def test_free_ports_leave_room_for_the_controller():
    kafka, registry = twins.free_ports(avoid={9092, 9093})
    assert kafka != registry and registry not in (kafka + 1, kafka - 1)
    assert {kafka, kafka + 1, registry}.isdisjoint({9092, 9093})


def test_recorded_ports_are_read_back(tmp_path):
    assert twins.recorded_ports(tmp_path) is None
    (tmp_path / twins.ADDRESS_FILE).write_text(json.dumps({"kafka_port": 41000, "registry_port": 42000}))
    assert twins.recorded_ports(tmp_path) == (41000, 42000)
    (tmp_path / twins.ADDRESS_FILE).write_text("not json")
    assert twins.recorded_ports(tmp_path) is None


# -- options --------------------------------------------------------------------------------------


def test_arguments_and_their_defaults():
    opts = parse_args(["--no-json"])
    assert opts.json_path is None and opts.rounds == 5 and opts.sdk and opts.check
    assert not opts.keep and not opts.keep_topics and opts.twin_warmup == 45.0
    assert opts.twin_state_dir == twins.DEFAULT_STATE_DIR
    assert opts.modes() == MODES
    assert "sdk" not in parse_args(["--no-sdk", "--no-json"]).modes()
    opts = parse_args(["--twin-state-dir", "/tmp/x", "--keep", "--twin-warmup", "0", "--no-json"])
    assert opts.twin_state_dir == Path("/tmp/x") and opts.keep and opts.twin_warmup == 0
    assert opts.counts().rounds == 5


@pytest.mark.parametrize("bad", [["--events", "0"], ["--rounds", "0"], ["--connections", "0"],
                                 ["--read-records", "0"], ["--twin-warmup", "-1"]])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(SystemExit):
        parse_args(bad)
