"""Retrying a replay step while the schema registry is briefly unreachable (tenacity)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, before_sleep_log, retry_if_exception, stop_after_attempt
from tenacity import wait_exponential

from hub.errors import Unavailable
from hub.kafka.failures import is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReplayUnavailable(Unavailable):
    """Kafka or the schema registry could not be reached; the replay did not complete."""


def retrying(action: Callable[[], T], attempts: int = 6, first_delay_s: float = 0.5) -> T:
    """``action()``, retried with doubling waits while the registry is unreachable (≈ 15 s in
    all); then :class:`ReplayUnavailable`. Any other failure is raised at once."""
    try:
        return action()  # the usual case, on the replay's hot path: no retry machinery built
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("registry unavailable (%s); retrying in %.1fs", exc, first_delay_s)
    time.sleep(first_delay_s)
    try:  # the waits go on doubling: first_delay_s × 2, × 4, …
        for attempt in Retrying(stop=stop_after_attempt(attempts - 1),
                                wait=wait_exponential(multiplier=2 * first_delay_s, max=60),
                                retry=retry_if_exception(is_transient),
                                before_sleep=before_sleep_log(log, logging.WARNING)):
            with attempt:
                return action()
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise ReplayUnavailable(f"schema registry unavailable: {cause}") from cause
    raise AssertionError("unreachable")  # pragma: no cover
