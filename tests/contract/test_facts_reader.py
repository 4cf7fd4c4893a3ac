"""FactsReader contract: a subject's current facts, from every registration event topic.

Runs against :class:`hub.memory.InMemoryFacts` and :class:`hub.projections.facts.FactsProjection`
(SQLite, reading the event topics through the registry: in memory, and on the stack).
"""

from __future__ import annotations

import pytest

from hub.domain.envelope import EventType
from hub.domain.facts import FactKind, current, derive_facts
from hub.domain.ports import FactsReader
from hub.errors import Unavailable
from hub.memory import InMemoryFacts
from hub.projections.facts import FactsProjection
from tests.contract.harness import IN_MEMORY, KINDS, REAL
from tests.builders import change_of, event_of, held_marriage, supplement


@pytest.fixture(params=KINDS)
def facts(request, reader_feed):
    return reader_feed(request.param, InMemoryFacts, FactsProjection)


def event_ids(reader, subject: str) -> list[str]:
    return [f.event_id for f in reader.facts_for(subject)]


def test_it_is_a_facts_reader(facts):
    assert isinstance(facts.reader, FactsReader)


def test_nothing_is_known_until_caught_up(facts):
    marriage = event_of(EventType.MARRIAGE_REGISTERED, 11)
    spouse = marriage["payload"]["spouse_a"]["id_number"]
    facts.add(marriage)
    assert facts.reader.facts_for(spouse) == []
    assert facts.reader.catch_up() == 1 and facts.reader.catch_up() == 0
    assert event_ids(facts.reader, spouse) == [marriage["envelope"]["event_id"]]


@pytest.mark.parametrize("event_type", [EventType.MARRIAGE_REGISTERED, EventType.ENTERPRISE_REGISTERED,
                                        EventType.BIRTH_CERTIFIED])
def test_every_subject_gets_the_facts_its_event_states(facts, event_type):
    event = event_of(event_type, 3)
    facts.added(event)
    for subject in event["envelope"]["subject_ids"]:
        assert facts.reader.facts_for(subject) == current(
            [f for f in derive_facts(event) if f.subject_id == subject])
    assert facts.reader.facts_for("nobody") == []


def test_a_correction_replaces_the_facts_and_can_move_them_to_another_subject(facts):
    original = event_of(EventType.MARRIAGE_REGISTERED, 7)
    other = event_of(EventType.MARRIAGE_REGISTERED, 8)["payload"]["spouse_b"]
    corrected = change_of(original, "CORRECTION", spouse_b=other, registration_office="西湖区婚姻登记处")
    facts.added(original)
    facts.added(corrected)
    [fact] = facts.reader.facts_for(original["payload"]["spouse_a"]["id_number"])
    assert (fact.event_id, fact.fact) == (corrected["envelope"]["event_id"], FactKind.MARITAL_STATUS)
    assert fact.values["payload.registration_office"] == "西湖区婚姻登记处"
    assert facts.reader.facts_for(original["payload"]["spouse_b"]["id_number"]) == []
    assert event_ids(facts.reader, other["id_number"]) == [corrected["envelope"]["event_id"]]


def test_an_annulment_withdraws_the_whole_chain_of_corrections(facts):
    original = event_of(EventType.RETIREMENT_APPROVED, 2)
    subject = original["payload"]["person"]["id_number"]
    first = change_of(original, "CORRECTION", insured_region="330106")
    second = change_of(first, "CORRECTION", insured_region="330109")
    for event in (original, first, second):
        facts.added(event)
    [fact] = facts.reader.facts_for(subject)
    assert fact.values["payload.insured_region"] == "330109"
    facts.added(change_of(second, "ANNULMENT"))
    assert facts.reader.facts_for(subject) == []


def test_a_held_event_states_nothing_until_every_document_is_supplemented(facts):
    held, subject = held_marriage(9, ["户口簿", "身份证复印件"])
    facts.added(held)
    facts.added(supplement(held, subject, "户口簿"))
    assert facts.reader.facts_for(subject) == []
    facts.added(supplement(held, subject, "身份证复印件"))
    assert event_ids(facts.reader, subject) == [held["envelope"]["event_id"]]


def test_documents_supplemented_before_their_event_count_when_it_comes(facts):
    held, subject = held_marriage(10, ["户口簿", "身份证复印件"])
    facts.added(supplement(held, subject, "户口簿"))
    facts.added(held)
    assert facts.reader.facts_for(subject) == []  # still waiting for the second document
    facts.added(supplement(held, subject, "身份证复印件"))
    assert event_ids(facts.reader, subject) == [held["envelope"]["event_id"]]


def test_a_supplement_of_an_event_that_was_not_held_changes_nothing(facts):
    marriage = event_of(EventType.MARRIAGE_REGISTERED, 12)
    spouse = marriage["payload"]["spouse_a"]["id_number"]
    facts.added(marriage)
    before = facts.reader.facts_for(spouse)
    facts.added(supplement(marriage, spouse, "户口簿"))
    assert facts.reader.facts_for(spouse) == before != []


def test_a_log_that_cannot_be_read_is_unavailable(facts):
    facts.cut_off()
    with pytest.raises(Unavailable):
        facts.reader.catch_up()


def test_the_projection_and_the_in_memory_reader_agree(reader_feed):
    enterprise = event_of(EventType.ENTERPRISE_REGISTERED, 1)
    rep = enterprise["payload"]["legal_representative"]
    organisation = event_of(EventType.SOCIAL_ORGANISATION_REGISTERED, 2, legal_representative=rep)
    held, spouse = held_marriage(13, ["户口簿"])
    events = [enterprise, organisation, change_of(organisation, "CORRECTION", organisation_name="更正协会"),
              held, supplement(held, spouse, "户口簿"), event_of(EventType.DEATH_CERTIFIED, 4)]
    subjects = sorted({s for e in events for s in e["envelope"]["subject_ids"]})
    answers = []
    for kind in (IN_MEMORY, REAL):
        feed = reader_feed(kind, InMemoryFacts, FactsProjection)
        for event in events:
            feed.added(event)
        answers.append({s: feed.reader.facts_for(s) for s in subjects})
    assert answers[0] == answers[1] and all(answers[0].values())
