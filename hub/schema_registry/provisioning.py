"""Make a Kafka cluster and registry ready for the catalogue: topics created, schemas registered.

Idempotent: re-running creates nothing new and re-registers identical schemas under the same
ids. Used by ``make demo``, the tests (on fresh topic prefixes) and the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.config import HubSettings
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.client import SchemaCatalogueRegistry, SchemaStatus, registry_client
from hub.kafka.admin import ensure_topics, event_topics


@dataclass(frozen=True)
class Provisioned:
    topics: list[str]
    created_topics: list[str]
    schemas: list[SchemaStatus]


def provision_catalogue(settings: HubSettings) -> Provisioned:
    """Create every topic and register every schema (after the evolution check)."""
    names = TopicNames(settings.topic_prefix)
    topics = event_topics(settings) + names.internal() + names.audit_topics()
    created = ensure_topics(settings, topics)
    registry = SchemaCatalogueRegistry(registry_client(settings), settings.topic_prefix)
    statuses = registry.register_all()
    statuses += [registry.register_named(t, names.schema_of(t)) for t in names.internal()]
    return Provisioned(topics, created, statuses)
