"""The SDK encrypts each person's fields to that person's key before the event is written, and
the hub's key feed opens them (crypto-shredding, issue 13 point 4), on the in-memory broker."""

from __future__ import annotations

import random

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.kafka.key_feed import FieldsUnopened, KeyFeed
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.config import HubSettings
from hub.wire.codec import event_to_record
from hub.wire.serde import event_decoders
from producers.demo_data import generate
from producers.publisher import Publisher

MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]


@pytest.fixture
def clients(tmp_path):
    return InMemoryClients.provisioned(HubSettings(topic_prefix="keys", state_dir=tmp_path))


def _publish(clients, submission) -> tuple[bytes, str]:
    receipt = Publisher(Department.CIVIL_AFFAIRS, clients=clients).publish_raw(
        MARRIAGE.event_type.value, submission)
    (record,) = [r for r in clients.broker.records(receipt.topic) if r.offset == receipt.offset
                 and r.partition == receipt.partition]
    return record.value, receipt.topic


def test_the_event_topic_holds_placeholders_and_the_hub_opens_them(clients):
    submission = generate(EventType.MARRIAGE_REGISTERED, random.Random(7))
    value, topic = _publish(clients, submission)
    names = TopicNames("keys")
    spouses = [submission["payload"]["spouse_a"], submission["payload"]["spouse_b"]]
    for spouse in spouses:
        assert spouse["name"].encode() not in value  # the names travel encrypted only
    # Two people, two keys, each on the civil affairs' own intake, before the event.
    assert len(clients.broker.records(names.key_intake(Department.CIVIL_AFFAIRS))) == 2

    feed = KeyFeed(clients, copy_intakes=True)
    opened = event_to_record(event_decoders(clients.registry, feed.reveal)[MARRIAGE.event_type](value, topic))
    assert [opened["payload"][role]["name"] for role in ("spouse_a", "spouse_b")] == \
        [s["name"] for s in spouses]
    assert [opened["payload"][role]["id_number"] for role in ("spouse_a", "spouse_b")] == \
        [s["id_number"] for s in spouses]
    # The router's feed copied the keys to the hub's own (compacted) topic.
    assert len(clients.broker.records(names.subject_keys)) == 2


def test_a_person_published_about_again_keeps_their_key(clients):
    submission = generate(EventType.MARRIAGE_REGISTERED, random.Random(8))
    publisher = Publisher(Department.CIVIL_AFFAIRS, clients=clients)
    publisher.publish_raw(MARRIAGE.event_type.value, submission)
    publisher.publish_raw(MARRIAGE.event_type.value, submission)
    assert len(clients.broker.records(TopicNames("keys").key_intake(Department.CIVIL_AFFAIRS))) == 2


def test_fields_whose_key_is_not_on_the_key_topics_do_not_open(clients):
    submission = generate(EventType.MARRIAGE_REGISTERED, random.Random(9))
    value, topic = _publish(clients, submission)
    intake = TopicNames("keys").key_intake(Department.CIVIL_AFFAIRS)
    producer = clients.producer()
    for key in clients.broker.records(intake):  # a tombstone for each key: erased
        producer.send(intake, key=key.key, value=None)
    decode = event_decoders(clients.registry, KeyFeed(clients).reveal)[MARRIAGE.event_type]
    with pytest.raises(FieldsUnopened, match="spouse_a, spouse_b") as refused:
        decode(value, topic)
    assert submission["payload"]["spouse_a"]["id_number"] not in str(refused.value)


def test_an_erased_key_is_not_taken_or_copied_again_from_the_intake(clients):
    """The intake keeps a key a day after its tombstone on the hub's topic: a feed reading both
    (in either order) neither opens the fields nor copies the key back."""
    value, topic = _publish(clients, generate(EventType.MARRIAGE_REGISTERED, random.Random(10)))
    names = TopicNames("keys")
    intake = clients.broker.records(names.key_intake(Department.CIVIL_AFFAIRS))
    producer = clients.producer()
    for key in intake:  # what an erasure writes: a tombstone per key id on the hub's topic
        producer.send(names.subject_keys, key=key.key, value=None)
    feed = KeyFeed(clients, copy_intakes=True)
    with pytest.raises(FieldsUnopened):
        event_decoders(clients.registry, feed.reveal)[MARRIAGE.event_type](value, topic)
    assert [r.value for r in clients.broker.records(names.subject_keys)] == [None, None]  # nothing copied back


def test_a_key_held_in_memory_stops_opening_soon_after_its_tombstone(clients):
    now = [0.0]
    value, topic = _publish(clients, generate(EventType.MARRIAGE_REGISTERED, random.Random(11)))
    feed = KeyFeed(clients, refresh_s=5.0, monotonic=lambda: now[0])
    decode = event_decoders(clients.registry, feed.reveal)[MARRIAGE.event_type]
    decode(value, topic)  # opens: the keys are read and held
    names, producer = TopicNames("keys"), clients.producer()
    for key in clients.broker.records(names.key_intake(Department.CIVIL_AFFAIRS)):
        producer.send(names.subject_keys, key=key.key, value=None)
    now[0] = 4.0
    decode(value, topic)  # within the refresh interval the held keys still open
    now[0] = 5.0
    with pytest.raises(FieldsUnopened):
        decode(value, topic)


def test_a_publisher_with_another_master_key_is_named_as_the_cause(clients, tmp_path):
    """A deployment that gave a publisher another hub's public key: the router's dead letter must
    say so, not call the key erased."""
    elsewhere = clients.settings.model_copy(update={"state_dir": tmp_path / "elsewhere"})
    other = InMemoryClients(elsewhere, broker=clients.broker)
    other._registry = clients.registry  # noqa: SLF001 - the same registry, another master key
    receipt = Publisher(Department.CIVIL_AFFAIRS, clients=other).publish_raw(
        MARRIAGE.event_type.value, generate(EventType.MARRIAGE_REGISTERED, random.Random(12)))
    (record,) = [r for r in clients.broker.records(receipt.topic)
                 if (r.partition, r.offset) == (receipt.partition, receipt.offset)]
    decode = event_decoders(clients.registry, KeyFeed(clients).reveal)[MARRIAGE.event_type]
    with pytest.raises(FieldsUnopened, match="wrapped to another master key"):
        decode(record.value, receipt.topic)


def test_a_missing_key_schema_is_named_as_the_key_s_not_the_event_s(tmp_path):
    from hub.errors import ConfigurationError
    from hub.schema_registry.catalogue import SchemaCatalogueRegistry

    clients = InMemoryClients(HubSettings(topic_prefix="nokeys", state_dir=tmp_path))
    SchemaCatalogueRegistry(clients.registry, "nokeys").register_all()  # the events' schemas only
    with pytest.raises(ConfigurationError, match=r"nokeys\.subject-keys\.civil_affairs-value \(people's keys\)"):
        Publisher(Department.CIVIL_AFFAIRS, clients=clients).publish_raw(
            MARRIAGE.event_type.value, generate(EventType.MARRIAGE_REGISTERED, random.Random(9)))


def test_a_key_write_waiting_on_kafka_does_not_hold_up_a_publish_about_someone_else(clients):
    import threading

    publisher = Publisher(Department.CIVIL_AFFAIRS, clients=clients)
    first_started, release_first, sent = threading.Event(), threading.Event(), []

    def send_key(record) -> None:  # the first person's key write hangs until released
        sent.append(record.key_id)
        if len(sent) == 1:
            first_started.set()
            assert release_first.wait(5)

    publisher._send_key = send_key
    slow = threading.Thread(target=publisher._key_for, args=("330106199001020011",))
    slow.start()
    assert first_started.wait(5)
    other = threading.Thread(target=publisher._key_for, args=("330106199203040022",))
    other.start()
    other.join(2)
    try:
        assert not other.is_alive(), "the second person's key waited for the first person's write"
        assert len(sent) == 2
    finally:
        release_first.set()
        slow.join(5)
        other.join(5)
