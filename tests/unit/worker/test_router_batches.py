"""The router routes a batch of records at a time: the same outputs and tables as one by one,
each record's table changes made in its own record's context, nothing changed by a failed batch."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind
from hub.kafka.topic_names import TopicNames
from hub.worker.processor import SourceRecord
from hub.worker.staged import Staged
from tests.factories import change_record, pickle_router, sealed_record, supplement_record

NAMES = TopicNames("unit")
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def _record(event: dict, offset: int, partition: int = 0) -> SourceRecord:
    env = event["envelope"]
    spec = CATALOGUE[EventType(env["event_type"])]
    topic = NAMES.events(spec, Department(env["source_department"]))
    return SourceRecord(topic, partition, offset, env["subject_ids"][0].encode(), pickle.dumps(event))


def _a_day_of_records() -> list[SourceRecord]:
    """A registration, its correction, a held event and its supplement, a refused id reuse."""
    first = sealed_record(EventType.MARRIAGE_REGISTERED, seed=1)
    held = sealed_record(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=2, pending_documents=["章程"])
    reused = sealed_record(EventType.MARRIAGE_REGISTERED, seed=3, event_id=first["envelope"]["event_id"])
    events = [first, change_record(first, seed=4), held,
              reused, supplement_record(held, ["章程"], NOW)]
    return [_record(e, offset) for offset, e in enumerate(events)]


def _tables(router) -> tuple[dict, dict, dict]:
    return dict(router._routed.base), dict(router._held.base), dict(router._cases.base)


def test_a_batch_gives_the_outputs_and_tables_of_its_records_routed_one_by_one():
    one_by_one, batched = pickle_router(NAMES, lambda: NOW), pickle_router(NAMES, lambda: NOW)
    records = _a_day_of_records()
    singles = [o for r in records for o in one_by_one.process(r)]
    prepared = batched.prepare_batch(records)
    assert _tables(batched) == ({}, {}, {})  # nothing before the commit
    prepared.commit()
    assert [(o.topic, o.key) for o in prepared.outputs] == [(o.topic, o.key) for o in singles]
    kinds = [pickle.loads(o.value) for o in prepared.outputs]
    assert sum(isinstance(k, DeadLetter) for k in kinds) == 1  # the reused id, and only it
    assert [k.kind for k in kinds if hasattr(k, "kind")][-1] is DecisionKind.RELEASED
    assert _tables(batched) == _tables(one_by_one)


def test_each_records_changes_are_made_after_entering_its_context():
    """faust writes a change to the changelog partition of the record being handled, so the
    router enters record n's context before its changes: here a table that notes the record."""
    entered: list[int] = []

    class Noting(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, (entered[-1], value))

    router = pickle_router(NAMES, lambda: NOW)
    router._routed = Staged(Noting())
    router._tables = (router._routed, router._held, router._cases)
    records = _a_day_of_records()
    router.prepare_batch(records).commit(entered.append)
    assert entered == [0, 1, 2, 3, 4]
    by_record = {event_id: n for event_id, (n, _) in router._routed.base.items()}
    ids = [pickle.loads(r.value)["envelope"]["event_id"] for r in records]
    assert by_record[ids[0]] == 0 and by_record[ids[1]] == 1  # the reused id (3) changed nothing
    assert by_record[ids[2]] == 4  # the held event is routed when its supplement (4) releases it


def test_a_transient_failure_in_a_batch_changes_nothing_and_the_retry_routes_all():
    failures = [ConnectionError("registry unreachable")]
    router = pickle_router(NAMES, lambda: NOW)
    encode = router._encode_decision

    def flaky(model, topic):
        if failures and model.kind is DecisionKind.RELEASED:
            raise failures.pop()
        return encode(model, topic)

    router._encode_decision = flaky
    records = _a_day_of_records()
    with pytest.raises(ConnectionError):
        router.prepare_batch(records)
    assert _tables(router) == ({}, {}, {})
    router.prepare_batch(records).commit()
    assert not router._held.base and len(router._routed.base) == 3


def test_staged_segments_are_seen_by_later_ones_and_dropped_alone():
    base = {"a": 1}
    staged = Staged(base)
    staged["b"] = 2
    staged.begin()
    del staged["a"]
    staged["c"] = 3
    assert staged.get("b") == 2 and "a" not in staged
    staged.drop_segment()
    assert staged.get("a") == 1 and staged.get("c") is None and staged.get("b") == 2
    staged.begin()
    staged["b"] = 4
    assert [dict(s) for s in staged.segments()] == [{"b": 2}, {}, {"b": 4}]
    assert base == {"a": 1}  # taken, not applied
