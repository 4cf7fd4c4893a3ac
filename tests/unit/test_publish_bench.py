"""The publish benchmark's plumbing, without a broker. No timing is asserted anywhere."""

from __future__ import annotations

import random

import pytest

from bench.publish_bench import (
    LABELS,
    STAGES,
    CapturingProducer,
    WireRecord,
    make_jobs,
    new_histogram,
    parse_args,
    publish_table,
    retarget,
    stage_table,
)
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType


def test_jobs_are_reproducible_and_owned_by_their_department():
    first = make_jobs(30, random.Random(5))
    again = make_jobs(30, random.Random(5))
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
