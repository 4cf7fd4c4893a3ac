"""Topic names: one writer per topic (per-publisher event topics, per-department outcome topics)."""

from __future__ import annotations

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.config import HubSettings
from hub.schema_registry.catalogue import SchemaCatalogueRegistry
from hub.schema_registry.provisioning import provision_catalogue

NAMES = TopicNames("zj")
SUPPLEMENTS = CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED]
MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]


def test_a_single_publisher_type_keeps_one_topic():
    assert NAMES.events(MARRIAGE) == "zj.events.marriage_registered"
    assert NAMES.events(MARRIAGE, Department.CIVIL_AFFAIRS) == "zj.events.marriage_registered"


def test_a_type_several_departments_publish_has_a_topic_per_publisher():
    assert NAMES.events(SUPPLEMENTS, Department.HEALTH) == "zj.events.documents_supplemented.health"
    assert NAMES.topics_of(SUPPLEMENTS) == [
        f"zj.events.documents_supplemented.{d.value.lower()}" for d in Department if d in SUPPLEMENTS.publishers]
    with pytest.raises(ValueError, match="one writer per topic"):
        NAMES.events(SUPPLEMENTS)


def test_a_department_that_does_not_publish_the_type_has_no_topic_for_it():
    with pytest.raises(ValueError, match="TAX does not publish"):
        NAMES.events(SUPPLEMENTS, Department.TAX)
    with pytest.raises(ValueError, match="HEALTH does not publish"):
        NAMES.events(MARRIAGE, Department.HEALTH)


def test_every_event_topic_has_exactly_one_writer():
    topics = NAMES.all_events()
    # the six registrations, and a topic per publisher of each follow-up (supplement, withdrawal)
    assert len(topics) == len(set(topics)) == 6 + 2 * len(SUPPLEMENTS.publishers)
    writers = {t: NAMES.writer_of(t) for t in topics}
    assert None not in writers.values()
    for department in Department:
        assert sorted(NAMES.event_topics_of(department)) == sorted(
            t for t, w in writers.items() if w is department)
    assert NAMES.writer_of("zj.events.marriage_registered") is Department.CIVIL_AFFAIRS
    assert NAMES.writer_of("zj.events.documents_supplemented.market_supervision") is Department.MARKET_SUPERVISION
    assert set(NAMES.event_specs()) == set(topics)


def test_outcomes_have_a_topic_per_department_and_the_hub_its_own_for_deadlines():
    assert NAMES.outcomes_of(Department.TAX) == "zj.outcomes.tax"
    assert NAMES.all_outcomes() == [f"zj.outcomes.{d.value.lower()}" for d in Department]
    assert all(NAMES.writer_of(NAMES.outcomes_of(d)) is d for d in Department)
    for hubs in (NAMES.deadlines, NAMES.routing_log, NAMES.dead_letters, NAMES.inbox(Department.TAX),
                 NAMES.audit, "zj.outcomes", "elsewhere.outcomes.tax"):
        assert NAMES.writer_of(hubs) is None


def test_internal_topics_include_every_outcome_topic_with_its_schema():
    internal = NAMES.internal()
    assert set(NAMES.all_outcomes()) | {NAMES.deadlines} <= set(internal)
    assert {NAMES.schema_of(t) for t in [*NAMES.all_outcomes(), NAMES.deadlines]} == {"Outcome"}
    assert all(NAMES.schema_of(t) for t in internal)


def test_provisioning_registers_a_subject_for_every_publisher_topic(tmp_path):
    clients = InMemoryClients(HubSettings(topic_prefix="zj", state_dir=tmp_path))
    provision_catalogue(clients)
    subjects = set(clients.registry.get_subjects())
    assert {f"{t}-value" for t in NAMES.all_events() + NAMES.internal()} <= subjects
    status = SchemaCatalogueRegistry(clients.registry, "zj").check(SUPPLEMENTS)
    assert status.ok and status.subject.count("-value") == len(SUPPLEMENTS.publishers)


def test_keys_have_an_intake_per_department_and_one_compacted_home():
    assert NAMES.key_intake(Department.HEALTH) == "zj.subject-keys.health"
    assert NAMES.writer_of("zj.subject-keys.health") is Department.HEALTH
    assert NAMES.subject_keys == "zj.subject-keys" and NAMES.writer_of(NAMES.subject_keys) is None  # the router's
    assert {NAMES.schema_of(t) for t in [NAMES.subject_keys, *NAMES.all_key_intakes()]} == {"SubjectKey"}
