"""``make demo``: the publish path end to end on the real stack.

Each seed event type is published twice — once through the Python SDK and once over HTTP by a
department holding a bearer token — then every event is read back from Kafka and decoded
against the registry, and matched to its receipt.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import datetime, timezone

import httpx

from hub.api.app import create_app
from hub.api.local_server import LocalServer
from hub.auth import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.identifiers import mask_id
from hub.errors import HubError
from hub.provisioning import provision_catalogue
from hub.topics import end_offsets, event_topics
from consumers.event_reader import read_between
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Receipt

Echo = Callable[[str], None]


def _prepare(settings: HubSettings, echo: Echo) -> None:
    done = provision_catalogue(settings)
    echo(f"topics: {len(done.topics)} event topics ({len(done.created_topics)} created now)")
    for status in done.schemas:
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
        with LocalServer(create_app(settings, store, pool)) as base:
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
