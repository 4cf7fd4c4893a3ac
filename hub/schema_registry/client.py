"""What the hub needs to know about the registry client: subject names, which errors are transient.

The client itself is confluent-kafka's ``SchemaRegistryClient``, built by
:class:`hub.kafka.clients.Clients` with every other client; the hub writes no registry HTTP
calls itself. Subjects follow the TopicNameStrategy: ``<topic>-value``.
"""

from __future__ import annotations

from hub.errors import caused_by

try:  # confluent-kafka's registry client uses httpx2 when installed, else httpx
    import httpx2 as _registry_http
except ImportError:  # pragma: no cover - depends on the installed client
    import httpx as _registry_http

# What the registry client raises when the registry cannot be reached or answers garbage.
REGISTRY_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (_registry_http.HTTPError, OSError)


def is_transient(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) is the registry being unreachable or slow to answer:
    worth retrying, never a reason to dead-letter a record."""
    return caused_by(exc, REGISTRY_TRANSPORT_ERRORS)


def value_subject(topic: str) -> str:
    return f"{topic}-value"
