"""Check and register the event catalogue's schemas, evolution first (FULL_TRANSITIVE)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.errors import SchemaIncompatible
from hub.schema_registry import compatibility as compat
from hub.schema_registry.subjects import value_subject
from hub.wire.schemas import event_schema, event_schema_json, named_schema, named_schema_json

SUBJECT_NOT_FOUND = 40401


@dataclass(frozen=True)
class SchemaStatus:
    """The outcome of checking or registering one event type's schema."""

    event_type: str
    subject: str
    registered_versions: list[int]
    problems: list[str]
    schema_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class SchemaCatalogueRegistry:
    """Checks and registers the event catalogue's schemas in a Confluent-compatible registry."""

    def __init__(self, client: SchemaRegistryClient, topic_prefix: str):
        self._client = client
        self._prefix = topic_prefix

    def subject(self, spec: EventSpec) -> str:
        return value_subject(spec.topic(self._prefix))

    def registered(self, subject: str) -> list[tuple[int, dict]]:
        """Every registered version of ``subject`` (empty if the subject is new)."""
        try:
            versions = self._client.get_versions(subject)
        except SchemaRegistryError as exc:
            if exc.error_code == SUBJECT_NOT_FOUND or exc.http_status_code == 404:
                return []
            raise
        return [
            (v, json.loads(self._client.get_version(subject, v).schema.schema_str))
            for v in versions
        ]

    def check(self, spec: EventSpec, candidate: dict | None = None) -> SchemaStatus:
        """Compare the local (or ``candidate``) schema with every registered version."""
        subject = self.subject(spec)
        versions = self.registered(subject)
        new = candidate if candidate is not None else event_schema(spec)
        problems = compat.transitive_incompatibilities(new, versions)
        return SchemaStatus(spec.event_type.value, subject, [v for v, _ in versions], problems)

    def register(self, spec: EventSpec, candidate: dict | None = None) -> SchemaStatus:
        """Check, then register; refuses with :class:`SchemaIncompatible` naming the fields."""
        status = self.check(spec, candidate)
        if not status.ok:
            raise SchemaIncompatible(status.subject, status.problems)
        text = json.dumps(candidate, ensure_ascii=False) if candidate else event_schema_json(spec)
        schema_id = self._client.register_schema(status.subject, Schema(text, "AVRO"))
        self._set_level(status.subject)
        return SchemaStatus(
            status.event_type, status.subject, status.registered_versions, [], schema_id
        )

    def _set_level(self, subject: str) -> None:
        # The registry enforces the same level too, so a client that bypasses `hub schemas`
        # still cannot register an incompatible version.
        self._client.set_compatibility(subject_name=subject, level=compat.LEVEL)

    def register_named(self, topic: str, schema_name: str) -> SchemaStatus:
        """Check and register one of the hub's own record schemas for ``topic``'s values."""
        subject = value_subject(topic)
        new = named_schema(schema_name)
        versions = self.registered(subject)
        problems = compat.transitive_incompatibilities(new, versions)
        if problems:
            raise SchemaIncompatible(subject, problems)
        schema_id = self._client.register_schema(subject, Schema(named_schema_json(schema_name), "AVRO"))
        self._set_level(subject)
        return SchemaStatus(schema_name, subject, [v for v, _ in versions], [], schema_id)

    def check_all(self) -> list[SchemaStatus]:
        return [self.check(spec) for spec in CATALOGUE.values()]

    def register_all(self) -> list[SchemaStatus]:
        return [self.register(spec) for spec in CATALOGUE.values()]
