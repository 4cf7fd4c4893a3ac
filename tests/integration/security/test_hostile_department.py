"""A hostile department on the real, secured stack.

With department A's credentials (human resources & social security: it publishes retirements,
accepts registrations with documents missing, and receives items), every attack of the issue is
tried against B — civil affairs, which registers marriages, and public security, which receives
items from them — over Kafka, the registry and HTTP. The router runs as its own principal under
the same ACLs. The suite prints the table (attack, channel, refused) and fails on any "no".
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from kafka import TopicPartition
from kafka.admin import NewTopic

from hub.api.app import create_app
from hub.api.tokens import Role, TokenStore, issue, list_tokens, revoke
from hub.audit.auditor import Auditor
from hub.audit.intake import KafkaAuditIntake, decode_note
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.facts import FactsProjection
from hub.projections.timeline import TimelineProjection
from hub.rules import load_rules
from hub.security.acl_plan import inbox_group, plan
from hub.security.credentials import parse_properties
from hub.security.principals import department_principal
from hub.wire.serde import model_serializer
from producers.pool import PublisherPool
from producers.publisher import Publisher
from tests.factories import submission
from tests.integration.flow_helpers import (dead_letters, inbox_items, routing_decisions,
                                            wait_until, worker)
from tests.integration.security.attacks import (RESULTS, librdkafka_attempt, record,
                                                refused_by_error, table)

ATTACKER = Department.HUMAN_RESOURCES_SOCIAL_SECURITY
VICTIM = Department.CIVIL_AFFAIRS  # publishes marriages
RECEIVER = Department.PUBLIC_SECURITY  # receives an item of every marriage
MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]
ROUTED = 60.0


@pytest.fixture(scope="module")
def stage(secured, tmp_path_factory):
    """B's events routed by a least-privileged router: one marriage routed, one held for
    documents; A's clients; the router keeps running for the attacks."""
    names = TopicNames(secured.topic_prefix)
    victim = Clients(secured.as_principal(department_principal(VICTIM)))
    attacker = Clients(secured.as_principal(department_principal(ATTACKER)))
    with worker(secured.as_principal("router"), tmp_path_factory.mktemp("router")), \
            Publisher(VICTIM, clients=victim) as civil:
        routed = civil.publish_raw(MARRIAGE.event_type.value, submission(MARRIAGE.event_type, seed=11))
        held = civil.publish_raw(MARRIAGE.event_type.value, submission(
            MARRIAGE.event_type, seed=12, pending_documents=["户口簿"]))
        wait_until(lambda: {routed.event_id, held.event_id} <= {
            d.event_id for d in routing_decisions(secured)}, ROUTED, "B's marriages routed")
        yield {"settings": secured, "names": names, "attacker": attacker, "routed": routed,
               "held": held}
    victim.close()
    attacker.close()


def dead_lettered(stage, receipt, what: str) -> tuple[bool, str]:
    """Whether the router parked exactly this record (by topic, partition, offset)."""
    def parked():
        return next((d for d in dead_letters(stage["settings"])
                     if (d.source_topic, d.source_partition, d.source_offset)
                     == (receipt.topic, receipt.partition, receipt.offset)), None)
    try:
        letter = wait_until(parked, ROUTED, f"the dead letter of {what}")
    except AssertionError as exc:
        return False, str(exc)
    return True, f"dead letter: {letter.reason}"


def send(clients: Clients, topic: str, value: bytes = b"forged"):
    producer = clients.producer(client_id="hostile")
    try:
        return producer.send(topic, key=b"k", value=value).get(timeout=10)
    finally:
        producer.close(timeout=2)


# -- the Kafka channel: authentication and ACLs ---------------------------------------------------
def test_kafka_refuses_connections_without_valid_credentials(stage):
    props = credentials_file(stage)
    genuine, _ = librdkafka_attempt(props)
    assert genuine, "the attacker's own file connects (else the refusals below prove nothing)"
    for attack, conf, sign in [
        ("connect without credentials (plaintext)", {"bootstrap.servers": props["bootstrap.servers"]},
         "brokers are down"),
        ("connect with TLS but without SASL", {"bootstrap.servers": props["bootstrap.servers"],
                                               "security.protocol": "SSL",
                                               "ssl.ca.location": props["ssl.ca.location"]},
         "brokers are down"),
        ("connect with A's name and a wrong password", {**props, "sasl.password": "not-it"},
         "SASL authentication error"),
    ]:
        connected, errors = librdkafka_attempt(conf)
        evidence = next((e for e in errors if sign in e), "; ".join(errors) or "no error")
        record(attack, "kafka", not connected and sign in evidence, evidence)


def credentials_file(stage) -> dict[str, str]:
    path = stage["settings"].as_principal(department_principal(ATTACKER)).resolved_credentials_file
    return parse_properties(path.read_text())


def test_any_kafka_client_connects_with_a_credentials_file(stage):
    """The file `hub dev up` wrote is all librdkafka needs (as kcat or Java would read it), and
    the broker then shows the principal only the topics its ACLs name."""
    from confluent_kafka import Producer

    producer = Producer({**credentials_file(stage), "log_level": 0})
    visible = set(producer.list_topics(timeout=10).topics)
    names = stage["names"]
    mine = {p.name for p in plan(names, load_rules())
            if p.principal == department_principal(ATTACKER) and p.resource.value == "TOPIC"}
    assert names.inbox(ATTACKER) in mine and names.inbox(RECEIVER) not in mine
    assert {t for t in visible if t.startswith(stage["settings"].topic_prefix)} == mine
    own = names.events(CATALOGUE[EventType.RETIREMENT_APPROVED], ATTACKER)
    delivered = []
    producer.produce(own, key=b"k", value=b"not avro: the router dead-letters it",
                     on_delivery=lambda err, msg: delivered.append(err))
    producer.flush(10)
    assert delivered == [None]


def test_kafka_refuses_what_the_acls_do_not_allow(stage):
    names, attacker, settings = stage["names"], stage["attacker"], stage["settings"]
    refused_by_error("publish B's event type (marriage_registered)", "kafka",
                     lambda: send(attacker, names.events(MARRIAGE)))
    refused_by_error("publish a supplement on B's supplement topic", "kafka", lambda: send(
        attacker, names.events(CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED], VICTIM)))
    refused_by_error("write an outcome on B's outcome topic", "kafka",
                     lambda: send(attacker, names.outcomes_of(RECEIVER)))
    for topic in names.audit_topics():
        refused_by_error(f"write to {topic.removeprefix(settings.topic_prefix + '.')}", "kafka",
                         lambda topic=topic: send(attacker, topic))
    # People's keys: a forged key on B's intake, or a tombstone on the hub's topic (an erasure
    # nobody asked for), must never reach the router.
    for topic in (names.routing_log, names.inbox(RECEIVER), names.dead_letters,
                  names.dead_letters_of(RECEIVER), names.key_intake(VICTIM), names.subject_keys):
        refused_by_error(f"write to {topic.removeprefix(settings.topic_prefix + '.')}", "kafka",
                         lambda topic=topic: send(attacker, topic))
    keys = [TopicPartition(names.subject_keys, p) for p in range(settings.topic_partitions)]
    with attacker.reading() as consumer:
        refused_by_error("read people's keys (the hub's key topic)", "kafka", lambda: consumer.end_offsets(keys))


def test_kafka_refuses_reading_b_inbox_and_joining_b_group(stage):
    names, attacker, settings = stage["names"], stage["attacker"], stage["settings"]
    inbox = names.inbox(RECEIVER)
    assert inbox_items(settings)[RECEIVER], "B's inbox has items to steal"
    partitions = [TopicPartition(inbox, p) for p in range(settings.topic_partitions)]
    with attacker.reading() as consumer:
        refused_by_error("read B's inbox (offsets)", "kafka", lambda: consumer.end_offsets(partitions))
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        got = sum(len(v) for v in consumer.poll(timeout_ms=3000).values())
        record("read B's inbox (fetch from offset 0)", "kafka", got == 0,
               f"{got} record(s) received of a non-empty inbox")

    def join():
        with attacker.reading(names.inbox(ATTACKER), group_id=inbox_group(settings.topic_prefix, RECEIVER),
                              auto_offset_reset="earliest") as consumer:
            return consumer.poll(timeout_ms=5000)
    refused_by_error("join B's consumer group", "kafka", join)


def test_kafka_refuses_administration(stage):
    names, attacker, settings = stage["names"], stage["attacker"], stage["settings"]
    own = names.inbox(ATTACKER)
    with attacker.administering("hostile") as admin:
        refused_by_error("create a topic", "kafka", lambda: admin.create_topics(
            [NewTopic(f"{settings.topic_prefix}.evil", 1, 1)]))
        refused_by_error("delete a topic (its own inbox)", "kafka", lambda: admin.delete_topics([own]))
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    librdkafka = AdminClient({**credentials_file(stage), "log_level": 0})
    shorter = ConfigResource("TOPIC", own, incremental_configs=[
        ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)])
    refused_by_error("alter a topic's configuration", "kafka", lambda: [
        f.result() for f in librdkafka.incremental_alter_configs([shorter]).values()],
        kinds=(KafkaException,))
    refused_by_error("delete B's consumer group", "kafka", lambda: [
        f.result() for f in librdkafka.delete_consumer_groups(
            [inbox_group(settings.topic_prefix, RECEIVER)], request_timeout=10).values()],
        kinds=(KafkaException,))


def test_the_registry_refuses_changes(stage):
    names, registry = stage["names"], stage["attacker"].registry
    from confluent_kafka.schema_registry import Schema

    subject = f"{names.events(MARRIAGE)}-value"
    evil = Schema('{"type":"record","name":"Evil","fields":[]}', "AVRO")
    refused_by_error("register a schema", "registry", lambda: registry.register_schema(subject, evil))
    refused_by_error("delete a schema subject", "registry", lambda: registry.delete_subject(subject))


# -- the router: references and ids are owned -------------------------------------------------
def retirement(**hints):
    return submission(EventType.RETIREMENT_APPROVED, seed=zlib.crc32(repr(hints).encode()), **hints)


@pytest.mark.parametrize("kind", ["ANNULMENT", "CORRECTION"])
def test_the_router_refuses_changing_b_event(stage, kind):
    with Publisher(ATTACKER, clients=stage["attacker"]) as a:
        receipt = a.publish_raw(EventType.RETIREMENT_APPROVED.value, retirement(
            refers_to={"event_id": stage["routed"].event_id, "change_kind": kind}))
    record(f"{kind.lower()} of B's event", "kafka → router", *dead_lettered(stage, receipt, kind))


def test_the_router_refuses_supplementing_b_event(stage):
    held = stage["held"]
    original = next(d for d in routing_decisions(stage["settings"]) if d.event_id == held.event_id)
    with Publisher(ATTACKER, clients=stage["attacker"]) as a:
        receipt = a.publish_raw(EventType.DOCUMENTS_SUPPLEMENTED.value, {
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "payload": {"supplements_event_id": held.event_id, "subject_id": original.subject_ids[0],
                        "documents": ["户口簿"]}})
    refused, evidence = dead_lettered(stage, receipt, "the supplement")
    released = [d for d in routing_decisions(stage["settings"])
                if d.event_id == held.event_id and d.kind.value == "RELEASED"]
    record("supplement B's held event", "kafka → router", refused and not released,
           evidence + ("; B's event released!" if released else "; B's event still held"))


def test_the_router_refuses_withdrawing_consent_to_b_event(stage):
    routed = stage["routed"]
    original = next(d for d in routing_decisions(stage["settings"]) if d.event_id == routed.event_id)
    with Publisher(ATTACKER, clients=stage["attacker"]) as a:  # A may publish withdrawals: its own
        receipt = a.publish_raw(EventType.CONSENT_WITHDRAWN.value, {
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "payload": {"withdraws_consent_of": routed.event_id, "subject_id": original.subject_ids[0],
                        "items": ["marriage_housing_loan_notice"],
                        "withdrawn_on": datetime.now(timezone.utc).date().isoformat()}})
    refused, evidence = dead_lettered(stage, receipt, "the consent withdrawal")
    told = [w for items in inbox_items(stage["settings"]).values() for _, w in items
            if w.event_id == receipt.event_id]
    record("withdraw consent to B's registration", "kafka → router", refused and not told,
           evidence + (f"; {len(told)} recipient(s) told!" if told else ""))


def test_the_router_refuses_reusing_b_ids(stage):
    routed = stage["routed"]
    with Publisher(ATTACKER, clients=stage["attacker"]) as a:
        same_id = a.publish_raw(EventType.RETIREMENT_APPROVED.value, retirement(event_id=routed.event_id))
        same_case = a.publish_raw(EventType.RETIREMENT_APPROVED.value, retirement(case_id=routed.case_id))
    record("reuse B's event id", "kafka → router", *dead_lettered(stage, same_id, "the reused id"))
    record("join B's case (reuse its case id)", "kafka → router",
           *dead_lettered(stage, same_case, "the reused case id"))


def test_the_case_refuses_an_outcome_for_b_item_from_a_topic(stage):
    settings, names = stage["settings"], stage["names"]
    item = next(w for _, w in inbox_items(settings)[RECEIVER] if w.event_id == stage["routed"].event_id)
    forged = Outcome.for_item(item, OutcomeStatus.COMPLETED, datetime.now(timezone.utc),
                              reference="FORGED")
    topic = names.outcomes_of(ATTACKER)
    value = model_serializer(stage["attacker"].registry, "Outcome")(forged, topic)
    send(stage["attacker"], topic, value)  # allowed: A's own outcome topic
    with Clients(settings) as operator:
        projection = CaseProjection(operator)
        try:
            projection.catch_up()
            state = projection.case(item.case_id).items[item.item_id]
        finally:
            projection.close()
    record("write an outcome for B's item (on A's own outcome topic)", "kafka → case view",
           state.status.value != "COMPLETED", f"B's item is {state.status.value}")


# -- the HTTP channel: tokens, scoped and audited reads -------------------------------------------
@pytest.fixture(scope="module")
def api(stage, tmp_path_factory):
    """The API as `hub serve` runs it — as the gateway principal, under the same ACLs — after the
    auditor (as its own principal) has chained what the router did; tokens for A, B and an
    operator, plus a revoked and an expired one of A's."""
    settings = stage["settings"]
    tokens_file = tmp_path_factory.mktemp("tokens") / "tokens.json"
    token = {name: issue(tokens_file, role, department, label="hostile suite")[0]
             for name, role, department in [("A", Role.DEPARTMENT, ATTACKER),
                                            ("B", Role.DEPARTMENT, VICTIM),
                                            ("operator", Role.OPERATOR, None)]}
    token["revoked"], revoked = issue(tokens_file, Role.DEPARTMENT, ATTACKER)
    revoke(tokens_file, revoked.id)
    token["expired"] = issue(tokens_file, Role.DEPARTMENT, ATTACKER, expires_in=timedelta(seconds=1),
                             now=datetime.now(timezone.utc) - timedelta(minutes=1))[0]
    with Clients(settings.as_principal("auditor")) as auditing:
        with Auditor(auditing).running() as auditor:
            auditor.wait_idle(60)
    gateway = Clients(settings.as_principal("gateway"))
    app = create_app(gateway.settings, TokenStore.load(tokens_file), PublisherPool(gateway),
                     cases=CaseProjection(gateway), facts=FactsProjection(gateway),
                     audit_intake=KafkaAuditIntake(gateway), timeline=TimelineProjection(gateway))
    with TestClient(app) as client:
        yield client, token, tokens_file
    gateway.close()


def get(api, path: str, who: str):
    client, token, _ = api
    return client.get(path, headers={"Authorization": f"Bearer {token[who]}"})


def test_http_refuses_reading_b_cases_and_timelines(stage, api):
    routed = stage["routed"]
    decision = next(d for d in routing_decisions(stage["settings"]) if d.event_id == routed.event_id)
    spouse = decision.subject_ids[0]
    assert get(api, f"/v1/cases/{routed.case_id}", "operator").status_code == 200  # it exists
    answer = get(api, f"/v1/cases/{routed.case_id}", "A")
    record("read B's case", "http", answer.status_code == 404,
           f"{answer.status_code} (the same answer as an unknown case id)")
    listed = get(api, f"/v1/subjects/{spouse}/cases", "A")
    shown = [c.get("case_id") for c in listed.json().get("cases", [])] if listed.status_code == 200 else []
    record("list a B subject's cases", "http", routed.case_id not in shown,
           f"{listed.status_code}, {len(shown)} case(s) shown")
    everything = get(api, f"/v1/audit/subjects/{spouse}", "operator")
    assert everything.status_code == 200 and routed.case_id in everything.text, "the trail exists"
    timeline = get(api, f"/v1/audit/subjects/{spouse}", "A")
    record("read a B subject's audit timeline", "http",
           timeline.status_code in (403, 404) or routed.case_id not in timeline.text,
           f"{timeline.status_code}; B's case {'shown' if routed.case_id in timeline.text else 'absent'}")
    notes = intake_notes(stage["settings"])
    _, token, tokens_file = api
    a_id = next(r.id for r in list_tokens(tokens_file) if r.department == ATTACKER and r.revoked_at is None
                and r.expires_at > datetime.now(timezone.utc))
    audited = [n for n in notes if getattr(n, "token_id", None) == a_id]
    record("... and A's reads are audited", "http → audit intake", len(audited) >= 3,
           f"{len(audited)} read note(s) for A's token id, subject masked")


def test_http_refuses_publishing_b_type_and_dead_tokens(stage, api):
    client, token, _ = api
    body = submission(MARRIAGE.event_type, seed=21)
    answer = client.post(f"/v1/events/{MARRIAGE.event_type.value}", json=body,
                         headers={"Authorization": f"Bearer {token['A']}"})
    record("publish B's event type over HTTP", "http", answer.status_code == 403,
           f"{answer.status_code} {answer.text[:80]}")
    own = retirement()
    for who in ("revoked", "expired"):
        answer = client.post(f"/v1/events/{EventType.RETIREMENT_APPROVED.value}", json=own,
                             headers={"Authorization": f"Bearer {token[who]}"})
        record(f"publish A's own event type with its {who} token", "http", answer.status_code == 401,
               f"{answer.status_code} {answer.text[:80]}")


def intake_notes(settings) -> list:
    names = TopicNames(settings.topic_prefix)
    with Clients(settings) as operator, operator.reading() as consumer:
        partitions = [TopicPartition(names.audit_intake, p) for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records = []
        while any(consumer.position(tp) < offset for tp, offset in end.items()):
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
    return [decode_note(r.value) for r in records]


# -- the verdict ----------------------------------------------------------------------------------
def test_every_attack_was_refused():
    """Runs last in this module: the table of every attempt, failing on any "no"."""
    assert RESULTS, "no attack ran"
    print("\n" + table(RESULTS))
    assert [r.attack for r in RESULTS if not r.refused] == [], table(RESULTS)
