"""Post audit notes (replays, fact queries) for the auditor to chain.

Components other than the auditor never write the chain themselves: two writers could not agree
on a partition's previous hash. They post a note to the intake topic and wait for Kafka's ack,
so a replay or a query is not reported done before its audit note is durable.
"""

from __future__ import annotations

from kafka import KafkaProducer

from hub.config import HubSettings
from hub.domain.audit_entries import FactQueryNote, Note, ReplayNote
from hub.kafka.topic_names import TopicNames
from producers.publisher import kafka_producer


def note_key(note: Note) -> bytes:
    return (note.subject_id if isinstance(note, FactQueryNote) else note.replay_id).encode()


def encode_note(note: Note) -> bytes:
    return note.model_dump_json().encode()


def decode_note(value: bytes) -> Note:
    """Parse an intake record; pydantic's ValidationError names the field and the rule."""
    from pydantic import TypeAdapter

    return TypeAdapter(ReplayNote | FactQueryNote).validate_json(value)


class AuditIntake:
    """``post(note)`` — durable once it returns."""

    def __init__(self, settings: HubSettings, producer: KafkaProducer | None = None):
        self.settings = settings
        self.topic = TopicNames(settings.topic_prefix).audit_intake
        self._producer = producer
        self._owns_producer = producer is None

    def post(self, note: Note) -> None:
        producer = self._producer or kafka_producer(self.settings)
        self._producer = producer
        producer.send(self.topic, key=note_key(note), value=encode_note(note)).get(
            timeout=self.settings.publish_timeout_s)

    def close(self) -> None:
        if self._producer is not None and self._owns_producer:
            self._producer.close(timeout=5)
        self._producer = None
