"""Retention by topic class: bounded where personal fields travel, forever where proof is kept."""

from __future__ import annotations

import pytest

from hub.config import HubSettings
from hub.domain.retention import DAY_MS, RetentionPolicy, TopicClass
from hub.errors import ConfigurationError
from hub.kafka.admin import retention_of, retention_policy, topic_configs
from hub.kafka.topic_names import TopicNames
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType


def test_inboxes_and_dead_letters_are_bounded_events_routing_and_audit_are_not():
    policy = RetentionPolicy()
    assert policy.of(TopicClass.INBOX).retention_ms == str(30 * DAY_MS)
    assert policy.of(TopicClass.DEAD_LETTERS).days == 30
    for kind in (TopicClass.EVENTS, TopicClass.ROUTING_LOG, TopicClass.OUTCOMES, TopicClass.AUDIT):
        assert policy.of(kind).retention_ms == "-1" and policy.of(kind).basis


def test_an_event_type_can_be_limited_on_its_own():
    policy = RetentionPolicy(event_days={"death_certified": 3650})
    assert policy.of(TopicClass.EVENTS, "death_certified").days == 3650
    assert policy.of(TopicClass.EVENTS, "marriage_registered").days is None


@pytest.mark.parametrize("field,value", [("inbox_days", 0), ("dead_letter_days", -1)])
def test_a_retention_below_a_day_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"{field}: must be a whole number of days"):
        RetentionPolicy(**{field: value})


def test_every_hub_topic_gets_its_classes_retention_from_the_settings(tmp_path):
    settings = HubSettings(topic_prefix="p", inbox_retention_days=7, state_dir=tmp_path,
                           event_retention_days={"death_certified": 3650})
    names = TopicNames("p")
    assert retention_of(settings, names.inbox(Department.TAX)).days == 7
    assert retention_of(settings, names.dead_letters_of(Department.TAX)).days == 30
    assert retention_of(settings, names.events(CATALOGUE[EventType.DEATH_CERTIFIED])).days == 3650
    assert retention_of(settings, names.audit).days is None
    assert retention_of(settings, "p-router-some-changelog") is None  # not the hub's to set
    assert topic_configs(3, retention_of(settings, names.inbox(Department.TAX))) == {
        "retention.ms": str(7 * DAY_MS), "min.insync.replicas": "2"}


def test_an_unknown_event_type_in_the_settings_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown event type.*wedding_registered"):
        retention_policy(HubSettings(event_retention_days={"wedding_registered": 10}, state_dir=tmp_path))


def test_keys_are_compacted_with_bounded_tombstones_and_intakes_keep_a_day(tmp_path):
    """An erased key must be gone from Kafka in bounded time, not when the cleaner gets round."""
    settings, names = HubSettings(topic_prefix="p", state_dir=tmp_path), TopicNames("p")
    assert retention_of(settings, names.key_intake(Department.CIVIL_AFFAIRS)).days == 1
    kept = retention_of(settings, names.subject_keys)
    assert kept.days is None and kept.compacted and str(kept) == "no time limit, compacted"
    configs = topic_configs(1, kept)
    assert configs["cleanup.policy"] == "compact" and configs["max.compaction.lag.ms"] == str(DAY_MS)
    intake = topic_configs(1, retention_of(settings, names.key_intake(Department.TAX)))
    # An intake's copy of a key is gone (a day, plus a segment) before its tombstone is.
    assert DAY_MS + int(intake["segment.ms"]) < int(configs["delete.retention.ms"])
    assert "cleanup.policy" not in intake
