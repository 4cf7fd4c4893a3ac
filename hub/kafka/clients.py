"""Every Kafka client and the schema-registry client of a process, built in one place.

Components never construct a ``KafkaProducer``, ``KafkaConsumer``, ``KafkaAdminClient`` or
``SchemaRegistryClient`` themselves: they are handed a :class:`Clients` and ask it. So how the
hub reaches its cluster — addresses, SASL/SCRAM authentication as the settings' principal, TLS
against the cluster's CA, the registry account — is decided here and nowhere else, and a test can
hand a component clients of its own (another principal's, say).

Nothing connects in ``__init__``: each client is built on first use. ``close()`` closes every
client this object built and that is still open, so an entry point that closes its
``Clients`` on shutdown leaks no connection even if a component forgot to.
"""

from __future__ import annotations

import logging

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from hub.config import HubSettings
from hub.security.credentials import KafkaCredentials, read_credentials

if TYPE_CHECKING:
    from hub.kafka.batch_producer import BatchProducer

# The floor of every producer wait: below this, a busy broker on two cores times out at random.
_MIN_BOUND_MS = 2_500
RECONNECT_BACKOFF_MAX_MS = 1_000
# A group member that died with the broker (no LeaveGroup) holds its place until its session ends,
# and the next member's join waits for that: kafka-python's 45 s default made the flow resume up
# to 46 s after a single broker came back. 10 s, as the router's faust consumer.
SESSION_TIMEOUT_MS = 10_000

log = logging.getLogger(__name__)


class Clients:
    """Factory and owner of the process's Kafka and registry clients (lazy, closed together)."""

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self._lock = threading.RLock()  # shared_producer() builds through producer() under it
        self._registry: SchemaRegistryClient | None = None
        self._shared_producer: KafkaProducer | None = None
        self._built: weakref.WeakSet = weakref.WeakSet()
        self._credentials: KafkaCredentials | None = None

    # -- how to reach the cluster: the one place that knows ------------------------------------

    @property
    def secured(self) -> bool:
        return self.settings.kafka_security == "sasl_ssl"

    @property
    def credentials(self) -> KafkaCredentials:
        """The principal's credentials file, read once (ConfigurationError naming the file)."""
        if self._credentials is None:
            self._credentials = read_credentials(self.settings.resolved_credentials_file)
        return self._credentials

    @property
    def principal(self) -> str:
        """Who the broker and the registry will say this process is."""
        return self.credentials.username if self.secured else "ANONYMOUS"

    def connection(self) -> dict[str, Any]:
        """Keyword arguments every kafka-python client gets: where the cluster is and, on a
        secured cluster, who we are (SCRAM over TLS, the server checked against the CA)."""
        # Reconnection attempts at most a second apart (the Java client's default; kafka-python's
        # grows to 30 s): after a broker outage every client is back within a second of the
        # broker, not half a minute later (seen in the single-broker kill drill).
        config: dict[str, Any] = {"bootstrap_servers": self.settings.bootstrap_servers,
                                  "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS}
        if self.secured:
            creds = self.credentials
            config.update(security_protocol=creds.security_protocol,
                          sasl_mechanism=creds.sasl_mechanism,
                          sasl_plain_username=creds.username, sasl_plain_password=creds.password,
                          ssl_cafile=str(creds.ca_location) if creds.ca_location else None,
                          ssl_check_hostname=True)
        return config

    def faust_broker(self) -> dict[str, Any]:
        """The faust ``App`` settings that say where the cluster is, from the same source."""
        servers = [s.strip() for s in self.settings.bootstrap_servers.split(",") if s.strip()]
        config: dict[str, Any] = {"broker": [f"kafka://{s}" for s in servers]}
        if self.secured:
            import faust  # faust loads only in the processes that run the router
            from aiokafka.helpers import create_ssl_context

            creds = self.credentials
            cafile = str(creds.ca_location) if creds.ca_location else None
            # faust speaks SASL_SSL only when it is given an SSL context.
            config["broker_credentials"] = faust.SASLCredentials(
                username=creds.username, password=creds.password, mechanism=creds.sasl_mechanism,
                ssl_context=create_ssl_context(cafile=cafile))
        return config

    def librdkafka_connection(self) -> dict[str, Any]:
        """The same connection in librdkafka's property names (confluent-kafka's clients)."""
        config = {"bootstrap.servers": self.settings.bootstrap_servers,
                  "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS}
        if self.secured:
            props = self.credentials.as_properties()
            config |= {k: props[k] for k in ("security.protocol", "sasl.mechanism", "sasl.username",
                                             "sasl.password", "ssl.ca.location") if k in props}
        return config

    def registry_config(self) -> dict[str, Any]:
        # A timeout on every request: a registry that accepts a request and never answers (seen
        # with Apicurio under load) must become an error the caller can retry, not a hang.
        config: dict[str, Any] = {"url": self.settings.schema_registry_url,
                                  "timeout": max(1, int(self.settings.publish_timeout_s))}
        if self.secured:
            # The registry knows every principal by the same name and password (read-only but
            # the operator); an account it does not know is refused even for reads.
            creds = self.credentials
            config["basic.auth.user.info"] = f"{creds.username}:{creds.password}"
        return config

    # -- the clients -----------------------------------------------------------------------------

    @property
    def registry(self) -> SchemaRegistryClient:
        """The process's schema-registry client (one schema-id cache for every serializer)."""
        with self._lock:
            if self._registry is None:
                self._registry = SchemaRegistryClient(self.registry_config())
            return self._registry

    def producer(self, *, client_id: str = "oncehub-publisher", linger_ms: int | None = None
                 ) -> KafkaProducer:
        """A new idempotent, ``acks=all`` producer whose every wait is bounded by the publish
        timeout. The caller owns it (``close()`` here closes it too if the caller did not)."""
        bound_ms = self._bound_ms()
        producer = KafkaProducer(
            **self.connection(),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            allow_auto_create_topics=False,
            linger_ms=self.settings.producer_linger_ms if linger_ms is None else linger_ms,
            # The producer gives up on its own before a publish reports an error, so a record the
            # caller was told failed is never written later behind its back.
            delivery_timeout_ms=bound_ms,
            request_timeout_ms=min(max(bound_ms - 1_000, 1_000), 30_000),
            max_block_ms=bound_ms,
            bootstrap_timeout_ms=bound_ms,
        )
        return self._track(producer)

    def batch_producer(self, client_id: str = "oncehub-router") -> BatchProducer:
        """A librdkafka producer whose batches are awaited together (the router's outputs);
        idempotent, ``acks=all``, each delivery bounded by the publish timeout."""
        from hub.kafka.batch_producer import BatchProducer

        return self._track(BatchProducer({**self.librdkafka_connection(), "client.id": client_id},
                                         delivery_timeout_ms=self._bound_ms()))

    def _bound_ms(self) -> int:
        return max(int(self.settings.publish_timeout_s * 1000), _MIN_BOUND_MS)

    def shared_producer(self) -> KafkaProducer:
        """One producer shared by every component of the process that only appends records."""
        with self._lock:
            if self._shared_producer is None:
                self._shared_producer = self.producer()
            return self._shared_producer

    def consumer(self, *topics: str, **config: Any) -> KafkaConsumer:
        """A new consumer (no group and no auto-commit unless ``config`` says otherwise). It gives
        up bootstrapping after the publish timeout, so a read while Kafka is down becomes an
        error the caller can answer (HTTP 503) in seconds, not after kafka-python's 30 s."""
        config = {"enable_auto_commit": False, "bootstrap_timeout_ms": self._bound_ms(),
                  "session_timeout_ms": SESSION_TIMEOUT_MS, "heartbeat_interval_ms": SESSION_TIMEOUT_MS // 3,
                  **config}
        return self._track(KafkaConsumer(*topics, **self.connection(), **config))

    @contextmanager
    def reading(self, *topics: str, **config: Any) -> Iterator[KafkaConsumer]:
        """A consumer for one read, closed (without committing) when the block ends."""
        consumer = self.consumer(*topics, **config)
        try:
            yield consumer
        finally:
            consumer.close(autocommit=False)

    def admin(self, client_id: str = "oncehub-admin", **config: Any) -> KafkaAdminClient:
        return self._track(KafkaAdminClient(**self.connection(), client_id=client_id, **config))

    @contextmanager
    def administering(self, client_id: str = "oncehub-admin", **config: Any
                      ) -> Iterator[KafkaAdminClient]:
        admin = self.admin(client_id, **config)
        try:
            yield admin
        finally:
            admin.close()

    def discard_producer(self, producer: KafkaProducer) -> None:
        """Close a producer that failed to deliver, at once, so the next send builds a fresh one
        (the shared producer too). An idempotent producer whose batches expired during an outage
        can stay out of step with the broker's sequence numbers and have every later send
        refused until it is replaced (seen in the fault drills: a publisher never recovered
        from a broker's restart); a new producer gets a new producer id and starts clean."""
        with self._lock:
            if producer is self._shared_producer:
                self._shared_producer = None
            self._built.discard(producer)
        try:
            producer.close(timeout=0)
        except Exception as exc:  # noqa: BLE001 - it is being thrown away; nothing to save
            log.debug("closing a failed producer: %s", exc)

    # -- lifetime --------------------------------------------------------------------------------

    def _track(self, client):
        with self._lock:
            self._built.add(client)
        return client

    def close(self, timeout_s: float = 5.0) -> None:
        """Close every client built here that is still open (idempotent)."""
        with self._lock:
            built, self._built = list(self._built), weakref.WeakSet()
            self._shared_producer = None
        for client in built:
            if isinstance(client, KafkaProducer):
                client.close(timeout=timeout_s)
            elif isinstance(client, KafkaConsumer):
                client.close(autocommit=False)
            else:
                client.close()

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
