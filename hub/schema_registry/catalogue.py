"""Check and register the event catalogue's schemas, evolution first (FULL_TRANSITIVE).

Subjects follow the TopicNameStrategy, ``<topic>-value``: an event type published by several
departments has a topic per publisher (one writer per topic), so its schema is checked and
registered under each of their subjects, and reported as one status naming them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.errors import SchemaIncompatible
from hub.kafka.topic_names import TopicNames
from hub.schema_registry import compatibility as compat
from hub.schema_registry.subjects import value_subject
from hub.wire.schemas import event_schema, event_schema_json, named_schema, named_schema_json

SUBJECT_NOT_FOUND = 40401


@dataclass(frozen=True)
class SchemaStatus:
    """The outcome of checking or registering one event type's schema."""

    event_type: str
    subject: str  # several, comma-separated, for a type with a topic per publisher
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
        self._names = TopicNames(topic_prefix)

    def subjects(self, spec: EventSpec) -> list[str]:
        """Every subject of ``spec``'s topics (one per publisher for a shared type)."""
        return [value_subject(t) for t in self._names.topics_of(spec)]

    def subject(self, spec: EventSpec) -> str:
        """The subject(s) of ``spec``, as one label."""
        return ", ".join(self.subjects(spec))

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
        new = candidate if candidate is not None else event_schema(spec)
        subjects = self.subjects(spec)
        problems, registered = [], set()
        for subject in subjects:
            versions = self.registered(subject)
            registered.update(v for v, _ in versions)
            found = compat.transitive_incompatibilities(new, versions)
            problems += [f"{subject}: {p}" for p in found] if len(subjects) > 1 else found
        return SchemaStatus(spec.event_type.value, ", ".join(subjects), sorted(registered), problems)

    def register(self, spec: EventSpec, candidate: dict | None = None) -> SchemaStatus:
        """Check, then register; refuses with :class:`SchemaIncompatible` naming the fields."""
        status = self.check(spec, candidate)
        if not status.ok:
            raise SchemaIncompatible(status.subject, status.problems)
        text = json.dumps(candidate, ensure_ascii=False) if candidate else event_schema_json(spec)
        for subject in self.subjects(spec):
            schema_id = self._client.register_schema(subject, Schema(text, "AVRO"))
            self._set_level(subject)
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
