"""Retrying a replay step while the schema registry is briefly unreachable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from hub.errors import HubError, Unavailable
from hub.schema_registry.client import is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReplayUnavailable(Unavailable):
    """Kafka or the schema registry could not be reached; the replay did not complete."""


def retrying(action: Callable[[], T], attempts: int = 6, first_delay_s: float = 0.5) -> T:
    """``action()``, retried with backoff while the registry is unreachable (≈ 15 s in all)."""
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except HubError:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise ReplayUnavailable(f"schema registry unavailable: {exc}") from exc
            log.warning("registry unavailable (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
