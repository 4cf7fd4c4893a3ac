"""The publisher SDK: how a department system puts a registration event into the hub.

    publisher = Publisher(department=Department.CIVIL_AFFAIRS)
    receipt = publisher.publish_raw("marriage_registered", {"occurred_at": ..., "payload": {...}})

``publish`` validates (every broken rule reported at once, nothing written), seals the envelope,
serialises in the Confluent wire format against the registered schema, and produces with an
idempotent producer (acks=all) keyed by the primary subject id. It returns only when the broker
has acknowledged the write, or raises within ``publish_timeout_s``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError
from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import BaseModel

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, EventSpec, spec_for_publisher
from hub.domain.common import HubModel
from hub.domain.departments import Department
from hub.domain.envelope import Event, RefersTo
from hub.domain.identifiers import mask_id
from hub.domain.sealing import Clock, seal, utc_now
from hub.errors import ConfigurationError, HubError, PublishUnavailable
from hub.schema_registry.client import REGISTRY_TRANSPORT_ERRORS, registry_client, value_subject
from hub.wire.serde import event_serializer

log = logging.getLogger(__name__)

# Registry error codes meaning "this subject or schema was never registered".
NOT_REGISTERED = {40401, 40403}


class Receipt(BaseModel):
    """Proof that the hub has durably accepted an event."""

    event_id: str
    case_id: str
    event_type: str
    topic: str
    partition: int
    offset: int


def kafka_producer(settings: HubSettings) -> KafkaProducer:
    """An idempotent, acks=all producer whose every wait is bounded by the publish timeout."""
    bound_ms = max(int(settings.publish_timeout_s * 1000), 2_500)
    return KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="oncehub-publisher",
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        linger_ms=settings.producer_linger_ms,
        # The producer gives up on its own before publish() returns an error, so a record the
        # caller was told failed is never written later behind its back.
        delivery_timeout_ms=bound_ms,
        request_timeout_ms=min(max(bound_ms - 1_000, 1_000), 30_000),
        max_block_ms=bound_ms,
        bootstrap_timeout_ms=bound_ms,
    )


class Publisher:
    """Publishes one department's events. Thread-safe; connections open on first publish."""

    def __init__(
        self,
        department: Department | str,
        settings: HubSettings | None = None,
        *,
        producer_factory: Callable[[HubSettings], KafkaProducer] = kafka_producer,
        registry: SchemaRegistryClient | None = None,
        clock: Clock = utc_now,
    ):
        self.department = Department.parse(department) if isinstance(department, str) else department
        self.settings = settings or HubSettings()
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._registry = registry
        self._serializers: dict[str, Callable[[Event, str], bytes]] = {}
        self._clock = clock

    def publish(
        self,
        payload: HubModel,
        *,
        occurred_at: datetime,
        case_id: str | None = None,
        event_id: str | None = None,
        refers_to: RefersTo | None = None,
    ) -> Receipt:
        """Publish a typed payload (the event type follows from the payload's class)."""
        spec = next((s for s in CATALOGUE.values() if isinstance(payload, s.payload_model)), None)
        if spec is None:
            raise TypeError(f"{type(payload).__name__} is not an event payload of the catalogue")
        submission = {
            "payload": payload.model_dump(mode="json"),
            "occurred_at": occurred_at.isoformat(),
            "case_id": case_id,
            "event_id": event_id,
            "refers_to": refers_to.model_dump(mode="json") if refers_to else None,
        }
        return self.publish_raw(spec.event_type.value, submission)

    def publish_raw(self, event_type: str, submission: Mapping[str, Any]) -> Receipt:
        """Validate and publish a JSON-shaped submission (what HTTP and the CLI receive)."""
        spec = spec_for_publisher(event_type, self.department)
        event = seal(spec, self.department, dict(submission), clock=self._clock)
        topic = spec.topic(self.settings.topic_prefix)
        value = self._serialize(spec, event, topic)
        receipt = self._produce(spec, event, topic, value)
        log.info(
            "published %s %s subject=%s -> %s[%d]@%d", receipt.event_type, receipt.event_id,
            mask_id(event.key), receipt.topic, receipt.partition, receipt.offset,
        )
        return receipt

    def _serialize(self, spec: EventSpec, event: Event, topic: str) -> bytes:
        serializer = self._serializers.get(topic)
        if serializer is None:
            serializer = event_serializer(self._registry_client(), spec)
            self._serializers[topic] = serializer
        try:
            return serializer(event, topic)
        except REGISTRY_TRANSPORT_ERRORS as exc:
            raise PublishUnavailable(
                f"schema registry at {self.settings.schema_registry_url} is unreachable: {exc}"
            ) from exc
        except SchemaRegistryError as exc:
            if exc.error_code in NOT_REGISTERED:
                raise ConfigurationError(
                    f"schema for {value_subject(topic)} is not registered; run `hub schemas register`"
                ) from exc
            raise HubError(f"schema registry refused {spec.event_type.value}: {exc}") from exc
        except SerializationError as exc:
            raise HubError(f"could not serialise {spec.event_type.value}: {exc}") from exc

    def _produce(self, spec: EventSpec, event: Event, topic: str, value: bytes) -> Receipt:
        headers = [
            ("oncehub.event_type", spec.event_type.value.encode()),
            ("oncehub.source_department", self.department.value.encode()),
            ("oncehub.event_id", event.envelope.event_id.encode()),
        ]
        try:
            future = self._kafka().send(topic, key=event.key.encode(), value=value, headers=headers)
            meta = future.get(timeout=self.settings.publish_timeout_s + 1)
        except KafkaError as exc:
            raise PublishUnavailable(
                f"Kafka at {self.settings.bootstrap_servers} did not accept the event within "
                f"{self.settings.publish_timeout_s:g}s ({type(exc).__name__}: {exc}); it was not written. "
                f"Is the broker up, and does {topic} exist (`hub topics ensure`)?"
            ) from exc
        return Receipt(
            event_id=event.envelope.event_id, case_id=event.envelope.case_id,
            event_type=spec.event_type.value, topic=meta.topic, partition=meta.partition,
            offset=meta.offset,
        )

    def _kafka(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._producer_factory(self.settings)
        return self._producer

    def _registry_client(self) -> SchemaRegistryClient:
        if self._registry is None:
            self._registry = registry_client(self.settings)
        return self._registry

    def close(self, timeout_s: float = 5.0) -> None:
        if self._producer is not None:
            self._producer.close(timeout=timeout_s)
            self._producer = None

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
