"""The memory benchmark's plumbing, without a broker: the stamped events (routed by the real
router code on the in-memory broker and registry), the backlog rule, RSS from /proc, the curve
and its summary. No timing or memory figure is asserted."""

from __future__ import annotations

import os
import random

import pytest

from bench.rss.cli import default_step, parse_args, restart_points
from bench.rss.feed import EVENT_ID, Feeder, Template, new_event_id, to_send
from bench.rss.report import render
from bench.rss.run import cpu_pct
from bench.rss.sampling import (
    Sample,
    curve_rows,
    main_worker,
    parse_vmrss_kb,
    process_tree,
    slope_mb_per_100k,
    steady,
    summarise,
    tree_rss_kb,
)
from bench.workload import WireRecord, make_jobs_of, routed_types
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from hub.wire.serde import event_deserializer, model_serializer
from hub.worker.processor import RouterProcessor, SourceRecord
from producers.publisher import Publisher

# -- the events -------------------------------------------------------------------------------

@pytest.fixture
def clients(tmp_path):
    return InMemoryClients.provisioned(HubSettings(topic_prefix="rss", state_dir=tmp_path))


def pool(clients: InMemoryClients, size: int) -> list[Template]:
    """``size`` submissions published by the SDK on the in-memory broker, read back as templates
    (people's fields in the clear, as ``capture_records`` leaves them for the benchmarks)."""
    jobs = make_jobs_of(size, random.Random(5), routed_types(load_rules()))
    for job in jobs:
        Publisher(job.department, clients=clients, protect=False).publish_raw(job.event_type, job.submission)
    names = TopicNames(clients.settings.topic_prefix)
    records = [r for t in names.all_events() for r in clients.broker.records(t)]
    assert len(records) == size
    return [Template.of(WireRecord(r.topic, r.key, r.value, tuple(r.headers))) for r in records]


def router(clients: InMemoryClients, routed: dict, cases: dict) -> RouterProcessor:
    """The worker's processor with the worker's codecs (create_app's), on in-memory tables."""
    registry = clients.registry
    names = TopicNames(clients.settings.topic_prefix)
    decoders = {spec.event_type: event_deserializer(registry, spec) for spec in CATALOGUE.values()}
    return RouterProcessor(
        rules=load_rules(), names=names, specs_by_topic=names.event_specs(),
        decode=lambda spec, data, topic: event_to_record(decoders[spec.event_type](data, topic)),
        encode_item=model_serializer(registry, "WorkItem"),
        encode_decision=model_serializer(registry, "RoutingDecision"),
        encode_dead_letter=model_serializer(registry, "DeadLetter"),
        routed=routed, held={}, cases=cases, early_supplements=True)


def test_a_stamp_replaces_the_id_everywhere_and_nothing_else(clients):
    (template,) = pool(clients, 1)
    new = new_event_id(random.Random(1))
    value, headers = template.stamp(new)
    assert len(value) == len(template.record.value) and template.event_id not in value
    assert dict(headers)[EVENT_ID] == new.encode()
    spec = TopicNames("rss").event_specs()[template.record.topic]
    decode = event_deserializer(clients.registry, spec)
    before = decode(template.record.value, template.record.topic)
    after = decode(value, template.record.topic)
    assert after.envelope.event_id == new and after.envelope.case_id == f"case-{new}"
    assert after.payload == before.payload
    assert after.envelope.model_dump(exclude={"event_id", "case_id"}) == \
        before.envelope.model_dump(exclude={"event_id", "case_id"})
    with pytest.raises(ValueError):
        template.stamp("not-a-uuid")


def test_fed_events_are_each_new_to_the_router(clients):
    """Stamped copies of a pool of 4, 40 of them, through the real router code: 40 routed, no dead
    letter, one routed-events and one case-openers entry per event."""
    templates = pool(clients, 4)
    names = TopicNames("rss")
    # The pool's own records, by position: a topic's records come partition by partition, so
    # a count would cut the list in the wrong place.
    already = {(r.topic, r.partition, r.offset) for t in names.all_events() for r in clients.broker.records(t)}
    feeder = Feeder(clients, templates, seed=3)
    ids = feeder.send(25) + feeder.send(15)
    assert feeder.published == 40 and len(set(ids)) == 40
    routed, cases = {}, {}
    processor = router(clients, routed, cases)
    outputs = []
    for topic in names.all_events():
        for r in (r for r in clients.broker.records(topic) if (r.topic, r.partition, r.offset) not in already):
            outputs += processor.process(SourceRecord(r.topic, r.partition, r.offset, r.key, r.value))
    assert not [o for o in outputs if o.topic == names.dead_letters]
    assert len([o for o in outputs if o.topic == names.routing_log]) == 40
    assert set(routed) == set(ids) and len(cases) == 40
    feeder.close()


def test_the_backlog_rule():
    assert to_send(0, 0, 1000, 100) == 100  # start: a full backlog
    assert to_send(100, 40, 1000, 100) == 0  # more than half still waiting
    assert to_send(100, 50, 1000, 100) == 50  # half: topped up again
    assert to_send(980, 950, 1000, 100) == 20  # never past the target
    assert to_send(1000, 1000, 1000, 100) == 0
    assert to_send(10, 12, 1000, 100) == 100  # committed counts markers too: never negative


def test_restart_points_and_steps():
    assert restart_points(1_000_000, 0.1) == [100_000]
    assert restart_points(1000, 0) == [] and restart_points(5, 0.1) == []
    assert default_step(1_000_000) == 100_000 and default_step(600_000) == 100_000
    assert default_step(20_000) == 2_000


def test_options(tmp_path):
    o = parse_args(["--events", "20000", "--no-json"])
    assert o.events == 20_000 and o.step == 2_000 and o.json_path is None and o.limit_mb == 300
    assert parse_args(["--json", str(tmp_path / "r.json")]).events == 1_000_000
    with pytest.raises(SystemExit):
        parse_args(["--restart-at", "1"])


# -- memory from /proc --------------------------------------------------------------------------

def test_vmrss_is_read_from_status():
    text = "Name:\tpython\nVmPeak:\t  900 kB\nVmRSS:\t  123456 kB\nThreads:\t4\n"
    assert parse_vmrss_kb(text) == 123456
    assert parse_vmrss_kb("Name:\tkworker\n") is None


def test_a_process_tree_is_summed(tmp_path):
    proc = tmp_path
    for pid, kb, kids in ((10, 1000, "11"), (11, 200, "12"), (12, 30, "")):
        (proc / str(pid) / "task" / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "task" / str(pid) / "children").write_text(kids)
        (proc / str(pid) / "status").write_text(f"VmRSS:\t{kb} kB\n")
    assert sorted(process_tree(10, proc)) == [10, 11, 12]
    assert tree_rss_kb(10, proc) == 1230
    assert tree_rss_kb(99, proc) is None


def test_this_process_has_a_resident_size():
    assert tree_rss_kb(os.getpid()) > 1000


# -- the curve ----------------------------------------------------------------------------------

def samples_of(points, worker=1, t0=0.0):
    return [Sample(t0 + i * 10.0, routed, kb, 1.0, worker, 100 * i) for i, (routed, kb) in enumerate(points)]


def test_curve_rows_at_each_step_with_the_rate_between():
    samples = samples_of([(0, 50_000), (400, 100_000), (900, 101_000), (1_100, 102_000),
                          (1_500, 102_000), (2_100, 103_000), (2_300, 103_500)])
    rows = curve_rows(samples, 1000)
    assert [r["routed"] for r in rows] == [400, 1_100, 2_100, 2_300]
    assert rows[0]["events_per_s"] is None
    assert rows[1]["events_per_s"] == pytest.approx((1_100 - 400) / 20, abs=1)
    assert rows[1]["rss_mb"] == pytest.approx(102_000 / 1024, abs=0.1)
    assert curve_rows(samples_of([(0, 1), (0, 2)]), 10) == []


def test_flat_and_growing_curves_are_told_apart():
    flat = samples_of([(i * 10_000, 200_000 + (i % 3) * 500) for i in range(1, 101)])
    growing = samples_of([(i * 10_000, 100_000 + i * 2_000) for i in range(1, 101)])
    assert abs(slope_mb_per_100k(flat)) < 0.1
    assert slope_mb_per_100k(growing) == pytest.approx(10 * 2_000 / 1024, rel=0.01)
    s = summarise(growing, limit_mb=250)
    assert s["max_rss_mb"] == pytest.approx(300_000 / 1024, abs=0.1) and not s["within_limit"]
    assert s["steady"]["growth_mb"] > 100
    assert summarise(flat, 300)["within_limit"] and summarise([], 300) == {"samples": 0}


def test_the_steady_segment_is_the_longest_worker_past_its_warm_up():
    early = samples_of([(0, 90_000), (100, 95_000), (1_000, 99_000)], worker=1)
    main = samples_of([(1_000 + i * 100, 120_000) for i in range(1, 101)], worker=2, t0=100)
    last = samples_of([(11_001, 100_000)], worker=3, t0=5_000)
    everything = early + main + last
    assert main_worker(everything) == 2
    warm = steady(everything)
    assert {s.worker for s in warm} == {2} and warm[0].routed >= 1_000 + 0.1 * 9_900
    s = summarise(everything, 300)
    assert s["end_rss_mb"] == pytest.approx(120_000 / 1024, abs=0.1) and s["end_at_routed"] == 11_000
    assert cpu_pct(everything) is not None


def test_the_report_renders_a_run():
    samples = samples_of([(i * 1_000, 120_000 + i) for i in range(1, 30)])
    results = {"run_prefix": "bench-x", "note": "shared", "summary": summarise(samples, 300),
               "curve": curve_rows(samples, 10_000),
               "restarts": [{"label": "early", "history_events": 2_000, "stop_s": 1.0,
                             "until_routed_s": 4.2, "rss_before_mb": 120.0, "rss_after_mb": 110.0}],
               "checks": {"published": 29_000, "committed": 29_000, "routing_decisions": 29_000,
                          "rerouted": 0, "dead_letters": 0, "unrouted": {}},
               "problems": []}
    text = render(results)
    assert "| 10,000 |" in text and "| early | 2,000 |" in text and "Problems: none" in text


def test_a_time_budget_or_a_signal_stops_the_feeding(tmp_path):
    from bench.rss.cli import samples_path
    from bench.rss.run import STOP_FEEDING, RunState

    state = RunState(None, None, None, tmp_path, tmp_path)  # type: ignore[arg-type]
    assert not state.out_of_time
    state.stop_feeding_at = 0.0
    assert state.out_of_time
    state.stop_feeding_at = None
    STOP_FEEDING.set()
    try:
        assert state.out_of_time
    finally:
        STOP_FEEDING.clear()
    assert samples_path(tmp_path / "rss-1.json", "bench-x") == tmp_path / "rss-1-samples.jsonl"
    assert samples_path(None, "bench-x") is None
