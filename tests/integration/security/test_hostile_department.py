"""A hostile department on the real, secured stack.

With department A's credentials (human resources & social security: it publishes retirements,
accepts registrations with documents missing, and receives items), every attack of the issue is
tried against B — civil affairs, which registers marriages, and public security, which receives
items from them — over Kafka, the registry and HTTP. The router runs as its own principal under
the same ACLs. The suite prints the table (attack, channel, refused) and fails on any "no".
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from kafka import TopicPartition
from kafka.admin import NewTopic

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.rules import load_rules
from hub.security.acl_plan import inbox_group, plan
from hub.security.credentials import parse_properties
from hub.security.principals import department_principal
from hub.wire.serde import model_serializer
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
    for topic in (names.routing_log, names.inbox(RECEIVER)):
        refused_by_error(f"write to {topic.removeprefix(settings.topic_prefix + '.')}", "kafka",
                         lambda topic=topic: send(attacker, topic))


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
    return submission(EventType.RETIREMENT_APPROVED, seed=hash(str(hints)) % 1000, **hints)


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


# -- the verdict ----------------------------------------------------------------------------------
def test_every_attack_was_refused():
    """Runs last in this module: the table of every attempt, failing on any "no"."""
    assert RESULTS, "no attack ran"
    print("\n" + table(RESULTS))
    assert [r.attack for r in RESULTS if not r.refused] == [], table(RESULTS)
