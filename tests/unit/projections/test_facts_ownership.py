"""The facts projection applies the router's ownership rules: a department cannot withdraw,
replace or release another department's facts, nor reuse an event id with other content."""

from __future__ import annotations

import logging

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.kafka.topic_names import TopicNames
from hub.projections.facts import FactsProjection
from hub.wire.codec import record_to_event
from hub.wire.serde import event_serializer
from tests.factories import change_record, sealed_record, submission, supplement_record

NAMES = TopicNames("unit")
CIVIL, MARKET, HEALTH = Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION, Department.HEALTH


@pytest.fixture
def facts(clients, tmp_path):
    projection = FactsProjection(clients, tmp_path / "facts.sqlite")
    yield projection
    projection.close()


def _publish(clients, record: dict, topic: str | None = None) -> None:
    """``record`` on its department's topic (or on ``topic``), as a publisher writes it."""
    env = record["envelope"]
    spec = CATALOGUE[EventType(env["event_type"])]
    topic = topic or NAMES.events(spec, Department(env["source_department"]))
    value = event_serializer(clients.registry, spec)(record_to_event(spec, record), topic)
    clients.shared_producer().send(topic, key=env["subject_ids"][0].encode(), value=value).get(timeout=5)


def _spouse(marriage: dict) -> str:
    return marriage["envelope"]["subject_ids"][0]


def _annulment_by(original: dict, event_type: EventType) -> dict:
    raw = {**submission(event_type), "refers_to": {"event_id": original["envelope"]["event_id"],
                                                   "change_kind": "ANNULMENT"}}
    return sealed_record(event_type, raw)


def test_market_supervision_cannot_annul_a_civil_affairs_marriage(clients, facts, caplog):
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED)
    _publish(clients, marriage)
    facts.catch_up()
    before = facts.facts_for(_spouse(marriage))
    assert [f.status for f in before] == ["MARRIED"]
    _publish(clients, _annulment_by(marriage, EventType.ENTERPRISE_REGISTERED))
    with caplog.at_level(logging.WARNING, logger="hub.projections.facts"):
        facts.catch_up()
    assert facts.facts_for(_spouse(marriage)) == before and facts.refused == 1
    assert any("not by MARKET_SUPERVISION" in r.getMessage() for r in caplog.records)
    _publish(clients, change_record(marriage, kind="ANNULMENT"))  # its own department may
    facts.catch_up()
    assert facts.facts_for(_spouse(marriage)) == [] and facts.refused == 1


def test_a_correction_about_another_subject_or_of_an_unknown_event_changes_nothing(clients, facts):
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED)
    _publish(clients, marriage)
    other = change_record(sealed_record(EventType.MARRIAGE_REGISTERED, seed=2), 2)
    other["envelope"]["refers_to"]["event_id"] = marriage["envelope"]["event_id"]
    _publish(clients, other)
    _publish(clients, change_record(sealed_record(EventType.MARRIAGE_REGISTERED, seed=3), 3))
    facts.catch_up()
    assert [f.event_id for f in facts.facts_for(_spouse(marriage))] == [marriage["envelope"]["event_id"]]
    assert facts.refused == 2 and facts.facts_for(_spouse(other)) == []


def test_an_event_on_a_topic_its_department_does_not_write_changes_nothing(clients, facts):
    forged = sealed_record(EventType.MARRIAGE_REGISTERED, department=MARKET)
    _publish(clients, forged, NAMES.events(CATALOGUE[EventType.MARRIAGE_REGISTERED]))
    facts.catch_up()
    assert facts.facts_for(_spouse(forged)) == [] and facts.refused == 1


def test_a_supplement_from_another_accepting_department_leaves_the_event_held(clients, facts):
    held = sealed_record(EventType.MARRIAGE_REGISTERED, pending_documents=["户口簿"])
    _publish(clients, held)
    _publish(clients, supplement_record(held, ["户口簿"], held["envelope"]["recorded_at"], department=HEALTH))
    facts.catch_up()
    assert facts.facts_for(_spouse(held)) == [] and facts.refused == 1
    _publish(clients, supplement_record(held, ["户口簿"], held["envelope"]["recorded_at"]))
    facts.catch_up()
    assert [f.status for f in facts.facts_for(_spouse(held))] == ["MARRIED"]


def test_only_the_events_own_department_supplements_ahead_of_it(clients, facts):
    held = sealed_record(EventType.MARRIAGE_REGISTERED, pending_documents=["户口簿"])
    at = held["envelope"]["recorded_at"]
    _publish(clients, supplement_record(held, ["户口簿"], at, department=HEALTH))  # read first
    facts.catch_up()
    _publish(clients, held)
    facts.catch_up()
    assert facts.facts_for(_spouse(held)) == []  # HEALTH's documents do not count
    _publish(clients, supplement_record(held, ["户口簿"], at, department=CIVIL))
    facts.catch_up()
    assert [f.status for f in facts.facts_for(_spouse(held))] == ["MARRIED"]


def test_an_event_id_reused_with_different_content_changes_nothing(clients, facts):
    marriage = sealed_record(EventType.MARRIAGE_REGISTERED)
    reuse = sealed_record(EventType.MARRIAGE_REGISTERED, seed=5)
    reuse["envelope"]["event_id"] = marriage["envelope"]["event_id"]
    _publish(clients, marriage)
    facts.catch_up()  # recorded first: the two subjects may land on different partitions
    _publish(clients, reuse)
    _publish(clients, marriage)  # the same event again: harmless
    facts.catch_up()
    assert facts.facts_for(_spouse(reuse)) == [] and facts.refused == 1
    assert [f.status for f in facts.facts_for(_spouse(marriage))] == ["MARRIED"]
