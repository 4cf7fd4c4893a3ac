"""Where a client library's failure becomes a :class:`~hub.errors.HubError`.

Kafka, the registry and the projection files fail in many library-specific ways; components
translate them here, once, at the edge (``raise Unavailable(...) from exc``), so the CLI and the
HTTP API deal only with the hub's own errors and map them through one table each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaException
from kafka.errors import KafkaError

from hub.errors import HubError, Unavailable, caused_by

try:  # confluent-kafka's registry client uses httpx2 when installed, else httpx
    import httpx2 as _registry_http
except ImportError:  # pragma: no cover - depends on the installed client
    import httpx as _registry_http

# What the registry client raises when the registry cannot be reached or answers garbage.
REGISTRY_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (_registry_http.HTTPError, OSError)

# Failures that mean "a server or file is unreachable or busy now; the same call may work later".
UNREACHABLE: tuple[type[BaseException], ...] = (
    KafkaError, KafkaException, TimeoutError, OSError, sqlite3.OperationalError, *REGISTRY_TRANSPORT_ERRORS,
)


def is_transient(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) is the registry being unreachable or slow to answer:
    worth retrying, never a reason to dead-letter a record."""
    return caused_by(exc, REGISTRY_TRANSPORT_ERRORS)


def is_unreachable(exc: BaseException) -> bool:
    """True if ``exc`` or anything that caused it is an :data:`UNREACHABLE` failure."""
    return caused_by(exc, UNREACHABLE)


@contextmanager
def unavailable_as_hub_error(what: str) -> Iterator[None]:
    """Run a block of I/O; an unreachable server or busy file becomes :class:`Unavailable`
    naming ``what`` could not be done (the hub's own errors pass through untouched)."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        raise Unavailable(f"{what}: {type(exc).__name__}: {exc}") from exc


# The registry's answer for a subject (or version) it does not have: provisioning was skipped.
SUBJECT_NOT_REGISTERED = frozenset({40401, 40403})  # subject not found, schema not found


def is_not_registered(exc: BaseException) -> bool:
    """True if ``exc`` or its cause is the registry saying a subject is not registered — a
    configuration error (run ``hub schemas register``), never worth the same quick retry as an
    outage."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SchemaRegistryError) and seen.error_code in SUBJECT_NOT_REGISTERED:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
