"""``make demo``: the six seed scenarios end to end on the real stack.

Each seed event type is published twice — once through the Python SDK and once over HTTP by a
department holding a bearer token — every event is read back from Kafka, decoded against the
registry and matched to its receipt; then the router and the reference agencies complete every
follow-on item in the background (see :mod:`hub.demo.back_office`).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import datetime, timezone

import httpx

from hub.kafka.clients import Clients
from hub.kafka.key_feed import KeyFeed
from hub.api.app import create_app
from hub.api.local_server import LocalServer
from hub.api.tokens import TokenRecord, TokenStore, token_hash
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import REGISTRATIONS
from hub.domain.identifiers import mask_id
from hub.demo.back_office import BackOffice
from hub.errors import HubError
from hub.schema_registry.provisioning import provision_catalogue
from hub.kafka.admin import end_offsets
from hub.kafka.topic_names import TopicNames
from consumers.event_reader import read_between
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Publisher, Receipt
from hub.kafka import acls
from hub.rules import load_rules
from hub.security.acl_plan import plan
from hub.security.principals import Service

Echo = Callable[[str], None]
# The six seed triggers (a supplement or a consent withdrawal is published only in answer to one).
TRIGGERS = [CATALOGUE[t] for t in REGISTRATIONS]
YOGA_MISSING = ["章程（会员大会通过稿）"]


def _prepare(clients: Clients, echo: Echo) -> None:
    done = provision_catalogue(clients)
    echo(f"topics: {len(done.topics)} event topics ({len(done.created_topics)} created now)")
    for status in done.schemas:
        echo(f"schema: {status.subject} -> id {status.schema_id}")
    if clients.secured:
        prefix = clients.settings.topic_prefix
        change = acls.apply(clients, prefix, plan(TopicNames(prefix), load_rules()))
        echo(f"ACLs for {prefix!r}: {change.unchanged + len(change.created)} (each department, the "
             "router, the auditor and the gateway run as their own principals from here on)")


def _publish_over_http(base: str, tokens: dict, rng: random.Random) -> list[Receipt]:
    receipts = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for spec in TRIGGERS:
            response = client.post(
                f"/v1/events/{spec.event_type.value}", json=seed_submission(spec, rng, "http"),
                headers={"Authorization": f"Bearer {tokens[spec.owner]}"},
            )
            if response.status_code != 202:
                raise HubError(f"HTTP ingest answered {response.status_code}: {response.text}")
            receipts.append(Receipt.model_validate(response.json()))
    return receipts


def run_demo(settings: HubSettings, echo: Echo = print, seed: int | None = None) -> list[Receipt]:
    with Clients(settings) as clients:
        return _run(clients, echo, seed)


def _run(clients: Clients, echo: Echo, seed: int | None) -> list[Receipt]:
    settings = clients.settings
    rng = random.Random(seed)
    _prepare(clients, echo)
    topics = TopicNames(settings.topic_prefix).all_events()
    before = end_offsets(clients, topics)
    # Tokens for this run only: generated in memory, never written anywhere.
    tokens = {spec.owner: f"demo_{secrets.token_urlsafe(16)}" for spec in TRIGGERS}
    store = TokenStore([TokenRecord(department=d, sha256=token_hash(t), issued_at=datetime.now(timezone.utc))
                        for d, t in tokens.items()])
    # HTTP ingest publishes as the gateway, for the department each token names; the SDK as
    # each department itself (its own credentials: the broker checks what it may write).
    gateway = Clients(settings.for_service(Service.GATEWAY))
    pool = PublisherPool(gateway)
    with BackOffice(clients, echo) as back_office:
        try:
            sdk, submitted = [], {}
            for spec in TRIGGERS:
                submission = submitted[spec.event_type.value] = seed_submission(spec, rng, "sdk")
                with Publisher(spec.owner, settings) as department:
                    sdk.append(department.publish_raw(spec.event_type.value, submission))
            with LocalServer(create_app(settings, store, pool)) as base:
                http = _publish_over_http(base, tokens, rng)
        finally:
            pool.close()
            gateway.close()
        echo("\nreceipts:")
        for via, receipt in [("sdk", r) for r in sdk] + [("http", r) for r in http]:
            echo(f"  [{via:4}] {receipt.model_dump_json()}")
        _read_back(clients, before, end_offsets(clients, topics), sdk + http, echo)
        yoga = sdk[0]  # accepted with a document missing: held until the supplement
        back_office.supplement(yoga, YOGA_MISSING)
        back_office.complete([r.case_id for r in sdk + http])
        married = next(r for r in sdk if r.event_type == "marriage_registered")  # the one who consented
        back_office.withdraw_consent(married, ["marriage_housing_loan_notice"])
        # The foreign-invested enterprise's legal representative asks to be erased (PIPL art. 47).
        company = next(r for r in sdk if r.event_type == "enterprise_registered")
        representative = submitted["enterprise_registered"]["payload"]["legal_representative"]["id_number"]
        back_office.erase(company, representative)
        back_office.audit()
    spouse = submitted["marriage_registered"]["payload"]["spouse_a"]["id_number"]
    _see_it(settings, spouse, echo)
    return sdk + http


def _see_it(settings: HubSettings, subject: str, echo: Echo) -> None:
    """Where to look next: the operator console (with a token issued for it) and the page of a
    citizen whose marriage was just registered (a link good for an hour)."""
    from datetime import timedelta

    from hub.api.tokens import Role, issue
    from hub.security.citizen_links import CitizenLinks

    token, _ = issue(settings.resolved_tokens_file, Role.OPERATOR, None, "make demo: operator console",
                     timedelta(days=1))
    link = CitizenLinks(settings.resolved_citizen_link_key_file).token_for(subject, ttl_s=3600)
    echo("\nsee it working — start `hub serve` (port 8000), then open:")
    echo("  operator console:  http://127.0.0.1:8000/console")
    echo(f"                     sign in with the operator token {token} (valid 24 h)")
    echo(f"  a citizen's page:  http://127.0.0.1:8000/citizen/{link}")
    echo(f"                     (spouse A of the SDK marriage, {mask_id(subject)}; the link works for an hour)")


def seed_submission(spec, rng: random.Random, via: str) -> dict:
    """Synthetic submissions shaped after the seeds: the yoga association (seed 003), one
    foreign-invested (SDK) and one domestic (HTTP) enterprise for the commerce filing (seed 004),
    and a marriage with consent to the provident fund's optional notice (SDK) and one without."""
    submission = generate(spec.event_type, rng)
    payload = submission["payload"]
    if spec.event_type.value == "social_organisation_registered" and via == "sdk":
        payload["organisation_name"] = "杭州市萧山区瑜伽协会"
        submission["pending_documents"] = YOGA_MISSING  # 容缺受理
    if spec.event_type.value == "enterprise_registered":
        foreign = via == "sdk"
        payload["foreign_invested"], payload["investor_countries"] = foreign, ["SG"] if foreign else []
    if spec.event_type.value == "marriage_registered" and via == "sdk":
        # One couple ticks the optional housing-loan notice at the window; the other does not, and
        # its routing decision says so ("not shared: no consent").
        submission["consents"] = ["marriage_housing_loan_notice"]
    return submission


def _read_back(clients: Clients, before, after, receipts: list[Receipt], echo: Echo) -> None:
    echo("\nread back from Kafka (decoded with the registered schemas, people's fields opened "
         "with their keys):")
    seen = {}
    feed = KeyFeed(clients)
    for stored in read_between(clients, before, after, reveal=feed.reveal):
        env = stored.event.envelope
        seen[env.event_id] = stored
        echo(f"  {stored.topic}[{stored.partition}]@{stored.offset} {env.event_type.value:32} "
             f"subject={mask_id(stored.key)} case={env.case_id}")
    missing = [r.event_id for r in receipts if r.event_id not in seen]
    if missing:
        raise HubError(f"{len(missing)} published event(s) were not read back: {missing}")
    feed.close()
    echo(f"\nall {len(receipts)} published events were read back.")
