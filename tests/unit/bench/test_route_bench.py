"""The routing benchmark's plumbing, without a broker. No timing is asserted anywhere."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bench.harness.histograms import new_histogram
from bench.harness.stack import run_names
from bench.route.children import (LAST, ROUTER_CONF, fanout_copies,
                                   passthrough_app, sink_group)
from bench.route.cli import parse_args, router_max
from bench.route.latency import (MEASURED, Arrival, OpenLoop, Recorded, SentEvent, analyse_latency,
                                 interval_us, latency_rate, latency_summary, rate_shortfall, wall_ns)
from bench.route.measures import NO_RATE, CpuSample, Rate, cpu_shares, rate_of, window_samples
from bench.route.modes import MODES, ModeRun, median_summary, mode_order, paired_ratio
from bench.route.report import (LABELS, LATENCY_ROWS, latency_part, latency_table, rate_line, stage_table,
                               throughput_table)
from bench.route.stages import INBOX_STAGES, STAGES
from bench.route.workload import items_per_job, open_loop_schedule
from bench.workload import make_jobs_of, routed_types
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.kafka.clients import Clients
from hub.rules import load_rules
from hub.security.credentials import KafkaCredentials, write_credentials

MS = 1_000_000  # ns


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_the_mix_is_the_registration_types_only(rules):
    types = routed_types(rules)
    assert EventType.DOCUMENTS_SUPPLEMENTED not in types
    assert len(types) == 6
    jobs = make_jobs_of(60, random.Random(3), types)
    assert {j.event_type for j in jobs} <= {t.value for t in types}
    for job in jobs:
        assert CATALOGUE[EventType(job.event_type)].owner is job.department
    again = make_jobs_of(60, random.Random(3), types)
    assert [j.submission["payload"] for j in jobs] == [j.submission["payload"] for j in again]


def test_items_per_job_follow_the_rules(rules):
    jobs = make_jobs_of(40, random.Random(8), routed_types(rules))
    counts = items_per_job(jobs, rules)
    assert len(counts) == len(jobs)
    for job, n in zip(jobs, counts):
        assert 1 <= n <= len(rules.items_for(job.event_type))
    assert items_per_job(jobs, rules) == counts  # ids and times differ per seal; routing does not


def test_open_loop_schedule_is_by_the_clock():
    due = open_loop_schedule(5, 20.0, 1_000)
    assert due == [1_000, 1_000 + 50 * MS, 1_000 + 100 * MS, 1_000 + 150 * MS, 1_000 + 200 * MS]
    assert open_loop_schedule(0, 5, 0) == []


def test_rate_runs_from_first_to_last_record():
    rate = rate_of([1_000 + 10 * i for i in range(101)])  # 101 records, 1 s apart end to end
    assert rate.records == 101 and rate.per_s == pytest.approx(100.0)
    assert rate.middle_per_s == pytest.approx(100.0)
    assert rate.longest_pause_ms == 10


def test_rate_shows_a_stall_and_tolerates_tiny_inputs():
    stalled = rate_of([0, 1, 2, 3, 503, 504])
    assert stalled.longest_pause_ms == 500
    assert rate_of([]).per_s is None and rate_of([5]).records == 1
    assert rate_of([7, 7]).per_s is None  # no span


def test_run_names_pick_only_this_run():
    names = ["bench-ab12cd34-r1.events.birth_certified", "bench-ab12cd34-lat-router",
             "bench-ab12cd34.events.x", "bench-ab12cd345-r1.outcomes", "oncehub.outcomes"]
    assert run_names(names, "bench-ab12cd34") == ["bench-ab12cd34-lat-router",
                                                  "bench-ab12cd34-r1.events.birth_certified"]


def test_fanout_copies_from_the_event_id_header():
    plan = {"e1": 3}
    assert fanout_copies(plan, [("oncehub.event_type", b"x"), ("oncehub.event_id", b"e1")]) == 4
    assert fanout_copies(plan, {"oncehub.event_id": b"e1"}) == 4
    assert fanout_copies(plan, [("oncehub.event_id", b"other")]) == 1
    assert fanout_copies(plan, None) == 1
    assert LAST == "bench.last"


def test_wall_ns_is_exact_to_the_microsecond():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=timezone.utc)
    assert wall_ns(moment) == int(moment.timestamp()) * 1_000_000_000 + 678_901_000
    assert wall_ns(moment.astimezone(timezone(timedelta(hours=8)))) == wall_ns(moment)


def _arrival(item, event, status, occurred_ms, arrival_ms):
    return Arrival(item, event, status, occurred_ms * MS, arrival_ms * MS)


def test_latency_is_measured_from_the_due_time_and_split_by_segment():
    base = 1_000_000 * MS
    sent = [
        SentEvent("e1", "c1", base, base + 2 * MS, base + 4 * MS, items=2),  # sent 2 ms late
        SentEvent("e2", "c2", base + 50 * MS, base + 50 * MS, base + 52 * MS, items=1),
    ]
    decisions = {"e1": base + 10 * MS, "e2": base + 60 * MS}
    b = base // MS
    arrivals = [
        _arrival("i1", "e1", "DELIVERED", b + 15, b + 16),
        _arrival("i1", "e1", "COMPLETED", b + 20, b + 30),
        _arrival("i2", "e1", "DELIVERED", b + 15, b + 16),
        _arrival("i2", "e1", "COMPLETED", b + 22, b + 40),
        _arrival("i2", "e1", "COMPLETED", b + 22, b + 90),  # a redelivery: the first one counts
        _arrival("i3", "e2", "DELIVERED", b + 65, b + 66),
        _arrival("w1", "warm", "COMPLETED", b, b + 1),  # not a measured event: ignored
    ]
    r = analyse_latency(sent, decisions, arrivals, rate=20)
    h = r["hists"]
    assert r["events"] == 2 and r["items_expected"] == 3
    assert r["items_missing"] == 1 and r["cases_incomplete"] == 1  # i3 never completed
    assert r["statuses"] == {"COMPLETED": 2}
    assert h["item"].get_total_count() == 2 and h["case"].get_total_count() == 1
    assert h["item"].get_max_value() == pytest.approx(40_000, rel=1e-3)  # due → i2 read, µs
    assert h["item_from_send"].get_max_value() == pytest.approx(38_000, rel=1e-3)
    assert h["case"].get_max_value() == pytest.approx(40_000, rel=1e-3)
    assert h["lag"].get_max_value() == pytest.approx(2_000, rel=1e-3)
    assert h["publish"].get_max_value() == pytest.approx(4_000, rel=1e-3)
    assert h["route"].get_max_value() == pytest.approx(6_000, rel=1e-3)
    assert h["pickup"].get_max_value() == pytest.approx(5_000, rel=1e-3)
    assert h["report"].get_max_value() == pytest.approx(18_000, rel=1e-3)
    assert r["sends_late_by_a_period"] == 0
    assert r["handle_ms_by_items_in_event"][2]["count"] == 2  # i1 and i2, both of e1
    summary = latency_summary(r)
    assert "hists" not in summary and summary["ms"]["item"]["count"] == 2
    table = latency_table(summary["ms"])
    assert table.count("\n") == len(LATENCY_ROWS) + 1


def test_a_send_later_than_a_period_is_counted():
    sent = [SentEvent("e", "c", 0, 80 * MS, 81 * MS, items=0)]
    r = analyse_latency(sent, {}, [], rate=20)
    assert r["sends_late_by_a_period"] == 1
    assert r["hists"]["lag"].get_max_value() == pytest.approx(80_000, rel=1e-3)


def test_cpu_shares_between_samples():
    a = CpuSample(at=10.0, process=100, broker=50, machine_busy=1_000, machine_total=4_000)
    b = CpuSample(at=12.0, process=300, broker=100, machine_busy=1_300, machine_total=4_400)
    shares = cpu_shares(a, b, tick_hz=100, cpus=2)
    assert shares["process_cpu_pct"] == pytest.approx(100.0)  # 2 s of CPU in 2 s
    assert shares["broker_cpu_pct"] == pytest.approx(25.0)
    assert shares["machine_busy_pct"] == pytest.approx(75.0)
    nothing = (None, None, None, None)
    unknown = cpu_shares(CpuSample(1.0, *nothing), CpuSample(2.0, *nothing), 100, 2)
    assert unknown["process_cpu_pct"] is None and unknown["machine_busy_pct"] is None


def _run(mode, rnd, per_s, pause=5, cpu=50.0):
    rate = Rate(100, 0, int(99_000 / per_s), per_s, per_s, pause)
    return ModeRun(mode, rnd, 100, 2.0, rate, None, {"process_cpu_pct": cpu})


def test_ratios_are_paired_per_round_then_median():
    router = [_run("router", 1, 300), _run("router", 2, 400), _run("router", 3, 330)]
    raw = [_run("faust_raw", 1, 1000), _run("faust_raw", 2, 1000), _run("faust_raw", 3, 1100)]
    r = paired_ratio(router, raw)
    assert r["per_round"] == pytest.approx([0.3, 0.4, 0.3])
    assert r["ratio"] == pytest.approx(0.3)
    summary = median_summary([_run("router", 1, 300, pause=7), _run("router", 2, 500, pause=3)])
    assert summary["events_per_s"] == 400 and summary["longest_pause_ms"] == 7
    assert summary["items_per_s"] is None and summary["process_cpu_pct"] == 50.0
    assert summary["process_cpu_ms_per_unit"] == pytest.approx((0.5 / 300 * 1000 + 0.5 / 500 * 1000) / 2)


def test_mode_order_alternates_the_faust_modes_and_the_other_libraries():
    assert mode_order(1, True) == ["router", "faust_raw", "faust_fanout", "inbox_fleet", "quix_raw",
                                   "kafka_python_raw"]
    assert mode_order(2, True) == ["faust_fanout", "faust_raw", "router", "kafka_python_raw", "quix_raw"]
    assert mode_order(2, False) == ["faust_fanout", "faust_raw", "router", "quix_raw"]
    assert mode_order(3, True, quix=False) == ["router", "faust_raw", "faust_fanout", "kafka_python_raw"]
    assert mode_order(2, False, quix=False) == ["faust_fanout", "faust_raw", "router"]
    assert set(mode_order(1, True)) == set(MODES) == set(LABELS)


def _sample(at, wall_ms, process):
    return CpuSample(at, process, 0, process, 2 * process, wall_ms=wall_ms)


def test_cpu_is_taken_between_the_samples_nearest_the_output_window():
    samples = [_sample(i * 0.02, 1_000 + 20 * i, 3 * i) for i in range(10)]  # every 20 ms
    a, b = window_samples(samples, 1_041, 1_118)
    assert (a.wall_ms, b.wall_ms) == (1_040, 1_120)
    assert cpu_shares(a, b, 100, 2)["process_cpu_pct"] == pytest.approx(100 * 12 / 100 / 0.08)
    assert window_samples(samples, 1_041, 1_045) is None  # shorter than the sampling interval
    assert window_samples(samples, None, None) is None and window_samples([], 1, 2) is None
    assert window_samples([CpuSample(1.0, 1, 1, 1, 1)], 1, 2) is None  # no wall clock


def test_output_window_spans_what_the_rates_count():
    events, items = Rate(3, 100, 900, 2.5, None, 400), Rate(5, 150, 1_000, 4.7, None, 300)
    assert ModeRun("router", 1, 3, 1.0, events, items).output_window_ms() == (100, 1_000)
    assert ModeRun("faust_raw", 1, 3, 1.0, events, None).output_window_ms() == (100, 900)
    assert ModeRun("inbox_fleet", 1, 3, 1.0, NO_RATE, items).output_window_ms() == (150, 1_000)
    assert ModeRun("quix_raw", 1, 3, None, NO_RATE, None).output_window_ms() == (None, None)


def test_tables_render():
    summary = median_summary([_run("router", 1, 300)])
    table = throughput_table({"router": summary, "faust_raw": summary},
                             {"router": {"ratio": 0.5, "per_round": [0.5]}})
    assert "(baseline)" in table and "0.500" in table and table.count("\n") == 3
    hists = {name: new_histogram(10**10) for name in (*STAGES, *INBOX_STAGES)}
    for h in hists.values():
        h.record_value(150_000)
    assert stage_table(hists).count("\n") == len(STAGES) + len(INBOX_STAGES) + 1
    del hists["handler"]
    assert "SQLite" not in stage_table(hists)


def test_parse_args_defaults_and_limits(tmp_path):
    options = parse_args(["--json", str(tmp_path / "r.json")])
    assert (options.events, options.rounds, options.rate, options.duration) == (5000, 2, 20.0, 30.0)
    assert options.kafka_python and options.quix and options.throughput and options.latency
    assert not options.keep
    assert not parse_args(["--no-quix", "--no-json"]).quix
    assert parse_args(["--no-json"]).json_path is None
    assert parse_args(["--events", "150", "--no-json"]).stage_events == 50  # keeps 100 for warm-up
    with pytest.raises(SystemExit):
        parse_args(["--rate", "0"])


def _same(mine, theirs) -> bool:
    """Equal settings; faust's SASL credentials compare by identity, so by what they say."""
    if hasattr(mine, "username"):
        return (mine.username, mine.password, mine.mechanism) == (theirs.username, theirs.password, theirs.mechanism)
    return mine == theirs


def test_passthrough_uses_the_routers_faust_settings():
    from hub.worker.app import create_app

    settings = HubSettings(topic_prefix="bench-unit-r1", bootstrap_servers="127.0.0.1:1",
                           schema_registry_url="http://127.0.0.1:1/none")
    clients = Clients(settings)
    router = create_app(clients)  # nothing connects until a worker starts
    app = passthrough_app(clients, "bench-unit-r1.passthrough-faust")
    fan = passthrough_app(clients, "bench-unit-r1.passthrough-fanout", {"e": 2})
    for name in (*ROUTER_CONF, "producer_linger", "broker_commit_every", "broker_commit_interval",
                 "stream_buffer_maxsize", "stream_publish_on_commit"):
        assert _same(getattr(app.conf, name), getattr(router.conf, name)), name
    assert app.conf.id != router.conf.id and app.conf.id != fan.conf.id  # own consumer groups
    [agent] = app.agents.values()
    [routing] = router.agents.values()
    assert agent.concurrency == routing.concurrency == 1


def test_a_passthrough_has_a_group_of_its_own_per_sink():
    assert sink_group("bench-unit-r1", "bench-unit-r1.passthrough-quix") == "bench-unit-r1-passthrough-quix"
    assert sink_group("p", "p.passthrough-faust") != sink_group("p", "p.passthrough-quix")


def test_quix_connects_as_the_settings_principal(tmp_path):
    from quixstreams.kafka.configuration import ConnectionConfig

    creds = tmp_path / "router.properties"
    write_credentials(creds, KafkaCredentials("elsewhere:1", "SASL_SSL", "SCRAM-SHA-512", "router",
                                              "s3cret", tmp_path / "ca.pem"))
    settings = HubSettings(topic_prefix="bench-unit-r1", bootstrap_servers="127.0.0.1:9",
                           credentials_file=creds)
    conf = Clients(settings).librdkafka_connection()
    assert conf == {"bootstrap.servers": "127.0.0.1:9", "security.protocol": "SASL_SSL",
                    "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "router",
                    "sasl.password": "s3cret", "ssl.ca.location": str(tmp_path / "ca.pem"),
                    "reconnect.backoff.max.ms": 1_000}
    quix = ConnectionConfig.from_librdkafka_dict(conf, ignore_extras=True)
    assert (quix.security_protocol, quix.sasl_mechanism, quix.sasl_username) == ("sasl_ssl", "SCRAM-SHA-512", "router")
    assert quix.as_librdkafka_dict()["sasl.password"] == "s3cret"
    plain = HubSettings(bootstrap_servers="127.0.0.1:9", kafka_security="plaintext")
    assert Clients(plain).librdkafka_connection() == {"bootstrap.servers": "127.0.0.1:9",
                                                      "reconnect.backoff.max.ms": 1_000}


def test_latency_rate_is_a_fraction_of_the_router_maximum_when_both_are_known():
    assert latency_rate(20.0, 0.5, 1_234.0) == (617.0, "fraction")
    assert latency_rate(20.0, 0.5, 0.9) == (1.0, "fraction")  # at least 1/s
    assert latency_rate(20.0, None, 1_234.0) == (20.0, "rate")  # --rate stays the default
    assert latency_rate(20.0, 0.5, None) == (20.0, "rate")  # no maximum measured


def test_router_max_is_the_throughput_parts_median():
    results = {"throughput": {"modes": {"router": {"events_per_s": 812.5}},
                              "rounds": {"router": [{}, {}]}}}
    assert router_max(results) == (812.5, 2)
    assert router_max({"problems": []}) == (None, 0)


def test_parse_args_rate_fraction(tmp_path):
    assert parse_args(["--no-json"]).rate_fraction is None
    assert parse_args(["--rate-fraction", "0.5", "--no-json"]).rate_fraction == 0.5
    with pytest.raises(SystemExit):
        parse_args(["--rate-fraction", "0", "--no-json"])
    with pytest.raises(SystemExit):
        parse_args(["--rate-fraction", "0.5", "--no-throughput", "--no-json"])


def test_recorded_keeps_a_raw_and_an_interval_corrected_histogram():
    assert interval_us(20) == 50_000 and interval_us(400) == 2_500
    r = Recorded(interval_us(20))
    r.record(175 * MS)  # 175 ms with a 50 ms interval: 175, 125, 75, 25 in the corrected one
    r.record(10 * MS)  # shorter than the interval: recorded once in both
    assert r.raw.get_total_count() == 2 and r.corrected.get_total_count() == 5
    assert r.raw.get_max_value() == r.corrected.get_max_value() == pytest.approx(175_000, rel=1e-3)
    assert r.corrected.get_value_at_percentile(40) == pytest.approx(25_000, rel=1e-3)
    assert r.raw.get_value_at_percentile(40) == pytest.approx(10_000, rel=1e-3)


def test_analyse_latency_corrects_every_measured_histogram_at_one_over_the_rate():
    sent = [SentEvent("e", "c", 0, 0, 120 * MS, items=0)]  # acked 120 ms after due
    r = analyse_latency(sent, {}, [], rate=20)
    assert r["interval_us"] == 50_000
    assert set(r["hists_corrected"]) == set(r["hists"]) == set(MEASURED)
    assert r["hists"]["lag"].get_total_count() == 1
    summary = latency_summary(r)
    assert "hists_corrected" not in summary and summary["ms_corrected"]["lag"]["count"] == 1


def _lat_summary(**extra):
    r = analyse_latency([SentEvent("e", "c", 0, MS, 2 * MS, items=0)], {}, [], rate=400)
    return {**latency_summary(r), "rate": 400.0, "load_average_before": [1.0, 1.0, 1.0],
            "achieved_rate": 400.0, "rate_asked": 20.0, **extra}


def test_rate_line_gives_the_share_of_the_maximum_measured_in_the_run():
    lat = _lat_summary(rate_source="fraction", rate_fraction=0.5, router_max_per_s=800.0,
                       router_max_rounds=2)
    line = rate_line(lat)
    assert "400/s" in line and "**50 %**" in line and "800 events/s" in line
    assert "0.5 × the maximum" in line and "2 round(s)" in line
    by_rate = rate_line(_lat_summary(rate_source="rate", rate_fraction=None, router_max_per_s=1_600.0))
    assert "(`--rate`)" in by_rate and "**25 %**" in by_rate
    none = rate_line(_lat_summary(rate_source="rate", rate_fraction=None, router_max_per_s=None))
    assert "no router maximum measured in this run" in none


def test_latency_part_shows_corrected_and_raw_percentiles():
    lat = _lat_summary(rate_source="rate", rate_fraction=None, router_max_per_s=None)
    text = "\n".join(latency_part(lat))
    assert "p99 ms, corrected" in text and "raw p50 / p90 / p99 ms" in text
    assert "interval 1/rate = 2.5 ms" in text
    table = latency_table(lat["ms"], lat["ms_corrected"])
    assert table.count("\n") == len(LATENCY_ROWS) + 1
    assert latency_table(lat["ms"]).count("\n") == len(LATENCY_ROWS) + 1  # older results: raw only


def test_rate_shortfall_flags_a_generator_that_fell_behind():
    assert rate_shortfall(110, 24.8) and "24.8/s of 110/s" in rate_shortfall(110, 24.8)
    assert rate_shortfall(110, 105.0) is None and rate_shortfall(110, None) is None


class _SlowPublisher:
    """A synchronous publish that takes 30 ms, three periods at 100/s."""

    def __init__(self):
        self.n = 0

    def publish_raw(self, event_type, submission):
        import time
        from types import SimpleNamespace
        time.sleep(0.03)
        self.n += 1
        return SimpleNamespace(event_id=f"e{self.n}-{id(submission)}", case_id="c")


def test_open_loop_keeps_the_schedule_when_a_publish_is_slower_than_the_period(rules):
    jobs = make_jobs_of(30, random.Random(1), routed_types(rules))
    publisher = _SlowPublisher()
    loop = OpenLoop(lambda department: publisher, jobs, [1] * len(jobs), rate=100, senders=8)
    loop.start()
    loop.join(10)
    assert not loop.errors and len(loop.sent) == 30
    r = analyse_latency(loop.sent, {}, [], rate=100)
    assert r["achieved_rate"] > 70  # one sender would manage ~33/s
    assert r["sends_late_by_a_period"] <= 3
