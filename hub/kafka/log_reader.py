"""Read Kafka topics without joining a consumer group: up to their current end, from the start."""

from __future__ import annotations

import time
from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from hub.errors import TopicMissing
from hub.kafka.clients import Clients


def _partition_numbers(consumer: KafkaConsumer, topic: str, attempts: int = 5) -> list[int]:
    # kafka-python asks for every topic's metadata here, and a topic someone else is deleting at
    # that moment fails the whole answer (UnknownTopicOrPartitionError): ask again.
    for attempt in range(attempts):
        try:
            return sorted(consumer.partitions_for_topic(topic) or ())
        except UnknownTopicOrPartitionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return []


def partitions_of(consumer: KafkaConsumer, topics: list[str], needed_by: str = "") -> list[TopicPartition]:
    """Every partition of ``topics``; :class:`TopicMissing` names any topic that does not exist."""
    found = {t: _partition_numbers(consumer, t) for t in topics}
    missing = [t for t, numbers in found.items() if not numbers]
    if missing:
        raise TopicMissing(missing, needed_by)
    return [TopicPartition(t, p) for t, numbers in found.items() for p in numbers]


def assign_all(consumer: KafkaConsumer, topics: list[str], needed_by: str = "") -> list[TopicPartition]:
    """Assign every partition of ``topics`` to ``consumer`` (positions left as they are)."""
    partitions = partitions_of(consumer, topics, needed_by)
    consumer.assign(partitions)
    return partitions


def drain(consumer: KafkaConsumer, poll_ms: int = 500) -> Iterator:
    """Every record of the consumer's assigned partitions from its position to today's end."""
    end = consumer.end_offsets(list(consumer.assignment()))
    while any(consumer.position(tp) < off for tp, off in end.items()):
        for records in consumer.poll(timeout_ms=poll_ms).values():
            yield from records


def assign_from_start(consumer: KafkaConsumer, topics: list[str], needed_by: str = "") -> None:
    """Assign every partition of ``topics`` and rewind them to the beginning."""
    partitions = assign_all(consumer, topics, needed_by)
    consumer.seek_to_beginning(*partitions)


def read_from_start(clients: Clients, topics: list[str], needed_by: str = "") -> Iterator:
    """Every record written so far to ``topics`` (a one-off read; nothing is committed)."""
    with clients.reading() as consumer:
        assign_from_start(consumer, topics, needed_by)
        yield from drain(consumer)
