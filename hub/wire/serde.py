"""Confluent wire-format (de)serializers for hub events, built on confluent-kafka's own.

The framing (magic byte, schema id) and the registry lookups are confluent-kafka's; the hub only
supplies the schema and the record conversion. Serializers are plain callables, usable beside
any Kafka client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

# <topic>-value, stated explicitly: the client's default first asks the registry for topic
# associations (an extra request per lookup, which Apicurio answers 404).
from confluent_kafka.schema_registry import topic_subject_name_strategy  # noqa: E402

from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.domain.envelope import Event
from hub.domain.personal_data import erased_view
from hub.wire.codec import event_to_record, record_to_event
from hub.wire.schemas import event_schema_json, named_schema_json


Record = dict[str, Any]


def event_serializer(client: SchemaRegistryClient, spec: EventSpec,
                     protect: Callable[[Record], Record] | None = None):
    """``serialize(event, topic) -> bytes`` in the Confluent wire format.

    The schema must already be registered (``hub schemas register``, by the operator, checks
    evolution first): no serializer ever registers one — departments and services hold read-only
    registry accounts — it only looks the id up, once, and caches it. ``protect``: what the
    record goes through before it is written (the publisher encrypts people's fields there).
    """
    to_record = event_to_record if protect is None else (lambda event: protect(event_to_record(event)))
    inner = AvroSerializer(
        client,
        event_schema_json(spec),
        to_dict=lambda event, _ctx: to_record(event),
        conf={"auto.register.schemas": False, "normalize.schemas": False,
              "subject.name.strategy": topic_subject_name_strategy},
    )

    def serialize(event: Event, topic: str) -> bytes:
        return inner(event, SerializationContext(topic, MessageField.VALUE))

    return serialize


def event_deserializer(client: SchemaRegistryClient, spec: EventSpec,
                       reveal: Callable[[Record], Record] | None = None):
    """``deserialize(bytes, topic) -> Event``, reading with the local schema as reader schema.

    Old events written with an earlier version resolve to the current schema (Avro schema
    resolution), so consumers see one shape. ``reveal``: what the decoded record goes through
    before it is validated (the hub's readers open people's fields there).
    """
    from_record = (lambda record: record_to_event(spec, record)) if reveal is None else \
        (lambda record: record_to_event(spec, reveal(record)))
    inner = AvroDeserializer(
        client,
        event_schema_json(spec),
        from_dict=lambda record, _ctx: from_record(record),
    )

    def deserialize(data: bytes, topic: str) -> Event:
        return inner(data, SerializationContext(topic, MessageField.VALUE))

    return deserialize


def event_decoders(client: SchemaRegistryClient, reveal: Callable[[Record], Record] | None = None):
    """A deserializer per event type (``EventType → deserialize(bytes, topic)``), each opening
    people's fields with ``reveal`` (a :class:`~hub.kafka.key_feed.KeyFeed`'s)."""
    return {spec.event_type: event_deserializer(client, spec, reveal) for spec in CATALOGUE.values()}


def event_view_decoders(client: SchemaRegistryClient,
                        open_fields: Callable[[Record], tuple[Record, list[str]]]):
    """A decoder per event type for the hub's views (replay, facts, rebuilds):
    ``decode(bytes, topic) -> record`` (``{"envelope": …, "payload": …}``, as ``event_to_record``
    gives it), people's fields opened by ``open_fields`` (a ``KeyFeed``'s ``open``). The fields of
    a person who was erased read ``"erased"``; such a record is not validated again (its fields
    are gone: it was valid when published), every other one is."""
    def decoder(spec: EventSpec):
        def from_record(record: Record) -> Record:
            opened, erased = open_fields(record)
            if not erased:
                return event_to_record(record_to_event(spec, opened))
            return erased_view(opened, erased)

        inner = AvroDeserializer(client, event_schema_json(spec), from_dict=lambda record, _ctx: from_record(record))
        return lambda data, topic: inner(data, SerializationContext(topic, MessageField.VALUE))

    return {spec.event_type: decoder(spec) for spec in CATALOGUE.values()}


def model_serializer(client: SchemaRegistryClient, schema_name: str):
    """``serialize(model, topic) -> bytes`` for one of the hub's own records (WorkItem, …).

    Like events, these schemas are registered by provisioning (after the evolution check),
    never implicitly by a producer.
    """
    return record_serializer(client, schema_name, lambda model: model.model_dump(mode="python"))


def record_serializer(client: SchemaRegistryClient, schema_name: str, to_dict: Callable[[Any], Record]):
    """``serialize(value, topic) -> bytes`` for one of the hub's records built by ``to_dict``
    (a person's key: ``KeyRecord.as_avro``)."""
    inner = AvroSerializer(
        client, named_schema_json(schema_name), to_dict=lambda value, _ctx: to_dict(value),
        conf={"auto.register.schemas": False, "normalize.schemas": False,
              "subject.name.strategy": topic_subject_name_strategy},
    )
    return lambda value, topic: inner(value, SerializationContext(topic, MessageField.VALUE))


def record_deserializer(client: SchemaRegistryClient, schema_name: str, from_dict: Callable[[Record], Any]):
    """``deserialize(bytes, topic) -> value``, the inverse of :func:`record_serializer`."""
    inner = AvroDeserializer(client, named_schema_json(schema_name),
                             from_dict=lambda record, _ctx: from_dict(record))
    return lambda data, topic: inner(data, SerializationContext(topic, MessageField.VALUE))


def model_deserializer(client: SchemaRegistryClient, schema_name: str, model_cls):
    """``deserialize(bytes, topic) -> model``, resolving older writer schemas to the current one."""
    return record_deserializer(client, schema_name, model_cls.model_validate)
