"""Operator tools for the dead-letter topic: list what was parked, and redrive it.

Redriving re-produces the parked record's original key and value to its source topic, with a
header naming the dead letter. Downstream identity (deterministic item ids, idempotent
agencies) makes a redrive of something that meanwhile succeeded harmless.
"""

from __future__ import annotations

from hub.domain.dead_letters import DeadLetter
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import model_deserializer

REDRIVEN_HEADER = "oncehub.redriven_from"


def dead_letters(clients: Clients) -> list[DeadLetter]:
    """Every dead letter parked so far, oldest first per partition."""
    topic = TopicNames(clients.settings.topic_prefix).dead_letters
    decode = model_deserializer(clients.registry, "DeadLetter", DeadLetter)
    with unavailable_as_hub_error("the dead-letter topic cannot be read"):
        return [decode(record.value, topic)
                for record in read_from_start(clients, [topic], "dead letters")]


def redrive(clients: Clients, letters: list[DeadLetter]) -> int:
    """Re-produce each letter's original record to its source topic; returns how many."""
    producer = clients.shared_producer()
    with unavailable_as_hub_error("the dead letters could not be redriven"):
        futures = [
            producer.send(letter.source_topic, key=letter.key, value=letter.value,
                          headers=[(REDRIVEN_HEADER, letter.dead_letter_id.encode())])
            for letter in letters
        ]
        for future in futures:
            future.get(timeout=clients.settings.publish_timeout_s)
    return len(futures)
