"""Replay without Kafka: the window, the filters, routing a window with its context, and reading
several partitions in timestamp order."""

from __future__ import annotations

import pickle
from collections import namedtuple
from datetime import datetime, timedelta, timezone

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from hub.domain.catalogue import CATALOGUE
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.replay import ReplayFilters, ReplayRequest, ReplaySummary, ReplayWindow, epoch_ms
from hub.domain.routing import ItemChange, WorkItem, item_id
from hub.kafka.topic_names import TopicNames
from hub.replay.reader import TimeOrderedReader
from hub.replay.window_router import WindowRouter
from hub.rules import load_rules
from tests.factories import change_record, sealed_record, supplement_record
from hub.worker.processor import RouterProcessor, SourceRecord

NAMES = TopicNames("unit")
SPECS = NAMES.event_specs()
START = datetime(2026, 11, 2, tzinfo=CHINA_TZ)
WINDOW = ReplayWindow(START, START + timedelta(days=1))
BEFORE, INSIDE, AFTER = WINDOW.start_ms - 3_600_000, WINDOW.start_ms + 3_600_000, WINDOW.end_ms


# -- the window and the filters -------------------------------------------------------------------
def test_the_window_is_half_open():
    assert WINDOW.contains(WINDOW.start_ms)
    assert WINDOW.contains(WINDOW.end_ms - 1)
    assert not WINDOW.contains(WINDOW.end_ms)
    assert not WINDOW.contains(WINDOW.start_ms - 1)
    assert WINDOW.start_ms == epoch_ms(datetime(2026, 11, 1, 16, tzinfo=timezone.utc))


@pytest.mark.parametrize("start,end,message", [
    (START, START, "window is empty"),
    (START + timedelta(seconds=1), START, "window is empty"),
    (START.replace(tzinfo=None), START + timedelta(days=1), "UTC offset"),
])
def test_an_empty_or_naive_window_is_refused(start, end, message):
    with pytest.raises(ValueError, match=message):
        ReplayWindow(start, end)


def test_the_context_must_start_at_or_before_the_window():
    ReplayRequest(WINDOW, context_from=START)
    with pytest.raises(ValueError, match="at or before the window"):
        ReplayRequest(WINDOW, context_from=START + timedelta(seconds=1))


def test_the_target_names_the_file_or_the_inbox(tmp_path):
    assert ReplayRequest(WINDOW).target == "inbox"
    assert ReplayRequest(WINDOW, to_file=tmp_path / "x.jsonl").target == f"file:{tmp_path / 'x.jsonl'}"


def _env(event_type: str, *subjects: str) -> dict:
    return {"envelope": {"event_type": event_type, "subject_ids": list(subjects)}}


def test_event_filters_match_the_event_or_the_event_a_supplement_releases():
    marriage = _env("marriage_registered", "11010519491231002X")
    supplement = _env("documents_supplemented", "11010519491231002X")
    by_type = ReplayFilters(event_type=EventType.MARRIAGE_REGISTERED)
    assert by_type.matches([marriage])
    assert by_type.matches([supplement, marriage])
    assert not by_type.matches([supplement])
    assert not by_type.matches([_env("birth_certified", "x")])
    by_subject = ReplayFilters(subject=" 11010519491231002x ")
    assert by_subject.matches([marriage]) and not by_subject.matches([_env("birth_certified", "1")])
    assert ReplayFilters().matches([marriage])


def test_the_department_filter_keeps_that_departments_items():
    item = _routed(EventType.MARRIAGE_REGISTERED)[0]
    assert ReplayFilters().keeps(item)
    assert ReplayFilters(department=item.department).keeps(item)
    assert not ReplayFilters(department=Department.COMMERCE).keeps(item)
    # the subject only masked: the summary is printed and goes into the audit note
    assert ReplayFilters(EventType.BIRTH_CERTIFIED, "330106199001011234", Department.TAX).as_dict() == {
        "event_type": "birth_certified", "subject": "330106********1234", "department": "TAX"}


def test_the_summary_reports_counts_rates_and_skips():
    summary = ReplaySummary("r-1", ReplayRequest(WINDOW, dry_run=True), read=10, matched=8,
                            emitted=20, seconds=2.0)
    summary.skip("ValueError", "unit.events.x[0]@3", "cannot decode")
    summary.by_department["TAX"] = 20
    text = "\n".join(summary.lines())
    assert "read 10, matched 8, would emit 20 item(s)" in text and "5 events/s" in text
    assert "skipped 1 unreadable or unroutable record(s) (ValueError)" in text
    assert "unit.events.x[0]@3: cannot decode" in text
    body = summary.as_dict()
    assert body["skipped"] == {"ValueError": {"count": 1, "examples": ["unit.events.x[0]@3: cannot decode"]}}
    assert body["window"] == {"from": "2026-11-02T00:00:00+08:00", "to": "2026-11-03T00:00:00+08:00"}


# -- routing a window -----------------------------------------------------------------------------
def _event(event_type: EventType, seed: int = 1, **hints) -> dict:
    return sealed_record(event_type, seed=seed, **hints)


def _routed(event_type: EventType) -> list[WorkItem]:
    return route_live([_event(event_type)])[0]


def _record(event: dict, offset: int) -> SourceRecord:
    env = event["envelope"]
    topic = NAMES.events(CATALOGUE[EventType(env["event_type"])], Department(env["source_department"]))
    return SourceRecord(topic, 0, offset, env["subject_ids"][0].encode(), pickle.dumps(event))


def route_live(events: list[dict]) -> list[list[WorkItem]]:
    """What the live router sends for each event, in order (pickle stands in for Avro)."""
    processor = RouterProcessor(load_rules(), NAMES, lambda s, d, t: pickle.loads(d), SPECS,
                                lambda m, t: pickle.dumps(m), lambda m, t: b"", lambda m, t: b"", {}, {})
    return [[pickle.loads(o.value) for o in processor.process(_record(e, i)) if ".inbox." in o.topic]
            for i, e in enumerate(events)]


def _router(filters: ReplayFilters = ReplayFilters()) -> WindowRouter:
    return WindowRouter(rules=load_rules(), names=NAMES, specs_by_topic=SPECS,
                        decode=lambda spec, data, topic: pickle.loads(data), window=WINDOW,
                        filters=filters, summary=ReplaySummary("r", ReplayRequest(WINDOW)))


def _feed(router: WindowRouter, feeds: list[tuple[dict | bytes, int, bool]]) -> list[list[WorkItem]]:
    out = []
    for offset, (event, ts, in_range) in enumerate(feeds):
        record = _record(event, offset) if isinstance(event, dict) else SourceRecord(
            NAMES.events(CATALOGUE[EventType.BIRTH_CERTIFIED]), 1, offset, b"k", event)
        out.append([r.item for r in router.feed(record, ts, in_range)])
    return out


def test_the_window_yields_the_live_routers_items_and_context_yields_none():
    events = [_event(EventType.MARRIAGE_REGISTERED, 1), _event(EventType.BIRTH_CERTIFIED, 2),
              _event(EventType.ENTERPRISE_REGISTERED, 3)]
    live = route_live(events)
    router = _router()
    got = _feed(router, [(events[0], BEFORE, False), (events[1], INSIDE, True),
                         (events[2], AFTER, True)])  # in the offset range, stamped after the end
    assert got == [[], live[1], []]
    assert live[1] and all(i.item_id == item_id(i.event_id, i.department, i.item) for i in got[1])
    s = router.summary
    assert (s.context, s.read, s.matched) == (1, 2, 1)


def test_a_correction_in_the_window_reaches_the_departments_of_its_original_before_it():
    original = _event(EventType.ENTERPRISE_REGISTERED, 4)
    original["payload"]["foreign_invested"] = True  # so COMMERCE receives the original
    correction = change_record(original, 4, foreign_invested=False, investor_countries=[])
    live = route_live([original, correction])[1]
    got = _feed(_router(), [(original, BEFORE, False), (correction, INSIDE, True)])[1]
    assert got == live
    assert "COMMERCE" in {i.department.value for i in got}  # although no longer foreign-invested
    assert {i.change for i in got} == {ItemChange.CORRECTION}
    # Without the context the replay cannot know the original (nor check that the correction's
    # department owns it): the correction is skipped with the reason — what --context-from
    # trades away.
    router = _router()
    assert _feed(router, [(correction, INSIDE, True)])[0] == []
    assert router.summary.skipped == {"Refused": 1}
    assert "never recorded" in router.summary.skip_examples["Refused"][0]


def _supplement(held: dict, documents: list[str]) -> dict:
    return supplement_record(held, documents, held["envelope"]["recorded_at"])


def test_a_supplement_in_the_window_releases_an_event_held_before_it():
    held = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["住所证明", "章程"])
    first, second = _supplement(held, ["章程"]), _supplement(held, ["住所证明"])
    live = route_live([held, first, second])[2]
    router = _router(ReplayFilters(event_type=EventType.SOCIAL_ORGANISATION_REGISTERED))
    got = _feed(router, [(held, BEFORE, False), (first, BEFORE, False), (second, INSIDE, True)])
    assert got[2] == live and [i.department.value for i in live] == ["TAX"]
    assert router.summary.matched == 1 and not router.summary.skipped


def test_filters_select_events_and_departments():
    marriage, birth = _event(EventType.MARRIAGE_REGISTERED, 5), _event(EventType.BIRTH_CERTIFIED, 6)
    router = _router(ReplayFilters(event_type=EventType.MARRIAGE_REGISTERED,
                                   department=Department.PUBLIC_SECURITY))
    got = _feed(router, [(marriage, INSIDE, True), (birth, INSIDE, True)])
    assert [[i.department.value for i in items] for items in got] == [["PUBLIC_SECURITY"], []]
    assert (router.summary.read, router.summary.matched) == (2, 1)
    subject = birth["envelope"]["subject_ids"][0]
    router = _router(ReplayFilters(subject=subject))
    got = _feed(router, [(marriage, INSIDE, True), (birth, INSIDE, True)])
    assert got[0] == [] and got[1] and router.summary.matched == 1


def test_unroutable_records_are_skipped_with_the_reason_never_raised():
    stray = sealed_record(EventType.DOCUMENTS_SUPPLEMENTED, seed=3)
    router = _router()
    got = _feed(router, [(b"garbage", BEFORE, False), (b"garbage", INSIDE, True), (stray, INSIDE, True)])
    assert got == [[], [], []]
    s = router.summary
    assert s.context_skipped == 1 and s.skipped_total == 2 and s.matched == 0
    examples = " ".join(e for ex in s.skip_examples.values() for e in ex)
    assert "is waiting for documents" in examples and "@1:" in examples


# -- reading in timestamp order -------------------------------------------------------------------
Rec = namedtuple("Rec", "topic partition offset timestamp key value")


class FakeConsumer:
    """Serves fixed partition logs a few records per poll; honours seek, pause and resume."""

    def __init__(self, logs: dict[TopicPartition, list[Rec]], batch: int = 2):
        self.logs, self.batch = logs, batch
        self.pos: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.ever_paused: set[TopicPartition] = set()
        self.assigned: list[TopicPartition] = []

    def assign(self, parts):
        self.assigned = list(parts)

    def seek(self, tp, offset):
        self.pos[tp] = offset

    def pause(self, *parts):
        self.paused.update(parts)
        self.ever_paused.update(parts)

    def resume(self, *parts):
        self.paused.difference_update(parts)

    def position(self, tp):
        return self.pos[tp]

    def poll(self, timeout_ms=0):
        out = {}
        for tp in self.assigned:
            if tp not in self.paused:
                records = [r for r in self.logs[tp] if r.offset >= self.pos[tp]][:self.batch]
                if records:
                    out[tp] = records
                    self.pos[tp] = records[-1].offset + 1
        return out


def _log(topic: str, partition: int, stamps: list[int]) -> tuple[TopicPartition, list[Rec]]:
    return TopicPartition(topic, partition), [Rec(topic, partition, o, ts, None, b"")
                                              for o, ts in enumerate(stamps)]


def test_partitions_are_merged_in_timestamp_order_within_their_ranges():
    logs = dict([_log("a", 0, [1, 5, 9, 13, 17, 30]), _log("a", 1, [2, 3, 4, 20]),
                 _log("sup", 0, [5, 6, 7])])
    ranges = {TopicPartition("a", 0): (1, 5), TopicPartition("a", 1): (0, 4),
              TopicPartition("sup", 0): (0, 2)}
    reader = TimeOrderedReader(FakeConsumer(logs), ranges, last_topics=frozenset({"sup"}))
    got = [(r.topic, r.partition, r.offset, r.timestamp) for r in reader]
    assert reader.total == 4 + 4 + 2 == len(got)
    assert [g[3] for g in got] == sorted(g[3] for g in got)
    # Same millisecond: the supplement topic's record comes after the other topic's.
    assert got.index(("a", 0, 1, 5)) < got.index(("sup", 0, 0, 5))
    assert ("a", 0, 0, 1) not in got and ("a", 0, 5, 30) not in got


def test_a_partition_far_ahead_is_paused_and_nothing_is_lost():
    logs = dict([_log("a", 0, list(range(0, 100))), _log("a", 1, list(range(50, 60)))])
    consumer = FakeConsumer(logs, batch=10)
    reader = TimeOrderedReader(consumer, {tp: (0, len(log)) for tp, log in logs.items()})
    reader.HIGH, reader.LOW = 5, 2
    got = [r.timestamp for r in reader]
    assert got == sorted(list(range(100)) + list(range(50, 60)))
    assert TopicPartition("a", 0) in consumer.ever_paused


def test_empty_ranges_read_nothing_and_a_silent_broker_is_an_error():
    tp, log = _log("a", 0, [1, 2])
    assert list(TimeOrderedReader(FakeConsumer({tp: log}), {tp: (2, 2)})) == []

    class Silent(FakeConsumer):
        def poll(self, timeout_ms=0):
            return {}

    with pytest.raises(KafkaTimeoutError, match="still due"):
        list(TimeOrderedReader(Silent({tp: log}), {tp: (0, 2)}, stall_s=0.0))


def test_registry_outages_are_retried_then_reported_unavailable():
    from hub.replay.retry import ReplayUnavailable, retrying

    calls = []

    def flaky(failures: int, error: Exception):
        def action():
            calls.append(1)
            if len(calls) <= failures:
                raise error
            return "decoded"
        return action

    assert retrying(flaky(2, ConnectionRefusedError("refused")), first_delay_s=0.001) == "decoded"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(ReplayUnavailable, match="schema registry unavailable: refused"):
        retrying(flaky(99, ConnectionRefusedError("refused")), attempts=3, first_delay_s=0.001)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(ValueError):  # not an outage: no retry
        retrying(flaky(99, ValueError("bad bytes")), first_delay_s=0.001)
    assert len(calls) == 1
