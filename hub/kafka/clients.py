"""Every Kafka client and the schema-registry client of a process, built in one place.

Components never construct a ``KafkaProducer``, ``KafkaConsumer``, ``KafkaAdminClient`` or
``SchemaRegistryClient`` themselves: they are handed a :class:`Clients` and ask it. So how the
hub reaches its cluster (addresses today; authentication and TLS tomorrow) is decided here and
nowhere else, and a test can hand a component clients of its own.

Nothing connects in ``__init__``: each client is built on first use. ``close()`` closes every
client this object built and that is still open, so an entry point that closes its
``Clients`` on shutdown leaks no connection even if a component forgot to.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from hub.config import HubSettings

# The floor of every producer wait: below this, a busy broker on two cores times out at random.
_MIN_BOUND_MS = 2_500


class Clients:
    """Factory and owner of the process's Kafka and registry clients (lazy, closed together)."""

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self._lock = threading.RLock()  # shared_producer() builds through producer() under it
        self._registry: SchemaRegistryClient | None = None
        self._shared_producer: KafkaProducer | None = None
        self._built: weakref.WeakSet = weakref.WeakSet()

    # -- how to reach the cluster: the one place that knows ------------------------------------

    def connection(self) -> dict[str, Any]:
        """Keyword arguments every kafka-python client gets: where the cluster is."""
        return {"bootstrap_servers": self.settings.bootstrap_servers}

    def faust_broker(self) -> dict[str, Any]:
        """The faust ``App`` settings that say where the cluster is, from the same source."""
        servers = [s.strip() for s in self.settings.bootstrap_servers.split(",") if s.strip()]
        return {"broker": [f"kafka://{s}" for s in servers]}

    def registry_config(self) -> dict[str, Any]:
        # A timeout on every request: a registry that accepts a request and never answers (seen
        # with Apicurio under load) must become an error the caller can retry, not a hang.
        return {"url": self.settings.schema_registry_url,
                "timeout": max(1, int(self.settings.publish_timeout_s))}

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
        bound_ms = max(int(self.settings.publish_timeout_s * 1000), _MIN_BOUND_MS)
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

    def shared_producer(self) -> KafkaProducer:
        """One producer shared by every component of the process that only appends records."""
        with self._lock:
            if self._shared_producer is None:
                self._shared_producer = self.producer()
            return self._shared_producer

    def consumer(self, *topics: str, **config: Any) -> KafkaConsumer:
        """A new consumer (no group and no auto-commit unless ``config`` says otherwise)."""
        config = {"enable_auto_commit": False, **config}
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
