"""Topic administration at the Kafka edge: the hub creates its topics explicitly.

The development broker runs with ``auto.create.topics.enable=false`` as production should, so a
typo in a topic name fails loudly instead of creating a stray topic. Each topic is created with
its class's retention (:mod:`hub.domain.retention`); ``apply_retention`` brings existing ones in
line when the settings change.
"""

from __future__ import annotations

from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.retention import (
    KEY_SEGMENT_MS, MAX_COMPACTION_LAG_MS, TOMBSTONE_RETENTION_MS, Retention, RetentionPolicy, TopicClass)
from hub.errors import ConfigurationError
from hub.kafka.clients import Clients
from hub.kafka.log_reader import partitions_of
from hub.kafka.topic_names import TopicNames


def retention_policy(settings: HubSettings) -> RetentionPolicy:
    """The settings' retention of each topic class; a bad value is a configuration error."""
    unknown = sorted(set(settings.event_retention_days) - {t.value for t in CATALOGUE})
    if unknown:
        raise ConfigurationError(f"HUB_EVENT_RETENTION_DAYS: unknown event type(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(t.value for t in CATALOGUE)}")
    try:
        return RetentionPolicy(settings.inbox_retention_days, settings.dead_letter_retention_days,
                               dict(settings.event_retention_days))
    except ValueError as exc:
        raise ConfigurationError(f"retention: {exc}") from None


def topic_class(names: TopicNames, topic: str) -> tuple[TopicClass, str | None] | None:
    """The class of one of the hub's topics (and its event type, for an event topic); None for a
    topic that is not the hub's (a test's scratch topic keeps the broker's default)."""
    spec = names.event_specs().get(topic)
    if spec is not None:
        return TopicClass.EVENTS, spec.event_type.value
    for kind, topics in ((TopicClass.INBOX, names.all_inboxes()),
                         (TopicClass.DEAD_LETTERS, names.all_dead_letters()),
                         (TopicClass.OUTCOMES, names.all_outcomes()),
                         (TopicClass.DEADLINES, [names.deadlines]),
                         (TopicClass.ROUTING_LOG, [names.routing_log]),
                         (TopicClass.AUDIT, names.audit_topics()),
                         (TopicClass.KEY_INTAKE, names.all_key_intakes()),
                         (TopicClass.SUBJECT_KEYS, [names.subject_keys])):
        if topic in topics:
            return kind, None
    return None


def topic_configs(replication: int, retention: Retention | None = None) -> dict[str, str]:
    """A hub topic's configuration: its class's retention (no time limit for a topic of no
    class); with three replicas or more, a write is acknowledged (acks=all) only once two
    replicas hold it, whatever the broker's default."""
    configs = {"retention.ms": retention.retention_ms if retention else "-1"}
    if retention is not None and retention.short_segments:
        configs["segment.ms"] = str(KEY_SEGMENT_MS)
    if retention is not None and retention.compacted:
        # A tombstone must take effect in bounded time: a dirty segment is compacted within
        # MAX_COMPACTION_LAG_MS, and the tombstone outlives the intakes' copies of the key.
        configs |= {"cleanup.policy": "compact", "max.compaction.lag.ms": str(MAX_COMPACTION_LAG_MS),
                    "delete.retention.ms": str(TOMBSTONE_RETENTION_MS)}
    if replication >= 3:
        configs["min.insync.replicas"] = "2"
    return configs


def retentions(settings: HubSettings, topics: list[str]) -> dict[str, Retention]:
    """The retention of each of ``topics`` that is one of the hub's (one policy, one naming)."""
    policy, names = retention_policy(settings), TopicNames(settings.topic_prefix)
    return {t: policy.of(*found) for t in topics if (found := topic_class(names, t)) is not None}


def retention_of(settings: HubSettings, topic: str) -> Retention | None:
    return retentions(settings, [topic]).get(topic)


def hub_topics(prefix: str) -> list[str]:
    """Every topic of a hub: event topics, inboxes and logs, the audit trail, people's keys."""
    names = TopicNames(prefix)
    return names.all_events() + names.internal() + names.audit_topics() + names.key_topics()


def ensure_topics(clients: Clients, topics: list[str]) -> list[str]:
    """Create any of ``topics`` that do not exist, each with its class's retention; return the
    ones created."""
    settings = clients.settings
    retention = retentions(settings, topics)  # a bad setting fails before anything is created
    with clients.administering() as admin:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        for topic in missing:
            configs = topic_configs(settings.topic_replication, retention.get(topic))
            try:
                admin.create_topics([
                    NewTopic(topic, settings.topic_partitions, settings.topic_replication,
                             topic_configs=configs)
                ])
            except TopicAlreadyExistsError:  # created concurrently by another process
                pass
        return missing


def apply_retention(clients: Clients, topics: list[str]) -> list[tuple[str, str, str]]:
    """Set each existing hub topic's ``retention.ms`` to its class's, where it differs (after
    the settings changed, or on topics made before retention by class); returns ``(topic, was,
    now)`` for each topic changed. Only that one key is altered (incrementally)."""
    settings = clients.settings
    wanted = {t: r.retention_ms for t, r in retentions(settings, topics).items()}
    changed: list[tuple[str, str, str]] = []
    if not wanted:
        return changed
    with clients.administering() as admin:
        existing = set(admin.list_topics())
        present = [t for t in wanted if t in existing]
        current: dict[str, str | None] = dict.fromkeys(present)  # None: the broker's default
        for start in range(0, len(present), 100):
            found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t, ["retention.ms"])
                                            for t in present[start:start + 100]])
            for name, configs in found.get("topic", {}).items():
                current[name] = (configs.get("retention.ms") or {}).get("value")
        to_alter = [t for t in present if current[t] != wanted[t]]
        if to_alter:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, {"retention.ms": wanted[t]})
                                 for t in to_alter], incremental=True)
            changed = [(t, current[t] or "?", wanted[t]) for t in sorted(to_alter)]
    return changed


def end_offsets(clients: Clients, topics: list[str]) -> dict[tuple[str, int], int]:
    """High-water mark of every partition of ``topics`` — what has been written so far."""
    with clients.reading() as consumer:
        partitions = partitions_of(consumer, topics)
        return {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(partitions).items()}
