"""Make a Kafka cluster and registry ready for the catalogue: topics created, schemas registered.

Idempotent: re-running creates nothing new and re-registers identical schemas under the same
ids. Used by ``make demo``, the tests (on fresh topic prefixes) and the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.kafka.admin import apply_retention, ensure_topics, hub_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.catalogue import SchemaCatalogueRegistry, SchemaStatus


@dataclass(frozen=True)
class Provisioned:
    topics: list[str]
    created_topics: list[str]
    schemas: list[SchemaStatus]


def provision_catalogue(clients: Clients) -> Provisioned:
    """Create every topic and register every schema (after the evolution check)."""
    prefix = clients.settings.topic_prefix
    names = TopicNames(prefix)
    topics = hub_topics(prefix)
    created = ensure_topics(clients, topics)
    apply_retention(clients, [t for t in topics if t not in created])  # topics from before: in line
    registry = SchemaCatalogueRegistry(clients.registry, prefix)
    statuses = registry.register_all()
    statuses += [registry.register_named(t, names.schema_of(t)) for t in names.with_hub_schemas()]
    return Provisioned(topics, created, statuses)
