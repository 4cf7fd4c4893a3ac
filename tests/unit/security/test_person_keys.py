"""A publisher mints a person's key once and never keeps the private half; the hub's ring
unwraps what it is given, finds a person's keys, and tells a key not yet read from an erased one."""

from __future__ import annotations

import io

import fastavro
import pytest

from hub.security.person_keys import KeyRecord, KeyRing, KeyState, PublisherKeys
from hub.security.shredding import Undecryptable, decrypt_fields, encrypt_fields, mint
from hub.wire.schemas import named_schema

SUBJECT, OTHER = "330106199001020011", "330106199203040022"


@pytest.fixture
def master():
    return mint()


def test_a_person_gets_one_key_per_publisher_and_the_record_goes_out_first(master):
    sent: list[KeyRecord] = []
    keys = PublisherKeys(master.public_key, sent.append)
    first = keys.key_for(SUBJECT)
    assert keys.key_for(SUBJECT) == first and len(sent) == 1
    assert keys.key_for(OTHER) != first and len(sent) == 2
    assert sent[0].key_id == first[0] and sent[0].public_key == first[1]


def test_a_failed_send_leaves_no_key_behind(master):
    def down(record):
        raise ConnectionError("broker unreachable")

    keys = PublisherKeys(master.public_key, down)
    with pytest.raises(ConnectionError):
        keys.key_for(SUBJECT)
    sent: list[KeyRecord] = []
    keys._send = sent.append
    keys.key_for(SUBJECT)
    assert len(sent) == 1  # minted afresh, and published this time


def test_the_ring_opens_what_a_publisher_encrypted(master):
    sent: list[KeyRecord] = []
    key_id, public = PublisherKeys(master.public_key, sent.append).key_for(SUBJECT)
    ring = KeyRing(master.private_key)
    for record in sent:
        ring.add(record)
    block = encrypt_fields(key_id, public, "event-1", {"payload.spouse_a.name": "测试甲"})
    assert decrypt_fields(key_id, ring.private_key(key_id), "event-1", block) == {"payload.spouse_a.name": "测试甲"}
    assert ring.keys_of(SUBJECT) == {key_id} and ring.keys_of(OTHER) == frozenset()


def test_every_publishers_key_of_a_person_is_found_and_erased(master):
    sent: list[KeyRecord] = []
    civil, health = PublisherKeys(master.public_key, sent.append), PublisherKeys(master.public_key, sent.append)
    ids = {civil.key_for(SUBJECT)[0], health.key_for(SUBJECT)[0]}
    ring = KeyRing(master.private_key)
    for record in sent:
        ring.add(record)
    assert ring.keys_of(SUBJECT) == ids
    for key_id in ids:
        ring.remove(key_id)
    assert ring.keys_of(SUBJECT) == frozenset()
    assert all(ring.private_key(k) is None for k in ids)


def test_a_key_not_read_yet_is_unknown_until_the_topics_are_read_to_the_end(master):
    ring = KeyRing(master.private_key)
    assert ring.state("never-seen", caught_up=False) is KeyState.UNKNOWN
    assert ring.state("never-seen", caught_up=True) is KeyState.ERASED


def test_a_record_wrapped_to_another_master_key_is_refused(master):
    sent: list[KeyRecord] = []
    PublisherKeys(mint().public_key, sent.append).key_for(SUBJECT)
    with pytest.raises(Undecryptable):
        KeyRing(master.private_key).add(sent[0])


def test_the_publishers_memory_is_bounded(master):
    sent: list[KeyRecord] = []
    keys = PublisherKeys(master.public_key, sent.append, capacity=2)
    for subject in (SUBJECT, OTHER, "330106199305060033"):
        keys.key_for(subject)
    keys.key_for(SUBJECT)  # forgotten as the oldest: a new key, which is harmless
    assert len(sent) == 4


def test_a_key_record_travels_as_its_avro_record(master):
    sent: list[KeyRecord] = []
    PublisherKeys(master.public_key, sent.append, master_key_id="m1").key_for(SUBJECT)
    schema = fastavro.parse_schema(named_schema("SubjectKey"))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, sent[0].as_avro())
    buffer.seek(0)
    back = KeyRecord.from_avro(fastavro.schemaless_reader(buffer, schema))
    assert back == sent[0] and back.master_key_id == "m1"
    ring = KeyRing(master.private_key)
    ring.add(back)
    assert ring.keys_of(SUBJECT) == {back.key_id}


def test_a_slow_key_write_for_one_person_does_not_hold_up_another_persons_key():
    import threading

    first_send_started, release_first = threading.Event(), threading.Event()
    sent: list[str] = []

    def send(record: KeyRecord) -> None:
        if not sent:  # the first person's key write hangs until released
            sent.append(record.key_id)
            first_send_started.set()
            assert release_first.wait(5)
            return
        sent.append(record.key_id)

    keys = PublisherKeys(mint().public_key, send)
    slow = threading.Thread(target=keys.key_for, args=(SUBJECT,))
    slow.start()
    assert first_send_started.wait(5)
    other = keys.key_for(OTHER)  # answered while the first write still waits
    assert other[0] == sent[1]
    release_first.set()
    slow.join(5)
    assert keys.key_for(SUBJECT)[0] == sent[0]  # kept once its write returned
