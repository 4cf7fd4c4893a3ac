"""Topic administration at the Kafka edge: the hub creates its topics explicitly.

The development broker runs with ``auto.create.topics.enable=false`` as production should, so a
typo in a topic name fails loudly instead of creating a stray topic.
"""

from __future__ import annotations

from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from hub.kafka.clients import Clients
from hub.kafka.log_reader import partitions_of
from hub.kafka.topic_names import TopicNames


# The log is the system of record: replay, rebuild and audit verification need every record
# ever written, so the hub's topics never expire records by age (retention is a decision for
# the operator, per topic, not a broker default).
KEEP_FOREVER = {"retention.ms": "-1"}


def topic_configs(replication: int) -> dict[str, str]:
    """A hub topic's configuration: kept forever; with three replicas or more, a write is
    acknowledged (acks=all) only once two replicas hold it, whatever the broker's default."""
    if replication >= 3:
        return {**KEEP_FOREVER, "min.insync.replicas": "2"}
    return dict(KEEP_FOREVER)


def hub_topics(prefix: str) -> list[str]:
    """Every topic of a hub: event topics, inboxes and logs, the audit trail."""
    names = TopicNames(prefix)
    return names.all_events() + names.internal() + names.audit_topics()


def ensure_topics(clients: Clients, topics: list[str]) -> list[str]:
    """Create any of ``topics`` that do not exist; return the ones created."""
    settings = clients.settings
    with clients.administering() as admin:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        for topic in missing:
            try:
                admin.create_topics([
                    NewTopic(topic, settings.topic_partitions, settings.topic_replication,
                             topic_configs=topic_configs(settings.topic_replication))
                ])
            except TopicAlreadyExistsError:  # created concurrently by another process
                pass
        return missing


def end_offsets(clients: Clients, topics: list[str]) -> dict[tuple[str, int], int]:
    """High-water mark of every partition of ``topics`` — what has been written so far."""
    with clients.reading() as consumer:
        partitions = partitions_of(consumer, topics)
        return {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(partitions).items()}
