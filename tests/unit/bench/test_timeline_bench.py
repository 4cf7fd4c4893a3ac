"""The timeline benchmark's synthetic trail, without a broker: a valid chain, and every subject's
timeline (projection applied directly) holds what the generator wrote. No timing is asserted."""

from __future__ import annotations

import random
from types import SimpleNamespace

from bench.timeline.cli import parse_args, ratios
from bench.timeline.report import render
from bench.timeline.trail import Trail, check_answer, heavy_subjects, make_templates
from hub.audit.codec import decode_record
from hub.config import HubSettings
from hub.domain.audit import StoredAudit, verify
from hub.kafka.clients import Clients
from hub.projections.timeline import TimelineProjection
from tests.unit.projections.test_timeline import apply


def _trail(records: int = 3000) -> tuple[Trail, list[SimpleNamespace]]:
    rng = random.Random(5)
    trail = Trail("b", 3, rng, make_templates(rng, per_type=3), heavy_subjects(rng, 2), heavy_cases=20,
                  replay_every=1000)
    offsets = {p: 0 for p in range(3)}
    out = []
    for partition, key, value in trail.records(records):
        out.append(SimpleNamespace(topic="b.audit", partition=partition, offset=offsets[partition],
                                   key=key, value=value, timestamp=0, headers=[]))
        offsets[partition] += 1
    return trail, out


def test_the_synthetic_trail_is_a_valid_chain_with_every_kind():
    trail, records = _trail()
    assert len(records) == trail.written >= 3000
    verdict = verify(StoredAudit(r.partition, r.offset, decode_record(r.value)) for r in records)
    assert verdict.ok and verdict.count == len(records)
    assert set(trail.kinds) == {"routing_decision", "item_sent", "outcome", "fact_query", "replay"}
    assert trail.kinds["outcome"] > trail.kinds["item_sent"] > trail.kinds["routing_decision"]


def test_every_subject_timeline_holds_what_was_written_about_it(tmp_path):
    trail, records = _trail()
    clients = Clients(HubSettings(state_dir=tmp_path, topic_prefix="b"))  # never connects here
    projection = TimelineProjection(clients, tmp_path / "t.sqlite")
    apply(projection, records)
    assert projection.skipped == 0
    for subject, expected in trail.expected.items():
        assert check_answer(projection.subject_timeline(subject), expected) is None
    heavy = trail.heavy[0]
    assert trail.expected[heavy].records > 5 * (trail.written / len(trail.expected))
    assert check_answer(projection.subject_timeline("nobody"), None) is None
    assert check_answer(projection.subject_timeline(heavy), None) is not None
    projection.close()


def test_defaults_are_a_million_records_and_a_thousand_subjects():
    options = parse_args([])
    assert (options.records, options.queries, options.heavy_records) == (1_000_000, 1000, 1000)


def test_render_names_every_row():
    answers = {k: {"count": 1, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0, "mean_ms": 1.0}
               for k in ("projection/random", "http/random", "projection/heavy", "http/heavy",
                         "projection/unknown", "http/unknown", "catch_up_noop", "http/healthz")}
    text = render({"trail": {"records": 10, "kinds": {"outcome": 10}, "subjects": 1, "cases": 1,
                             "partitions": 3, "produce_s": 1.0, "produce_rate": 10},
                   "build": {"applied": 10, "seconds": 1.0, "records_per_s": 10, "sqlite_mb": 1,
                             "wal_mb": 0, "skipped": 0},
                   "answer_records": {"random": 1, "heavy": 2}, "answers": answers, "problems": []})
    assert "HTTP `GET /v1/audit/subjects/{id}`" in text and "problems: 0" in text


def test_render_reports_the_rebuild_and_the_answers_during_it():
    answers = {k: {"count": 1, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0, "mean_ms": 1.0}
               for k in ("projection/random", "projection/during_rebuild")}
    text = render({"trail": {"records": 10, "kinds": {"outcome": 10}, "subjects": 1, "cases": 1,
                             "partitions": 3, "produce_s": 1.0, "produce_rate": 10},
                   "build": {"applied": 10, "seconds": 1.0, "records_per_s": 10, "sqlite_mb": 1,
                             "wal_mb": 0, "skipped": 0},
                   "rebuild": {"seconds": 2.0, "applied": 10, "answers": 7, "records_per_s": 5},
                   "answer_records": {"random": 1, "heavy": 2}, "answers": answers, "problems": []})
    assert "rebuild (`hub rebuild timeline`, its own process, while answering): 10 records in 2.0 s" in text
    assert "7 answers meanwhile" in text and "while `hub rebuild timeline` runs | 1 |" in text
    assert parse_args(["--no-rebuild"]).rebuild is False and parse_args([]).rebuild is True


def test_ratios_divide_p50s_and_leave_out_what_was_not_measured():
    answers = {"http/random": {"p50_ms": 5.0}, "projection/random": {"p50_ms": 2.0},
               "http/heavy": {"p50_ms": 20.0}, "projection/during_rebuild": {"p50_ms": 3.0}}
    assert ratios(answers) == {"http_to_projection_p50": 2.5, "heavy_to_random_p50": 4.0,
                               "during_rebuild_to_idle_p50": 1.5}
    assert ratios({"http/random": {"p50_ms": 5.0}})["http_to_projection_p50"] is None
