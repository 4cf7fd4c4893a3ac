"""``make demo``: the publish path end to end on the real stack.

Each seed event type is published twice — once through the Python SDK and once over HTTP by a
department holding a bearer token — then every event is read back from Kafka and decoded
against the registry, and matched to its receipt.
"""

from __future__ import annotations

import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import uvicorn

from hub.api.app import create_app
from hub.auth import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.identifiers import mask_id
from hub.errors import HubError
from hub.registry import SchemaCatalogueRegistry, registry_client
from hub.topics import end_offsets, ensure_topics, event_topics
from consumers.event_reader import read_between
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Receipt

Echo = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _LocalIngest:
    """The HTTP ingest app on a loopback port in a background thread, for the demo's duration."""

    def __init__(self, settings: HubSettings, tokens: TokenStore, pool: PublisherPool):
        self.port = _free_port()
        config = uvicorn.Config(create_app(settings, tokens, pool), host="127.0.0.1",
                                port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise HubError("demo ingest server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _prepare(settings: HubSettings, echo: Echo) -> None:
    created = ensure_topics(settings, event_topics(settings))
    echo(f"topics: {len(event_topics(settings))} event topics ({len(created)} created now)")
    registry = SchemaCatalogueRegistry(registry_client(settings), settings.topic_prefix)
    for status in registry.register_all():
        echo(f"schema: {status.subject} -> id {status.schema_id}")


def _publish_over_http(base: str, tokens: dict, rng: random.Random) -> list[Receipt]:
    receipts = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for spec in CATALOGUE.values():
            response = client.post(
                f"/v1/events/{spec.event_type.value}", json=generate(spec.event_type, rng),
                headers={"Authorization": f"Bearer {tokens[spec.owner]}"},
            )
            if response.status_code != 202:
                raise HubError(f"HTTP ingest answered {response.status_code}: {response.text}")
            receipts.append(Receipt.model_validate(response.json()))
    return receipts


def run_demo(settings: HubSettings, echo: Echo = print, seed: int | None = None) -> list[Receipt]:
    rng = random.Random(seed)
    _prepare(settings, echo)
    topics = event_topics(settings)
    before = end_offsets(settings, topics)
    # Tokens for this run only: generated in memory, never written anywhere.
    tokens = {spec.owner: f"demo_{secrets.token_urlsafe(16)}" for spec in CATALOGUE.values()}
    store = TokenStore([TokenRecord(department=d, sha256=token_hash(t), issued_at=datetime.now(timezone.utc))
                        for d, t in tokens.items()])
    pool = PublisherPool(settings)
    try:
        sdk = [pool(s.owner).publish_raw(s.event_type.value, generate(s.event_type, rng))
               for s in CATALOGUE.values()]
        with _LocalIngest(settings, store, pool) as base:
            http = _publish_over_http(base, tokens, rng)
    finally:
        pool.close()
    echo("\nreceipts:")
    for via, receipt in [("sdk", r) for r in sdk] + [("http", r) for r in http]:
        echo(f"  [{via:4}] {receipt.model_dump_json()}")
    _read_back(settings, before, end_offsets(settings, topics), sdk + http, echo)
    return sdk + http


def _read_back(settings, before, after, receipts: list[Receipt], echo: Echo) -> None:
    echo("\nread back from Kafka (decoded with the registered schemas):")
    seen = {}
    for stored in read_between(settings, before, after):
        env = stored.event.envelope
        seen[env.event_id] = stored
        echo(f"  {stored.topic}[{stored.partition}]@{stored.offset} {env.event_type.value:32} "
             f"subject={mask_id(stored.key)} case={env.case_id}")
    missing = [r.event_id for r in receipts if r.event_id not in seen]
    if missing:
        raise HubError(f"{len(missing)} published event(s) were not read back: {missing}")
    echo(f"\nall {len(receipts)} published events were read back.")
