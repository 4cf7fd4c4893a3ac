"""How the router's blocking work runs on faust's event loop and survives outages.

faust runs the consumer's heartbeats on the same event loop as the agent and the timers. A
blocking call there — a registry lookup, a kafka-python consumer building its connection — stops
the heartbeats; one longer than the session timeout makes the group rebalance, again and again
while the server is slow. So every blocking call runs on a thread (``run_in_executor``).

A timer or background task that raises crashes the whole faust app (seen: the deadline watch's
consumer failing to bootstrap while the broker was down stopped all routing). So a timer's work
goes through :func:`keep_going` (a failed round is logged and the next round runs as usual),
and a record's work through :func:`until_done` (the partition waits and tries again rather than
losing its place). A subject missing from the registry is a configuration error, said so, and
tried again slowly, so the router resumes by itself once ``hub schemas register`` has run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub.domain.redaction import described, error_text
from hub.kafka.failures import is_not_registered, is_transient, is_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 0.5
# Short: the wait after an outage ends is at most this, and the fault drills count it against the
# 30 s within which the flow must resume. A configuration error waits longer (it needs a person).
MAX_DELAY_S = 5.0
CONFIGURATION_DELAY_S = 30.0


def off_loop(fn: Callable[..., T], *args) -> Awaitable[T]:
    """Run blocking ``fn(*args)`` on the default thread pool."""
    return asyncio.get_running_loop().run_in_executor(None, fn, *args)


def describe_failure(exc: BaseException) -> str:
    """Why a round failed, in words an operator acts on (no record content: no personal data)."""
    if is_not_registered(exc):
        return ("configuration error: a subject the router writes is not registered in the schema "
                f"registry; run `hub schemas register` ({error_text(exc)})")
    if is_transient(exc):
        return f"schema registry unavailable ({described(exc)})"
    if is_unreachable(exc):
        return f"Kafka unavailable ({described(exc)})"
    return f"unexpected failure ({described(exc)})"


async def until_done(what: str, attempt: Callable[[], Awaitable[T]],
                     sleep: Callable[[float], Awaitable] = asyncio.sleep) -> T:
    """``await attempt()`` until it succeeds, backing off up to :data:`MAX_DELAY_S` between
    tries; each failure is logged with its reason (a configuration error at ERROR level)."""
    delay = FIRST_DELAY_S
    while True:
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise  # the worker is stopping or the partition was revoked
        except Exception as exc:  # noqa: BLE001 - the partition waits; nothing is dropped
            misconfigured = is_not_registered(exc)
            level = logging.ERROR if misconfigured else logging.WARNING
            log.log(level, "%s failed: %s; retrying in %.1fs", what, describe_failure(exc), delay)
            await sleep(delay)
            delay = min(delay * 2, CONFIGURATION_DELAY_S if misconfigured else MAX_DELAY_S)


async def keep_going(what: str, fn: Callable[[], T]) -> T | None:
    """One round of a timer's blocking work, off the loop; a failure is logged, not raised
    (returns None), so the timer's next round runs as usual once the server is back."""
    try:
        return await off_loop(fn)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a timer must never crash the app
        log.warning("%s failed: %s; trying again next round", what, describe_failure(exc))
        return None
