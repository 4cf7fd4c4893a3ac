"""Topic administration at the Kafka edge: the hub creates its topics explicitly.

The development broker runs with ``auto.create.topics.enable=false`` as production should, so a
typo in a topic name fails loudly instead of creating a stray topic.
"""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE


# The log is the system of record: replay, rebuild and audit verification need every record
# ever written, so the hub's topics never expire records by age (retention is a decision for
# the operator, per topic, not a broker default).
KEEP_FOREVER = {"retention.ms": "-1"}


def event_topics(settings: HubSettings) -> list[str]:
    return [spec.topic(settings.topic_prefix) for spec in CATALOGUE.values()]


def ensure_topics(settings: HubSettings, topics: list[str]) -> list[str]:
    """Create any of ``topics`` that do not exist; return the ones created."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="oncehub-admin")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        for topic in missing:
            try:
                admin.create_topics([
                    NewTopic(topic, settings.topic_partitions, settings.topic_replication,
                             topic_configs=KEEP_FOREVER)
                ])
            except TopicAlreadyExistsError:  # created concurrently by another process
                pass
        return missing
    finally:
        admin.close()


def end_offsets(settings: HubSettings, topics: list[str]) -> dict[tuple[str, int], int]:
    """High-water mark of every partition of ``topics`` — what has been written so far."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        return {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
