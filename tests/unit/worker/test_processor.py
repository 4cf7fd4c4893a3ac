"""The router's per-record logic without Kafka: routing, corrections, 容缺 holds, dead letters."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind, ItemChange, RoutingDecision, WorkItem, item_id
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from tests.factories import change_record, pickle_router, sealed_record, supplement_record
from hub.worker.processor import RouterProcessor, SourceRecord

NAMES = TopicNames("unit")
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
SPECS = NAMES.event_specs()


@pytest.fixture
def processor():
    return pickle_router(NAMES, lambda: NOW)


def _event(event_type: EventType, seed: int = 1, **hints) -> dict:
    return sealed_record(event_type, seed=seed, **hints)


def _record(event: dict, offset: int = 0, topic: str | None = None) -> SourceRecord:
    """``event`` as read from its publisher's topic (or from ``topic``)."""
    env = event["envelope"]
    spec = CATALOGUE[EventType(env["event_type"])]
    topic = topic or NAMES.events(spec, Department(env["source_department"]))
    return SourceRecord(topic, 0, offset, env["subject_ids"][0].encode(), pickle.dumps(event))


def _supplement(event: dict, documents: list[str]) -> dict:
    """A 补齐材料 event bringing ``documents`` for ``event``."""
    return supplement_record(event, documents, NOW)


def _decoded(outputs):
    return [(o.topic, pickle.loads(o.value)) for o in outputs]


def test_a_registration_yields_one_item_per_rule_and_a_decision(processor):
    event = _event(EventType.MARRIAGE_REGISTERED)
    out = _decoded(processor.process(_record(event)))
    items = [m for _, m in out if isinstance(m, WorkItem)]
    decisions = [m for _, m in out if isinstance(m, RoutingDecision)]
    assert {(i.department.value, i.item) for i in items} == {
        ("PUBLIC_SECURITY", "household_marital_status"), ("PROVIDENT_FUND", "provident_fund_marital_status")}
    assert all(topic == NAMES.inbox(m.department) for topic, m in out if isinstance(m, WorkItem))
    assert [d.kind for d in decisions] == [DecisionKind.ROUTED]
    assert {p.item_id for p in decisions[0].items} == {i.item_id for i in items}


def test_routing_the_same_record_twice_gives_identical_bytes(processor):
    record = _record(_event(EventType.BIRTH_CERTIFIED))
    assert processor.process(record) == processor.process(record)


def test_a_correction_reaches_every_department_of_the_original(processor):
    original = _event(EventType.ENTERPRISE_REGISTERED, seed=4)
    original["payload"]["foreign_invested"] = True  # COMMERCE gets the original
    first = [m for _, m in _decoded(processor.process(_record(original))) if isinstance(m, WorkItem)]
    correction = change_record(original, 4, foreign_invested=False, investor_countries=[])
    second = [m for _, m in _decoded(processor.process(_record(correction, 1))) if isinstance(m, WorkItem)]
    assert {(i.department, i.item) for i in second} == {(i.department, i.item) for i in first}
    assert "COMMERCE" in {i.department.value for i in second}  # although no longer foreign-invested
    for item in second:
        assert item.change is ItemChange.CORRECTION
        assert item.refers_to_item_id == item_id(original["envelope"]["event_id"], item.department, item.item)


def test_accepted_with_documents_missing_waits_for_the_supplement(processor):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["住所证明", "章程"])
    held = _decoded(processor.process(_record(event)))
    assert [type(m) for _, m in held] == [RoutingDecision]
    assert held[0][1].kind is DecisionKind.HELD and held[0][1].pending_documents == ["住所证明", "章程"]
    assert held[0][1].items  # the planned items are recorded, not sent

    partial = _decoded(processor.process(_record(_supplement(event, ["章程"]), 1)))
    assert [(m.kind, m.pending_documents) for _, m in partial] == [(DecisionKind.HELD, ["住所证明"])]
    released = _decoded(processor.process(_record(_supplement(event, ["住所证明"]), 2)))
    items = [m for _, m in released if isinstance(m, WorkItem)]
    assert [i.department.value for i in items] == ["TAX"]
    assert released[-1][1].kind is DecisionKind.RELEASED
    assert released[-1][1].case_id == event["envelope"]["case_id"]


@pytest.fixture
def router(processor):
    """The processor as ``hub worker`` builds it: it reads the event topics side by side."""
    processor._early_supplements = True
    return processor


def test_a_supplement_read_before_its_event_is_kept_and_applied_when_the_event_comes(router):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["住所证明", "章程"])
    assert router.process(_record(_supplement(event, ["章程"]), 5)) == []  # nothing lost, nothing sent
    assert router.process(_record(_supplement(event, ["住所证明"]), 6)) == []
    out = _decoded(router.process(_record(event, 3)))
    decisions = [m for _, m in out if isinstance(m, RoutingDecision)]
    # the same records as in order: held with what it lacked, then released with its items
    assert [(d.kind, d.pending_documents) for d in decisions] == [
        (DecisionKind.HELD, ["住所证明", "章程"]), (DecisionKind.HELD, ["住所证明"]), (DecisionKind.RELEASED, [])]
    assert [i.department.value for _, i in out if isinstance(i, WorkItem)] == ["TAX"]
    assert not router._held  # nothing left waiting


def test_an_early_supplement_short_of_documents_leaves_the_event_held(router):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["住所证明", "章程"])
    router.process(_record(_supplement(event, ["章程"]), 5))
    held = _decoded(router.process(_record(event, 3)))
    assert held[-1][1].kind is DecisionKind.HELD and held[-1][1].pending_documents == ["住所证明"]
    assert not any(isinstance(m, WorkItem) for _, m in held)
    released = _decoded(router.process(_record(_supplement(event, ["住所证明"]), 7)))
    assert released[-1][1].kind is DecisionKind.RELEASED


def test_an_early_supplement_for_an_event_that_waited_for_nothing_is_then_dead_lettered(router):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED)  # no documents pending
    router.process(_record(_supplement(event, ["章程"]), 8))
    out = _decoded(router.process(_record(event, 4)))
    assert [m.kind for _, m in out if isinstance(m, RoutingDecision)] == [DecisionKind.ROUTED]
    (letter,) = [m for _, m in out if isinstance(m, DeadLetter)]
    assert letter.source_offset == 8 and letter.source_topic == NAMES.events(
        CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED], Department.CIVIL_AFFAIRS)
    assert "was not waiting for documents" in letter.reason
    assert not router._held


def test_a_supplement_for_an_event_already_routed_is_a_dead_letter(router):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED)
    router.process(_record(event, 1))
    (out,) = router.process(_record(_supplement(event, ["章程"]), 2))
    assert "is waiting for documents" in pickle.loads(out.value).reason


@pytest.mark.parametrize("value", [b"\x00\x00\x00\x00\x07garbage", b"not even avro"])
def test_an_undecodable_record_becomes_a_dead_letter_naming_its_source(value):
    def explode(spec, data, topic):
        raise ValueError("cannot decode")

    processor = RouterProcessor(load_rules(), NAMES, explode, SPECS, pickle.dumps, pickle.dumps,
                                lambda m, t: pickle.dumps(m), {}, {}, clock=lambda: NOW)
    topic = NAMES.events(CATALOGUE[EventType.MARRIAGE_REGISTERED])
    (out,) = processor.process(SourceRecord(topic, 2, 41, b"k", value))
    letter = pickle.loads(out.value)
    assert out.topic == NAMES.dead_letters and isinstance(letter, DeadLetter)
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (topic, 2, 41)
    assert letter.reason == "cannot decode" and letter.stage == "router"
    # coordinates only: the record stays in its topic, the letter is keyed by its own id
    assert (letter.key, letter.value, out.key) == (None, None, letter.dead_letter_id.encode())


def test_a_supplement_for_nothing_held_is_a_dead_letter(processor):
    stray = sealed_record(EventType.DOCUMENTS_SUPPLEMENTED, seed=3)
    (out,) = processor.process(_record(stray, 9))
    letter = pickle.loads(out.value)
    assert "is waiting for documents" in letter.reason and letter.source_offset == 9


def test_an_unreachable_registry_is_retried_not_dead_lettered():
    from confluent_kafka.serialization import SerializationError

    from hub.kafka.failures import REGISTRY_TRANSPORT_ERRORS

    transport_error = REGISTRY_TRANSPORT_ERRORS[0]

    def registry_down(spec, data, topic):
        try:
            raise transport_error("registry did not answer")
        except transport_error as exc:
            raise SerializationError("could not fetch the writer schema") from exc

    processor = RouterProcessor(load_rules(), NAMES, registry_down, SPECS, pickle.dumps, pickle.dumps,
                                lambda m, t: pickle.dumps(m), {}, {}, clock=lambda: NOW)
    topic = NAMES.events(CATALOGUE[EventType.MARRIAGE_REGISTERED])
    with pytest.raises(SerializationError):
        processor.process(SourceRecord(topic, 0, 5, b"k", b"\x00\x00\x00\x00\x01"))


def test_early_supplements_beyond_what_releases_the_event_are_dead_lettered_not_the_event(router):
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    router.process(_record(_supplement(event, ["章程"]), 5))
    router.process(_record(_supplement(event, ["章程"]), 6))  # a second copy, also early
    out = _decoded(router.process(_record(event, 3)))
    decisions = [m.kind for _, m in out if isinstance(m, RoutingDecision)]
    assert decisions == [DecisionKind.HELD, DecisionKind.RELEASED]  # the event itself goes on
    assert [i.department.value for _, i in out if isinstance(i, WorkItem)] == ["TAX"]
    (letter,) = [m for _, m in out if isinstance(m, DeadLetter)]
    assert letter.source_offset == 6 and "already released" in letter.reason
    assert not router._held


def _transient_failure():
    """What a serializer raises when the registry does not answer (a transport error inside)."""
    from confluent_kafka.serialization import SerializationError

    from hub.kafka.failures import REGISTRY_TRANSPORT_ERRORS

    try:
        raise REGISTRY_TRANSPORT_ERRORS[0]("registry did not answer")
    except REGISTRY_TRANSPORT_ERRORS[0] as exc:
        try:
            raise SerializationError("could not fetch the schema id") from exc
        except SerializationError as wrapped:
            return wrapped


@pytest.mark.parametrize("early", [False, True], ids=["supplement-after-event", "supplement-before-event"])
def test_a_release_survives_an_item_that_fails_to_encode_once(early):
    """Issue 12: the held entry was deleted and ``routed`` written before the items were
    encoded; a transient failure then made the retry dead-letter the supplement and lose the
    event's items. Now the tables change only when every output is built."""
    failures = [_transient_failure()]

    def encode_item(model, topic):
        if failures:
            raise failures.pop()
        return pickle.dumps(model)

    routed, held = {}, {}
    processor = RouterProcessor(load_rules(), NAMES, lambda spec, data, topic: pickle.loads(data), SPECS,
                                encode_item, lambda m, t: pickle.dumps(m), lambda m, t: pickle.dumps(m), routed, held,
                                clock=lambda: NOW, early_supplements=early)
    event = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    first, second = (_record(_supplement(event, ["章程"]), 5), _record(event, 3)) if early else \
        (_record(event, 3), _record(_supplement(event, ["章程"]), 5))
    processor.process(first)
    before = (dict(routed), dict(held))
    with pytest.raises(Exception) as failed:
        processor.process(second)
    assert failed.value is not None and (dict(routed), dict(held)) == before  # nothing changed
    out = _decoded(processor.process(second))  # the retry
    assert not any(isinstance(m, DeadLetter) for _, m in out)
    assert [i.department.value for _, i in out if isinstance(i, WorkItem)] == ["TAX"]
    assert out[-1][1].kind is DecisionKind.RELEASED and not held


def test_a_parked_record_changes_no_table(processor):
    """A refusal dead-letters the record and leaves no trace in the router's memory."""
    event = _event(EventType.MARRIAGE_REGISTERED)
    processor.process(_record(event))
    reused = _event(EventType.MARRIAGE_REGISTERED, seed=2, event_id=event["envelope"]["event_id"])
    before = (dict(processor._routed.base), dict(processor._cases.base))
    (out,) = processor.process(_record(reused, 1))
    assert isinstance(pickle.loads(out.value), DeadLetter)
    assert (dict(processor._routed.base), dict(processor._cases.base)) == before


def test_an_early_supplement_whose_event_never_comes_expires_into_the_dead_letters():
    """Issue 12: such a supplement was kept, raw bytes and all, for ever."""
    clock = [NOW]
    held: dict = {}
    router = RouterProcessor(load_rules(), NAMES, lambda spec, data, topic: pickle.loads(data), SPECS,
                             lambda m, t: pickle.dumps(m), lambda m, t: pickle.dumps(m),
                             lambda m, t: pickle.dumps(m), {}, held, clock=lambda: clock[0],
                             early_supplements=True)
    waiting = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, pending_documents=["章程"])
    never = _event(EventType.SOCIAL_ORGANISATION_REGISTERED, seed=2, pending_documents=["章程"])
    assert router.process(_record(_supplement(never, ["章程"]), 5)) == []
    clock[0] = NOW.replace(hour=NOW.hour + 2)
    assert router.process(_record(_supplement(waiting, ["章程"]), 6)) == []
    clock[0] = NOW.replace(hour=NOW.hour + 2, minute=30)
    assert router.expire_early(ttl_s=3600, partition=1).outputs == []  # both were read from partition 0
    prepared = router.expire_early(ttl_s=3600, partition=0)
    assert len(held) == 2  # nothing changes before the dead letters are written
    (letter,) = [pickle.loads(o.value) for o in prepared.outputs]
    assert letter.source_offset == 5 and "did not come within 3600s" in letter.reason
    prepared.commit()
    assert list(held) == [waiting["envelope"]["event_id"]]  # the younger one is still kept
    out = _decoded(router.process(_record(waiting, 3)))
    assert out[-1][1].kind is DecisionKind.RELEASED
