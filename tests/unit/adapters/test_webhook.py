"""Webhook adapter against a real HTTP server on loopback (``http.server`` in a thread).

The fake agency behaves like a well-built one: it checks every signature, applies an item once
per Idempotency-Key and answers repeats with its first reference. A script of canned answers
(503s, 400, 429 with Retry-After, a slow answer) is played before it starts answering normally.
That a redelivered item gets the agency's first answer is the agency-handler contract
(``tests/contract/test_agency_handler.py``, against a reference agency's webhook app).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from adapters.common import DeliveryFailed
from adapters.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, WebhookAdapter, sign, verify_signature
from hub.domain.identifiers import mask_id
from hub.domain.outcomes import Completed, Rejected
from hub.domain.routing import WorkItem
from tests.builders import items

SECRET = b"agency-secret-for-tests-only"
ITEM = items(1)[0]


@dataclass
class Seen:
    key: str | None
    signature: str | None
    body: bytes
    valid: bool


@dataclass
class Agency:
    """State of the fake agency; ``script`` entries are answered before normal processing."""

    script: list[dict] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    applied: dict[str, str] = field(default_factory=dict)
    applications: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, key: str) -> tuple[int, dict, dict]:
        with self.lock:
            step = self.script.pop(0) if self.script else {}
        time.sleep(step.get("delay", 0))
        if "status" in step:
            return step["status"], step.get("body", {"error": "scripted"}), step.get("headers", {})
        with self.lock:
            if key in self.applied:
                return 200, {"reference": self.applied[key]}, {}
            self.applications += 1
            self.applied[key] = f"AG-{self.applications:04d}"
            return 201, {"reference": self.applied[key]}, {}


def _handler(agency: Agency) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key, sig = self.headers.get(IDEMPOTENCY_HEADER), self.headers.get(SIGNATURE_HEADER)
            valid = verify_signature(SECRET, sig or "", body, tolerance_s=300)
            with agency.lock:
                agency.seen.append(Seen(key, sig, body, valid))
            status, payload, headers = (401, {"reason": "bad signature"}, {}) if not valid else agency.answer(key)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); a real agency would have applied anyway

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture()
def agency():
    state = Agency()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/oncehub/items"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def adapter(url: str, **kw) -> WebhookAdapter:
    settings = {"max_attempts": 5, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, **kw}
    return WebhookAdapter(url, SECRET, **settings)


def test_three_503s_then_success_is_applied_once(agency):
    agency.script = [{"status": 503}] * 3
    with adapter(agency.url) as deliver:
        result = deliver(ITEM)
        assert result == Completed(reference="AG-0001")
        assert len(agency.seen) == 4
        assert {s.key for s in agency.seen} == {ITEM.item_id}
        assert all(s.valid for s in agency.seen)
        assert WorkItem.model_validate_json(agency.seen[-1].body) == ITEM
    assert agency.applications == 1


def test_permanent_400_is_rejected_without_retry(agency):
    agency.script = [{"status": 400, "body": {"reason": "unknown enterprise type"}}]
    with adapter(agency.url) as deliver:
        result = deliver(ITEM)
    assert result == Rejected(reason="HTTP 400: unknown enterprise type")
    assert len(agency.seen) == 1 and agency.applications == 0


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_park_the_item_instead_of_rejecting_it(agency, status):
    agency.script = [{"status": status, "body": {"reason": "bad signature"}}]
    with adapter(agency.url) as deliver, pytest.raises(DeliveryFailed) as failed:
        deliver(ITEM)
    assert f"HTTP {status}" in failed.value.last_error
    assert len(agency.seen) == 1 and agency.applications == 0  # not retried: it cannot help


def test_always_5xx_raises_delivery_failed_after_n_attempts(agency):
    agency.script = [{"status": 502}] * 10
    with adapter(agency.url, max_attempts=3) as deliver, pytest.raises(DeliveryFailed) as failed:
        deliver(ITEM)
    assert failed.value.attempts == 3 and "HTTP 502" in failed.value.last_error
    assert failed.value.item_id == ITEM.item_id
    assert len(agency.seen) == 3 and agency.applications == 0


def test_409_with_reference_means_already_applied(agency):
    agency.script = [{"status": 409, "body": {"reference": "AG-EARLIER"}}]
    with adapter(agency.url) as deliver:
        assert deliver(ITEM) == Completed(reference="AG-EARLIER")


def test_2xx_without_reference_uses_the_idempotency_key(agency):
    agency.script = [{"status": 204, "body": {}}]
    with adapter(agency.url) as deliver:
        assert deliver(ITEM) == Completed(reference=ITEM.item_id)


def test_retry_after_is_honoured_and_bounded(agency):
    now = datetime.now(timezone.utc)
    http_date = format_datetime(now + timedelta(seconds=20), usegmt=True)
    agency.script = [{"status": 429, "headers": {"Retry-After": "2"}},
                     {"status": 503, "headers": {"Retry-After": "3600"}},
                     {"status": 503, "headers": {"Retry-After": http_date}}]
    slept: list[float] = []
    with adapter(agency.url, max_retry_after_s=10, sleep=slept.append, clock=lambda: now) as deliver:
        assert isinstance(deliver(ITEM), Completed)
    assert slept[:2] == [2.0, 10.0] and 9 <= slept[2] <= 10


def test_no_wait_is_begun_past_max_elapsed(agency):
    """One call's retries are bounded in time, so they cannot stack past the inbox's poll
    interval (issue 12); the inbox retries the item itself later."""
    agency.script = [{"status": 503, "headers": {"Retry-After": "30"}}] * 5
    slept: list[float] = []
    with adapter(agency.url, max_elapsed_s=20, sleep=slept.append) as deliver, \
            pytest.raises(DeliveryFailed) as failed:
        deliver(ITEM)
    assert failed.value.attempts == 1 and slept == [] and len(agency.seen) == 1


def test_lost_response_after_timeout_is_retried_and_deduplicated(agency):
    agency.script = [{"delay": 0.6}]  # applies the item, but only after the client gave up
    with adapter(agency.url, timeout=httpx.Timeout(0.3)) as deliver:
        result = deliver(ITEM)
    time.sleep(0.5)  # let the slow first request finish applying
    assert result == Completed(reference="AG-0001") and agency.applications == 1
    assert len(agency.seen) >= 2


def test_unreachable_agency_fails_after_n_attempts():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with adapter(f"http://127.0.0.1:{port}/x", max_attempts=2) as deliver, pytest.raises(DeliveryFailed) as failed:
        deliver(ITEM)
    assert failed.value.attempts == 2 and "ConnectError" in failed.value.last_error


def test_redirect_is_parked_at_once(agency):
    agency.script = [{"status": 302, "headers": {"Location": "http://elsewhere/"}}]
    with adapter(agency.url) as deliver, pytest.raises(DeliveryFailed) as failed:
        deliver(ITEM)
    assert failed.value.attempts == 1 and len(agency.seen) == 1


def test_logs_never_show_identity_numbers_or_names(agency, caplog):
    id_number = ITEM.data["payload.spouse_a.id_number"]
    agency.script = [{"status": 503}, {"status": 422, "body": {"reason": f"{id_number} not found"}}]
    with caplog.at_level(logging.DEBUG, logger="adapters"), adapter(agency.url) as deliver:
        result = deliver(ITEM)
    assert result == Rejected(reason=f"HTTP 422: {mask_id(id_number)} not found")
    assert mask_id(id_number) in caplog.text
    secrets = [v for k, v in ITEM.data.items() if v and k.endswith(("id_number", "name"))]
    assert secrets and not any(v in caplog.text for v in secrets)


def test_signature_verification():
    body = json.dumps(ITEM.model_dump(mode="json")).encode()
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert verify_signature(SECRET, header, body, tolerance_s=300)
    tampered = body.replace(b"FEMALE", b"MALE", 1)
    assert tampered != body and not verify_signature(SECRET, header, tampered, 300)
    assert not verify_signature(SECRET, sign(SECRET, body, now - 301), body, 300)
    assert not verify_signature(SECRET, sign(SECRET, body, now + 301), body, 300)
    assert not verify_signature(b"another-agency", header, body, 300)
    assert not verify_signature(SECRET, "v1=" + header.rpartition("v1=")[2], body, 300)
    assert not verify_signature(SECRET, "", body, 300)
    # A rotated secret: the header may carry several v1 values; one match is enough.
    rotated = f"{header},v1={sign(b'old-secret', body, now).rpartition('v1=')[2]}"
    assert verify_signature(SECRET, rotated, body, 300)


def test_adapter_refuses_an_empty_secret():
    with pytest.raises(ValueError):
        WebhookAdapter("http://127.0.0.1:1/", "")


def test_a_shared_client_is_used_and_left_open(agency):
    with httpx.Client(timeout=2.0) as client:
        deliver = adapter(agency.url, client=client)
        assert deliver(ITEM) == Completed(reference="AG-0001")
        deliver.close()
        assert not client.is_closed


def test_a_rejection_never_keeps_the_agencys_raw_body(agency):
    name = ITEM.data["payload.spouse_a.name"]
    agency.script = [{"status": 422, "body": {"echo": ITEM.data, "error": f"{name} unknown"}}]
    with adapter(agency.url) as deliver:
        result = deliver(ITEM)
    # no "reason" field: the HTTP reason phrase stands in, never the body that echoes the item
    assert result == Rejected(reason="HTTP 422: Unprocessable Entity")
