"""The publisher SDK: how a department system puts a registration event into the hub.

    publisher = Publisher(department=Department.CIVIL_AFFAIRS)
    receipt = publisher.publish_raw("marriage_registered", {"occurred_at": ..., "payload": {...}})

``publish`` validates (every broken rule reported at once, nothing written), seals the envelope,
encrypts each person's fields to that person's own key (crypto-shredding: the first event about a
person mints their key and hands it, wrapped to the hub's master key, to the department's key
intake before the event is written), serialises in the Confluent wire format against the
registered schema, and produces with an idempotent producer (acks=all) keyed by the primary
subject id. It returns only when the broker has acknowledged the write, or raises within
``publish_timeout_s``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError
from kafka import KafkaProducer
from kafka.errors import KafkaError

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, EventSpec, spec_for_publisher
from hub.domain.common import HubModel
from hub.domain.departments import Department
from hub.domain.envelope import Event, RefersTo
from hub.domain.identifiers import mask_id
from hub.domain.receipts import Receipt
from hub.domain.redaction import error_text
from hub.domain.sealing import Clock, seal, utc_now
from hub.errors import PublishOutcomeUnknown, ConfigurationError, HubError, PublishUnavailable
from hub.kafka.clients import Clients
from hub.kafka.failures import REGISTRY_TRANSPORT_ERRORS, is_not_registered
from hub.kafka.topic_names import TopicNames
from hub.security.master_key import master_public_key
from hub.security.person_keys import KeyRecord, PublisherKeys
from hub.security.principals import department_principal
from hub.security.shredding import protect_record
from hub.schema_registry.subjects import value_subject
from hub.wire.serde import event_serializer, record_serializer

log = logging.getLogger(__name__)


class Publisher:
    """Publishes one department's events. Thread-safe; connections open on first publish."""

    def __init__(
        self,
        department: Department | str,
        settings: HubSettings | None = None,
        *,
        clients: Clients | None = None,
        shared: bool = False,
        clock: Clock = utc_now,
        protect: bool = True,
    ):
        """``clients``: where the producer and registry client come from; if not given, built from
        ``settings`` as the department's own principal (unless the settings name one), so the
        broker's ACLs — not this class — decide what it may publish. ``shared``: publish through
        the clients' shared producer (a server publishing for many departments) instead of one
        of its own. ``protect``: encrypt each person's fields to their key (always, but in the
        benchmarks that copy one captured event under many ids: a copy under another id would not
        open, as the encryption is bound to the event id)."""
        self.department = Department.parse(department) if isinstance(department, str) else department
        self._clients = clients or Clients(
            (settings or HubSettings()).for_service(department_principal(self.department)))
        self._owns_clients = clients is None
        self.settings = self._clients.settings
        self._shared = shared
        self._producer: KafkaProducer | None = None
        self._serializers: dict[str, Callable[[Event, str], bytes]] = {}
        self._clock = clock
        self._names = TopicNames(self.settings.topic_prefix)
        self._keys: PublisherKeys | None = None
        self._keys_lock = threading.Lock()
        self._protects = protect
        self._key_serializer: Callable[[KeyRecord, str], bytes] | None = None

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
        # This department's own topic of the type (one writer per topic, enforceable by ACLs).
        topic = TopicNames(self.settings.topic_prefix).events(spec, self.department)
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
            serializer = event_serializer(self._clients.registry, spec,
                                          protect=self._protect if self._protects else None)
            self._serializers[topic] = serializer
        try:
            return serializer(event, topic)
        except REGISTRY_TRANSPORT_ERRORS as exc:
            raise PublishUnavailable(
                f"schema registry at {self.settings.schema_registry_url} is unreachable: {exc}"
            ) from exc
        except SchemaRegistryError as exc:
            if is_not_registered(exc):
                raise ConfigurationError(
                    f"schema for {value_subject(topic)} is not registered; run `hub schemas register`"
                ) from exc
            raise HubError(f"schema registry refused {spec.event_type.value}: {error_text(exc)}") from exc
        except SerializationError as exc:
            raise HubError(f"could not serialise {spec.event_type.value}: {error_text(exc)}") from exc

    def _protect(self, record: dict[str, Any]) -> dict[str, Any]:
        """The event's record with each person's fields encrypted to their key (minted and handed
        to the key intake first, for a person this publisher has not published about yet)."""
        return protect_record(record, self._key_for)

    def _key_for(self, subject_id: str) -> tuple[str, bytes]:
        with self._keys_lock:  # built once; PublisherKeys is thread-safe and sends outside its lock
            if self._keys is None:
                master = master_public_key(self.settings)
                self._keys = PublisherKeys(master.public_key, self._send_key, master_key_id=master.key_id)
            keys = self._keys
        return keys.key_for(subject_id)

    def _send_key(self, record: KeyRecord) -> None:
        """Write a person's new key to this department's intake and wait until it is durable: the
        hub must be able to open the event that uses it as soon as the event is there."""
        intake = self._names.key_intake(self.department)
        if self._key_serializer is None:
            self._key_serializer = record_serializer(self._clients.registry, "SubjectKey", KeyRecord.as_avro)
        try:
            value = self._key_serializer(record, intake)
        except SchemaRegistryError as exc:
            # Raised inside the event's serialisation: name the key's subject, not the event's.
            if is_not_registered(exc) or exc.http_status_code == 404:
                raise ConfigurationError(f"schema for {value_subject(intake)} (people's keys) is not "
                                         "registered; run `hub schemas register`") from exc
            raise HubError(f"schema registry refused the key of a person for {intake}: "
                           f"{error_text(exc)}") from exc
        producer = None
        try:
            producer = self._kafka()  # a new one bootstraps: that fails while Kafka is down
            producer.send(intake, key=record.key_id.encode(), value=value).get(
                timeout=self.settings.publish_timeout_s + 1)
        except KafkaError as exc:
            if producer is not None:
                self._drop(producer)
            # Nothing of the event is written: the key goes first, and it did not go.
            raise PublishUnavailable(
                f"Kafka at {self.settings.bootstrap_servers} did not accept the event within "
                f"{self.settings.publish_timeout_s:g}s: the key of a person it names could not be "
                f"written to {intake} ({type(exc).__name__}: {exc}). It was not sent, so it was not "
                f"written. Is the broker up, and does {intake} exist (`hub topics ensure`)?") from exc

    def _produce(self, spec: EventSpec, event: Event, topic: str, value: bytes) -> Receipt:
        headers = [
            ("oncehub.event_type", spec.event_type.value.encode()),
            ("oncehub.source_department", self.department.value.encode()),
            ("oncehub.event_id", event.envelope.event_id.encode()),
        ]
        producer = None
        try:
            producer = self._kafka()  # a new one bootstraps: that fails while Kafka is down
            future = producer.send(topic, key=event.key.encode(), value=value, headers=headers)
        except KafkaError as exc:  # not even sent (no metadata in time, buffer full)
            if producer is not None:
                self._drop(producer)
            raise PublishUnavailable(
                f"Kafka at {self.settings.bootstrap_servers} did not accept the event within "
                f"{self.settings.publish_timeout_s:g}s ({type(exc).__name__}: {exc}); it was not sent, "
                f"so it was not written. Is the broker up, and does {topic} exist (`hub topics ensure`)?"
            ) from exc
        try:
            meta = future.get(timeout=self.settings.publish_timeout_s + 1)
        except KafkaError as exc:
            # Sent, not acknowledged: a broker may still have written it (acks=all waits for the
            # replicas; the wait can outlast ours). Say so, and how to find out, rather than claim
            # it was not written.
            self._drop(producer)
            event_id = event.envelope.event_id
            raise PublishOutcomeUnknown(
                f"Kafka at {self.settings.bootstrap_servers} did not acknowledge event {event_id} "
                f"within {self.settings.publish_timeout_s:g}s ({type(exc).__name__}: {exc}): it may or "
                f"may not have been recorded. Publish it again with event_id {event_id}: the hub "
                "records an event id once, so the repeat is harmless and its receipt is the answer.",
                event_id) from exc
        return Receipt(
            event_id=event.envelope.event_id, case_id=event.envelope.case_id,
            event_type=spec.event_type.value, topic=meta.topic, partition=meta.partition,
            offset=meta.offset,
        )

    def _drop(self, producer: KafkaProducer) -> None:
        """Not used again: after an outage it may refuse every later send (see discard_producer)."""
        self._clients.discard_producer(producer)
        self._producer = None

    def _kafka(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = (self._clients.shared_producer() if self._shared
                              else self._clients.producer())
        return self._producer

    def close(self, timeout_s: float = 5.0) -> None:
        """Close this publisher's own producer (a shared one belongs to its clients)."""
        if self._producer is not None and not self._shared:
            self._producer.close(timeout=timeout_s)
        self._producer = None
        if self._owns_clients:
            self._clients.close(timeout_s)

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
