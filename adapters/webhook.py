"""Webhook delivery: POST each work item as JSON to an agency's HTTPS endpoint.

The request
    ``POST <url>`` with body ``item.model_dump(mode="json")`` serialised as compact UTF-8 JSON
    (keys sorted) and these headers:

    - ``Idempotency-Key: <item_id>`` — the same on every retry and redelivery of the item; the
      agency applies an item once per key and answers repeats with the result it gave first.
    - ``X-OnceHub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` — signed per attempt with
      the agency's own secret over the bytes ``b"<t>." + body``.

Verifying a request (agency side; :func:`verify_signature` does exactly this)
    1. Split the header on ``,`` into ``key=value`` pairs; take ``t`` and every ``v1``.
    2. Reject if ``|now - t|`` exceeds your tolerance (300 s suggested): stops replays.
    3. Compute ``hmac_sha256(secret, f"{t}.".encode() + raw_body).hexdigest()`` over the *raw*
       request bytes (not re-serialised JSON) and compare it in constant time with each ``v1``;
       accept if any matches (several ``v1`` let a secret be rotated without downtime).

The answer
    - 2xx → ``Completed(reference=body["reference"])``, or the Idempotency-Key if absent;
    - 409 with a ``reference`` → ``Completed`` (the agency had already applied it);
    - 401/403 → :class:`DeliveryFailed` at once (our credentials are wrong, not the item);
    - other 4xx except 408/429 → ``Rejected(reason="HTTP <status>: <reason or body>")``, no retry;
    - 408, 429, 5xx, timeouts, connection errors → retried with exponential backoff and full
      jitter, honouring ``Retry-After`` up to ``max_retry_after_s``; after ``max_attempts``
      attempts, or once the next wait would take the call past ``max_elapsed_s`` (60 s by
      default, so that one call fits well inside the inbox's poll interval: see
      :meth:`consumers.inbox.Inbox.poll_once`), :class:`DeliveryFailed` is raised and the inbox
      retries the item itself, then parks it;
    - 1xx/3xx (a misconfigured URL) → :class:`DeliveryFailed` at once: retrying cannot help.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import tenacity

from adapters.common import Clock, DeliveryFailed, describe, redact, utc_now
from hub.domain.outcomes import Completed, HandlerResult, Rejected
from hub.domain.routing import WorkItem

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-OnceHub-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# An agency's stated reason for a rejection, as kept on the outcome (characters).
REASON_LIMIT = 200
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str | bytes, header: str, body: bytes, tolerance_s: float = 300,
                     now: float | None = None) -> bool:
    """True if ``header`` signs the raw ``body`` with ``secret`` within ``tolerance_s`` of now."""
    pairs = [part.strip().partition("=") for part in (header or "").split(",")]
    stamps = [v for k, _, v in pairs if k == "t"]
    macs = [v for k, _, v in pairs if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not macs:
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, mac) for mac in macs)


class _Retryable(Exception):
    """One failed attempt worth repeating; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds()) if value else None
    except (TypeError, ValueError):
        return None


def _json_field(response: httpx.Response, name: str) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value.strip() or None if isinstance(value, str) else None


class WebhookAdapter:
    """Deliver work items to one agency's webhook; a :data:`~hub.domain.outcomes.Handler`.

    ``secret`` is the agency's signing secret (from configuration, never from code). Pass an
    ``httpx.Client`` to share connections; otherwise the adapter owns one (see :meth:`close`)
    with ``timeout`` (default: 10 s, 5 s to connect).
    ``max_elapsed_s`` bounds one call's retries: no wait is begun that would end past it (the
    request then in flight adds at most its ``timeout``).
    ``sleep`` and ``clock`` are injectable so tests neither wait nor depend on the real time.
    """

    def __init__(self, url: str, secret: str | bytes, *, client: httpx.Client | None = None,
                 max_attempts: int = 5, backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0,
                 max_retry_after_s: float = 60.0, max_elapsed_s: float = 60.0,
                 timeout: httpx.Timeout | None = None,
                 clock: Clock = utc_now, sleep: Callable[[float], None] = time.sleep):
        if not secret:
            raise ValueError("webhook secret must not be empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = url
        self._secret = secret
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout or DEFAULT_TIMEOUT)
        # Without an explicit timeout, a caller's client keeps the timeouts it was built with.
        self._timeout = timeout or httpx.USE_CLIENT_DEFAULT
        self._clock, self._sleep = clock, sleep
        self.max_attempts, self.max_retry_after_s = max_attempts, max_retry_after_s
        self.max_elapsed_s = max_elapsed_s
        self._backoff = tenacity.wait_random_exponential(multiplier=backoff_initial_s, max=backoff_max_s)
        # Logs and errors show where we deliver, never credentials in the URL's userinfo or query.
        parts = urlsplit(url)
        self.target = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def __repr__(self) -> str:
        return f"WebhookAdapter({self.target!r}, max_attempts={self.max_attempts})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> "WebhookAdapter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, item: WorkItem) -> HandlerResult:
        body = json.dumps(item.model_dump(mode="json"), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")
        retrying = tenacity.Retrying(
            stop=(tenacity.stop_after_attempt(self.max_attempts)
                  | tenacity.stop_before_delay(self.max_elapsed_s)),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retryable), sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(item, state), reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    result = self._attempt(item, body, attempt.retry_state.attempt_number)
        except tenacity.RetryError as exc:
            last = exc.last_attempt.exception()
            raise DeliveryFailed(self.target, item.item_id, exc.last_attempt.attempt_number,
                                 redact(str(last))) from last
        log.info("webhook %s %s: %s", self.target, describe(item), type(result).__name__)
        return result

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Backoff with jitter, unless the server said when to come back (bounded either way)."""
        error = state.outcome.exception() if state.outcome else None
        hint = getattr(error, "retry_after", None)
        return min(hint, self.max_retry_after_s) if hint is not None else self._backoff(state)

    def _log_retry(self, item: WorkItem, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("webhook %s attempt %d/%d for %s failed (%s); retrying in %.2fs", self.target,
                    state.attempt_number, self.max_attempts, describe(item), redact(str(error)),
                    state.upcoming_sleep)

    def _attempt(self, item: WorkItem, body: bytes, number: int) -> HandlerResult:
        stamp = int(self._clock().timestamp())
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: item.item_id,
                   SIGNATURE_HEADER: sign(self._secret, body, stamp)}
        try:
            response = self._client.post(self.url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TransportError as exc:  # connect/read timeouts, refused, reset, protocol
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        return self._interpret(item, response, number)

    def _interpret(self, item: WorkItem, response: httpx.Response, number: int) -> HandlerResult:
        status = response.status_code
        if 200 <= status < 300:
            return Completed(reference=_json_field(response, "reference") or item.item_id)
        if status == 409 and (reference := _json_field(response, "reference")):
            return Completed(reference=reference)
        if status in (408, 429) or status >= 500:
            raise _Retryable(f"HTTP {status}", _retry_after(response, self._clock()))
        if status in (401, 403):
            # Our credentials, not the citizen's item: park it (FAILED, redrivable once the
            # secret or token is fixed) rather than report the agency as refusing the item.
            raise DeliveryFailed(self.target, item.item_id, number,
                                 f"HTTP {status}: the agency refused our credentials")
        if 400 <= status < 500:
            # The agency's stated reason, bounded and masked; never its raw body, which may echo
            # the data it was sent (the reason travels to the outcome topic and the audit chain).
            reason = redact(_json_field(response, "reason") or response.reason_phrase or "rejected",
                            REASON_LIMIT)
            log.info("webhook %s rejected %s: HTTP %d %s", self.target, describe(item), status, reason)
            return Rejected(reason=f"HTTP {status}: {reason}")
        raise DeliveryFailed(self.target, item.item_id, number, f"unexpected HTTP {status}; check the URL")
