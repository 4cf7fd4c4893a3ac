"""Operator tools for the dead-letter topic: list what was parked, and redrive it.

Redriving re-produces the parked record's original key and value to its source topic, with a
header naming the dead letter. Downstream identity (deterministic item ids, idempotent
agencies) makes a redrive of something that meanwhile succeeded harmless.
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition

from hub.config import HubSettings
from hub.domain.dead_letters import DeadLetter
from hub.naming import TopicNames
from hub.registry import registry_client
from hub.wire.serde import model_deserializer
from producers.publisher import kafka_producer

REDRIVEN_HEADER = "oncehub.redriven_from"


def dead_letters(settings: HubSettings) -> Iterator[DeadLetter]:
    """Every dead letter parked so far, oldest first per partition."""
    topic = TopicNames(settings.topic_prefix).dead_letters
    decode = model_deserializer(registry_client(settings), "DeadLetter", DeadLetter)
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        while any(consumer.position(tp) < off for tp, off in end.items()):
            for _tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    yield decode(record.value, topic)
    finally:
        consumer.close()


def redrive(settings: HubSettings, letters: list[DeadLetter]) -> int:
    """Re-produce each letter's original record to its source topic; returns how many."""
    producer = kafka_producer(settings)
    try:
        futures = [
            producer.send(letter.source_topic, key=letter.key, value=letter.value,
                          headers=[(REDRIVEN_HEADER, letter.dead_letter_id.encode())])
            for letter in letters
        ]
        for future in futures:
            future.get(timeout=settings.publish_timeout_s)
        return len(futures)
    finally:
        producer.close(timeout=5)
