"""Operator tools for the dead-letter topic: list what was parked, and redrive it.

Redriving re-produces the parked record's original key and value to its source topic, with a
header naming the dead letter. Downstream identity (deterministic item ids, idempotent
agencies) makes a redrive of something that meanwhile succeeded harmless.
"""

from __future__ import annotations

from collections.abc import Iterator

from hub.config import HubSettings
from hub.domain.dead_letters import DeadLetter
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.client import registry_client
from hub.wire.serde import model_deserializer
from producers.publisher import kafka_producer

REDRIVEN_HEADER = "oncehub.redriven_from"


def dead_letters(settings: HubSettings) -> Iterator[DeadLetter]:
    """Every dead letter parked so far, oldest first per partition."""
    topic = TopicNames(settings.topic_prefix).dead_letters
    decode = model_deserializer(registry_client(settings), "DeadLetter", DeadLetter)
    for record in read_from_start(settings.bootstrap_servers, [topic]):
        yield decode(record.value, topic)


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
