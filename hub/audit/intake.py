"""Post audit notes (replays, fact queries) for the auditor to chain.

Components other than the auditor never write the chain themselves: two writers could not agree
on a partition's previous hash. They post a note to the intake topic and wait for Kafka's ack,
so a replay or a query is not reported done before its audit note is durable.
"""

from __future__ import annotations

from hub.domain.audit_entries import ErasureNote, FactQueryNote, Note, ReadNote, RedriveNote
from hub.errors import NotAudited
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.topic_names import TopicNames


def note_key(note: Note) -> bytes:
    if isinstance(note, ReadNote):
        return note.token_id.encode()  # one token's reads stay in order, in one partition
    if isinstance(note, FactQueryNote | ErasureNote):
        return note.subject_ref.encode()
    if isinstance(note, RedriveNote):
        return note.redrive_id.encode()
    return note.replay_id.encode()


def encode_note(note: Note) -> bytes:
    return note.model_dump_json().encode()


def decode_note(value: bytes) -> Note:
    """Parse an intake record; pydantic's ValidationError names the field and the rule."""
    from pydantic import TypeAdapter

    return TypeAdapter(Note).validate_json(value)


class KafkaAuditIntake:
    """The audit-note sink on Kafka: ``post(note)`` is durable once it returns, and raises
    :class:`~hub.errors.NotAudited` (caused by the Kafka failure) when it is not."""

    def __init__(self, clients: Clients):
        self.settings = clients.settings
        self.topic = TopicNames(self.settings.topic_prefix).audit_intake
        self._clients = clients

    def post(self, note: Note) -> None:
        producer = None
        try:
            with unavailable_as_hub_error("the audit note could not be written"):
                producer = self._clients.shared_producer()  # a new one bootstraps: may fail
                producer.send(self.topic, key=note_key(note), value=encode_note(note)
                              ).get(timeout=self.settings.publish_timeout_s)
        except Exception as exc:
            if producer is not None:
                self._clients.discard_producer(producer)  # a fresh one for the next note
            raise NotAudited(f"audit note not written: {exc}") from exc

    def close(self) -> None:
        """Nothing of its own to close: the producer belongs to the clients."""
