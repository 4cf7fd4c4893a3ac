"""Publish through the SDK and over HTTP; a client that knows nothing of the hub reads it back:
everything but each person's fields, which it finds as placeholders beside their encrypted
blocks (crypto-shredding); the hub, holding the master key, opens them again."""

from __future__ import annotations

import random
import struct

import httpx
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from tests.factories import sealed, sealed_record
from hub.domain.personal_data import split
from hub.kafka.clients import Clients
from hub.kafka.key_feed import KeyFeed
from hub.security.shredding import reveal_record
from hub.api.app import create_app
from hub.api.local_server import LocalServer
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.domain.catalogue import CATALOGUE
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Publisher, Receipt
from tests.integration.helpers import read_record, third_party_decode

SPECS = list(CATALOGUE.values())


def _expected_record(spec, submission: dict, decoded: dict) -> dict:
    """What the hub should have written: the submission sealed with the ids and time it got."""
    env = decoded["envelope"]
    return sealed_record(spec, {**submission, "event_id": env["event_id"]},
                         clock=lambda: env["recorded_at"])


def _assert_landed(settings, spec, submission: dict, receipt: Receipt) -> None:
    rec = read_record(settings, receipt.topic, receipt.partition, receipt.offset)
    magic, schema_id = struct.unpack(">bI", rec.value[:5])
    registry = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    latest = registry.get_latest_version(f"{receipt.topic}-value")
    assert (magic, schema_id) == (0, latest.schema_id)  # Confluent framing, registered id
    decoded = third_party_decode(settings, receipt.topic, rec.value)
    expected = _expected_record(spec, submission, decoded)
    clear, taken = split(expected)
    assert _without_blocks(decoded) == clear  # people's fields are placeholders to a third party
    assert [b["role"] for b in decoded["envelope"]["protected"]] == [part.role for part, _, _ in taken]
    feed = KeyFeed(Clients(settings))
    try:
        assert _without_blocks(reveal_record(decoded, feed.private_key)[0]) == expected  # the hub opens them
    finally:
        feed.close()
    assert decoded["envelope"]["event_id"] == receipt.event_id
    assert rec.key.decode() == decoded["envelope"]["subject_ids"][0]
    assert dict(rec.headers)["oncehub.event_type"] == spec.event_type.value.encode()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.event_type.value)
def test_sdk_publish_reads_back_with_confluent_deserializer(settings, spec):
    submission = generate(spec.event_type, random.Random(7))
    with Publisher(spec.owner, settings) as publisher:
        receipt = publisher.publish_raw(spec.event_type.value, submission)
    assert receipt.topic == spec.topic(settings.topic_prefix)
    assert receipt.case_id == f"case-{receipt.event_id}"
    _assert_landed(settings, spec, submission, receipt)


def test_typed_sdk_publish_keeps_client_ids(settings):
    spec = CATALOGUE["marriage_registered"]
    submission = generate(spec.event_type, random.Random(8))
    payload = spec.payload_model.model_validate(submission["payload"])
    event_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    with Publisher(spec.owner, settings) as publisher:
        receipt = publisher.publish(payload, occurred_at=sealed(spec, submission)
                                    .envelope.occurred_at, case_id="case-wedding-1",
                                    event_id=event_id)
    assert (receipt.event_id, receipt.case_id) == (event_id, "case-wedding-1")
    decoded = third_party_decode(settings, receipt.topic, read_record(
        settings, receipt.topic, receipt.partition, receipt.offset).value)
    assert decoded["envelope"]["case_id"] == "case-wedding-1"
    assert decoded["payload"]["spouse_a"]["name"] == ""  # encrypted: a placeholder in the clear
    assert decoded["envelope"]["subject_ids"][0] == payload.spouse_a.id_number  # the filing index stays
    # and so the number beside it is not sealed: it would hide nothing the envelope does not say
    assert decoded["payload"]["spouse_a"]["id_number"] == payload.spouse_a.id_number


def _without_blocks(record: dict) -> dict:
    return {**record, "envelope": {**record["envelope"], "protected": []}}


@pytest.fixture
def ingest(settings):
    """The real ingest app on a loopback port, with one token per owning department."""
    tokens = {spec.owner: f"test-token-{spec.owner.value}" for spec in SPECS}
    from datetime import datetime, timezone

    store = TokenStore([TokenRecord(department=d, sha256=token_hash(t),
                                    issued_at=datetime.now(timezone.utc)) for d, t in tokens.items()])
    pool = PublisherPool(Clients(settings))
    with LocalServer(create_app(settings, store, pool)) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, tokens
    pool.close()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.event_type.value)
def test_http_publish_reads_back_with_confluent_deserializer(settings, ingest, spec):
    client, tokens = ingest
    submission = generate(spec.event_type, random.Random(9))
    response = client.post(f"/v1/events/{spec.event_type.value}", json=submission,
                           headers={"Authorization": f"Bearer {tokens[spec.owner]}"})
    assert response.status_code == 202, response.text
    _assert_landed(settings, spec, submission, Receipt.model_validate(response.json()))
