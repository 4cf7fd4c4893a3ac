"""The publish benchmark's plumbing, without a broker. No timing is asserted anywhere."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from bench.harness.histograms import new_histogram
from bench.publish.cli import parse_args
from bench.publish.inputs import make_jobs, retarget
from bench.publish.report import LABELS, publish_table, stage_table
from bench.publish.stages import STAGES
from bench.workload import CapturingProducer, WireRecord
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType


def test_jobs_are_reproducible_and_owned_by_their_department():
    now = datetime(2026, 12, 3, 4, 0, tzinfo=timezone.utc)  # one clock: the times derive from it
    first = make_jobs(30, random.Random(5), now=now)
    again = make_jobs(30, random.Random(5), now=now)
    assert [j.submission["payload"] for j in first] == [j.submission["payload"] for j in again]
    for job in first:
        assert CATALOGUE[EventType(job.event_type)].owner is job.department


def test_one_event_type_can_be_selected():
    jobs = make_jobs(10, random.Random(1), "death_certified")
    assert {j.event_type for j in jobs} == {"death_certified"}


def test_retarget_changes_only_the_topic():
    rec = WireRecord("bench-1.events.birth_certified", b"k", b"\x00\x00\x00\x00\x07v", (("h", b"1"),))
    [moved] = retarget([rec], "bench-1", "bench-1-raw")
    assert moved.topic == "bench-1-raw.events.birth_certified"
    assert (moved.key, moved.value, moved.headers) == (rec.key, rec.value, rec.headers)


def test_shape_ignores_the_event_id_value_only():
    def record(event_id: bytes, value: bytes = b"\x00\x00\x00\x00\x01abc") -> WireRecord:
        return WireRecord("t", b"key", value, (("oncehub.event_type", b"x"), ("oncehub.event_id", event_id)))

    assert record(b"a" * 36).shape() == record(b"b" * 36).shape()
    assert record(b"a" * 36).shape() != record(b"a" * 36, b"\x00\x00\x00\x00\x02abc").shape()


def test_capturing_producer_records_and_acks():
    producer = CapturingProducer()
    meta = producer.send("t", key=b"k", value=b"v", headers=[("h", b"1")]).get(timeout=1)
    assert (meta.topic, meta.offset) == ("t", 0)
    assert producer.sent == [WireRecord("t", b"k", b"v", (("h", b"1"),))]


def test_tables_render_from_summaries_and_histograms():
    summary = {"events_per_s": 100.0, "p50_us": 5000, "p99_us": 9000, "p999_us": 9500,
               "max_us": 9900, "mean_us": 5100.0}
    ratios = {"sdk": {"throughput": 0.95, "p50": 1.05}}
    table = publish_table({"raw": summary, "sdk": summary}, ratios)
    assert LABELS["sdk"] in table and "0.950 | 1.050" in table and "(baseline)" in table

    hists = {name: new_histogram() for name in STAGES}
    for h in hists.values():
        h.record_value(1000)
    assert "validate + seal" in stage_table(hists)


def test_arguments_are_checked():
    assert parse_args(["--events", "10", "--no-json"]).json_path is None
    with pytest.raises(SystemExit):
        parse_args(["--events", "0"])


# --------------------------------------------------------------------------- the shared harness
# (bench/harness grew out of this benchmark's main; its pure parts are tested here)


def test_result_file_holds_the_public_keys_as_utf8_json(tmp_path):
    import json

    from bench.harness.results import write_json

    path = tmp_path / "deep" / "r.json"
    write_json({"problems": [], "label": "p50 µs", "_stage_hists": object()}, path)
    text = path.read_text()
    assert text.endswith("\n") and "µs" in text  # not \u00b5: the file is read by people too
    assert json.loads(text) == {"problems": [], "label": "p50 µs"}


def test_run_header_says_when_what_and_on_what_machine(tmp_path):
    from dataclasses import dataclass
    from pathlib import Path

    from bench.harness.results import PACKAGES, run_header
    from hub.config import HubSettings

    @dataclass
    class Opts:
        events: int
        json_path: Path | None

    head = run_header("run_prefix", "bench-1", Opts(5, tmp_path / "x.json"),
                      HubSettings(topic_prefix="bench-1"), [0.5, 0.4, 0.3], packages=("hdrhistogram",))
    assert list(head) == ["finished", "run_prefix", "options", "environment"]
    assert head["options"] == {"events": 5, "json_path": str(tmp_path / "x.json")}
    env = head["environment"]
    assert env["load_average_at_start"] == [0.5, 0.4, 0.3] and len(env["load_average_1_5_15"]) == 3
    assert list(env["packages"]) == [*PACKAGES, "hdrhistogram"]
    assert {"python", "platform", "cpus", "bootstrap_servers", "schema_registry_url"} <= set(env)


def test_markdown_table_rows():
    from bench.harness.tables import markdown_table, num

    table = markdown_table(["mode", "events/s", "p50"], [["raw", "1,000", ""], ["sdk", num(None), "2.0"]])
    assert table.splitlines() == ["| mode | events/s | p50 |", "|---|---:|---:|",
                                  "| raw | 1,000 | |", "| sdk | – | 2.0 |"]
    assert num(1234.5) == "1,234" and num(0.5, ".3f") == "0.500"


def test_json_options_and_run_main(tmp_path, capsys):
    import json

    from bench.harness import cli
    from bench.harness.results import RESULTS_DIR

    parser = cli.parser("demo", "First paragraph.\n\nMore.")
    cli.add_json(parser, "demo")
    assert parser.prog == "python -m bench.demo_bench" and parser.description == "First paragraph."
    assert cli.json_path(parser.parse_args(["--no-json"]), "demo") is None
    assert cli.json_path(parser.parse_args(["--json", str(tmp_path / "a.json")]), "demo") == tmp_path / "a.json"
    default = cli.json_path(parser.parse_args([]), "demo")
    assert default.parent == RESULTS_DIR and default.name.startswith("demo-")

    out = tmp_path / "r.json"
    code = cli.run_main("opts", lambda o, console: {"o": o, "problems": ["late"]},
                        lambda r: f"report {r['o']}", out)
    assert code == 1 and capsys.readouterr().out == "report opts\n"
    assert json.loads(out.read_text()) == {"o": "opts", "problems": ["late"]}
    assert cli.run_main(1, lambda o, c: {"ok": False}, str, None, failed=lambda r: not r["ok"]) == 1
    assert cli.run_main(1, lambda o, c: {}, str, None) == 0


def test_histogram_summaries():
    from bench.harness.histograms import ms_summary, new_histogram, quantiles, stage_summary

    h = new_histogram()
    for us in (1_000, 2_000, 3_000, 4_000):
        h.record_value(us)
    summary = ms_summary(h, (50, 99.9))
    assert list(summary) == ["count", "p50_ms", "p99.9_ms", "max_ms", "mean_ms"]
    assert summary["count"] == 4 and summary["p50_ms"] == pytest.approx(2.0, rel=1e-2)
    assert list(ms_summary(h, (50, 90), extremes=False)) == ["count", "p50_ms", "p90_ms"]
    assert quantiles(h, {"p999_us": 99.9}) == {"p999_us": pytest.approx(4_000, rel=1e-2)}
    assert stage_summary({"seal": h})["seal"] == pytest.approx({"p50": 2.0, "p99": 4.0, "mean": 2.5}, rel=1e-2)


def test_run_names_and_fresh_prefixes():
    from bench.harness.stack import fresh_prefix, named_after

    names = ["bench-1.events.a", "bench-1-raw.events.a", "bench-10.audit", "oncehub.outcomes"]
    assert named_after(names, "bench-1.", "bench-1-raw.") == ["bench-1-raw.events.a", "bench-1.events.a"]
    assert fresh_prefix() != fresh_prefix() and len(fresh_prefix()) == len("bench-") + 8
