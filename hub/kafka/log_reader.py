"""Read Kafka topics up to their current end, without joining a consumer group."""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition


def drain(consumer: KafkaConsumer, poll_ms: int = 500) -> Iterator:
    """Every record of the consumer's assigned partitions from its position to today's end."""
    end = consumer.end_offsets(list(consumer.assignment()))
    while any(consumer.position(tp) < off for tp, off in end.items()):
        for records in consumer.poll(timeout_ms=poll_ms).values():
            yield from records


def assign_from_start(consumer: KafkaConsumer, topics: list[str]) -> None:
    """Assign every partition of ``topics`` and rewind them to the beginning."""
    partitions = [TopicPartition(t, p) for t in topics
                  for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)


def read_from_start(bootstrap_servers: str, topics: list[str]) -> Iterator:
    """Every record written so far to ``topics`` (a one-off read; nothing is committed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    try:
        assign_from_start(consumer, topics)
        yield from drain(consumer)
    finally:
        consumer.close()
