"""One publisher per department over a single shared producer and registry client.

A server publishing for many departments needs one Kafka connection pool and one schema-id
cache, not one per department.
"""

from __future__ import annotations

import threading

from kafka import KafkaProducer

from hub.config import HubSettings
from hub.domain.departments import Department
from hub.schema_registry.client import registry_client
from producers.publisher import Publisher, kafka_producer


class PublisherPool:
    """Callable ``pool(department) -> Publisher``; ``close()`` flushes and closes the producer."""

    def __init__(self, settings: HubSettings):
        self._settings = settings
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._registry = registry_client(settings)  # lazy: no network until first use
        self._publishers: dict[Department, Publisher] = {}

    def _shared_producer(self, settings: HubSettings) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = kafka_producer(settings)
            return self._producer

    def __call__(self, department: Department) -> Publisher:
        with self._lock:
            if department not in self._publishers:
                self._publishers[department] = Publisher(
                    department, self._settings, producer_factory=self._shared_producer,
                    registry=self._registry,
                )
            return self._publishers[department]

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
