"""Confluent wire-format (de)serializers for hub events.

Writing is confluent-kafka's ``AvroSerializer`` (framing, schema-id lookup); reading is
:class:`WireReader` (the same framing and Avro resolution, without confluent's per-call rule
machinery); the hub supplies the schemas and the record conversion. Serializers are plain callables, usable beside
any Kafka client.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import fastavro

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

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


class WireReader:
    """Read the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) into a record,
    resolving the writer's schema (fetched by id once, then cached) to ``reader_schema``.

    confluent-kafka's ``AvroDeserializer`` does the same and, on every call, also walks the
    reader schema for data-contract tags and rules the hub does not use: about 100 µs of the
    router's ~200 µs decode of an event (BENCHMARKS.md, "Router CPU"). This is the same framing
    and the same Avro resolution (fastavro's), without that walk.
    """

    def __init__(self, client: SchemaRegistryClient, reader_schema_json: str):
        self._client = client
        self._reader_json = json.loads(reader_schema_json)
        self._reader = fastavro.parse_schema(json.loads(reader_schema_json))
        self._writers: dict[int, tuple[Any, Any]] = {}  # schema id → (writer, reader or None)

    def __call__(self, data: bytes, topic: str) -> Record:
        if data is None or len(data) < 5 or data[0] != 0:
            raise SerializationError(f"a record on {topic} is not in the Confluent wire format "
                                     "(magic byte 0 and a schema id)")
        writer, reader = self._schemas(int.from_bytes(data[1:5], "big"))
        try:
            return fastavro.schemaless_reader(io.BytesIO(data[5:]), writer, reader)
        except Exception as exc:  # noqa: BLE001 - any Avro decoding failure is the record's
            raise SerializationError(f"a record on {topic} does not decode with its schema: "
                                     f"{type(exc).__name__}") from exc

    def _schemas(self, schema_id: int) -> tuple[Any, Any]:
        known = self._writers.get(schema_id)
        if known is None:
            registered = self._client.get_schema(schema_id)  # the client caches it by id as well
            if registered.references:
                raise SerializationError(f"schema {schema_id} has references; the hub's are self-contained")
            written = json.loads(registered.schema_str)
            # Written with the reader's own schema (the usual case): no resolution needed.
            same = written == self._reader_json
            known = (self._reader, None) if same else (fastavro.parse_schema(written), self._reader)
            self._writers[schema_id] = known
        return known


def event_deserializer(client: SchemaRegistryClient, spec: EventSpec,
                       reveal: Callable[[Record], Record] | None = None):
    """``deserialize(bytes, topic) -> Event``, reading with the local schema as reader schema.

    Old events written with an earlier version resolve to the current schema (Avro schema
    resolution), so consumers see one shape. ``reveal``: what the decoded record goes through
    before it is validated (the hub's readers open people's fields there).
    """
    read = WireReader(client, event_schema_json(spec))
    if reveal is None:
        return lambda data, topic: record_to_event(spec, read(data, topic))
    return lambda data, topic: record_to_event(spec, reveal(read(data, topic)))


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

        read = WireReader(client, event_schema_json(spec))
        return lambda data, topic: from_record(read(data, topic))

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
    read = WireReader(client, named_schema_json(schema_name))
    return lambda data, topic: from_dict(read(data, topic))


def model_deserializer(client: SchemaRegistryClient, schema_name: str, model_cls):
    """``deserialize(bytes, topic) -> model``, resolving older writer schemas to the current one."""
    return record_deserializer(client, schema_name, model_cls.model_validate)
