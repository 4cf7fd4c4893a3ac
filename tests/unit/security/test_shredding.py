"""The cipher of crypto-shredding: a person's fields open with that person's key only, in the
event they were protected for, and not at all once the key is gone."""

from __future__ import annotations

import copy
import io
import random

import fastavro
import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.security.shredding import (
    Ciphertext,
    Undecryptable,
    decrypt_fields,
    encrypt_fields,
    mint,
    protect_event,
    protect_record,
    reveal_event,
    reveal_record,
    unwrap,
    wrap_for_hub,
)
from hub.wire.schemas import event_schema
from producers.demo_data import generate
from tests.factories import sealed_record

FIELDS = {"payload.spouse_a.name": "测试甲", "payload.spouse_a.birth_date": "1990-01-02",
          "payload.spouse_a.address": None}
EVENT = "5d0c2a9e-6f1d-4c8e-9a57-0e4c1f2b3a77"


def test_fields_open_with_their_own_key_in_their_own_event():
    person = mint()
    protected = encrypt_fields(person.key_id, person.public_key, EVENT, FIELDS)
    assert "测试甲".encode() not in protected.ciphertext and b"1990" not in protected.ciphertext
    assert decrypt_fields(person.key_id, person.private_key, EVENT, protected) == FIELDS


def test_another_persons_key_does_not_open_them():
    person, spouse = mint(), mint()
    protected = encrypt_fields(person.key_id, person.public_key, EVENT, FIELDS)
    with pytest.raises(Undecryptable):
        decrypt_fields(person.key_id, spouse.private_key, EVENT, protected)


@pytest.mark.parametrize("moved", ["event", "key id"])
def test_a_block_moved_to_another_event_or_key_does_not_open(moved):
    person = mint()
    protected = encrypt_fields(person.key_id, person.public_key, EVENT, FIELDS)
    event, key_id = (("another-event", person.key_id) if moved == "event" else (EVENT, mint().key_id))
    with pytest.raises(Undecryptable):
        decrypt_fields(key_id, person.private_key, event, protected)


def test_an_altered_block_does_not_open():
    person = mint()
    protected = encrypt_fields(person.key_id, person.public_key, EVENT, FIELDS)
    flipped = bytes([protected.ciphertext[0] ^ 1]) + protected.ciphertext[1:]
    with pytest.raises(Undecryptable):
        decrypt_fields(person.key_id, person.private_key, EVENT, Ciphertext(protected.ephemeral, protected.nonce, flipped))


def test_sealing_the_same_fields_twice_gives_different_blocks():
    person = mint()
    first, second = (encrypt_fields(person.key_id, person.public_key, EVENT, FIELDS) for _ in range(2))
    assert first.ciphertext != second.ciphertext and first.ephemeral != second.ephemeral


def test_only_the_hub_master_key_unwraps_a_persons_key_and_its_subject():
    hub, person = mint(), mint()
    wrapped = wrap_for_hub(hub.public_key, "330106199001020011", person)
    assert b"330106" not in wrapped.ciphertext
    assert unwrap(hub.private_key, person.key_id, wrapped) == ("330106199001020011", person.private_key)
    with pytest.raises(Undecryptable):
        unwrap(mint().private_key, person.key_id, wrapped)
    with pytest.raises(Undecryptable):  # the wrap is bound to its key id
        unwrap(hub.private_key, mint().key_id, wrapped)


def test_key_ids_are_unique():
    assert len({mint().key_id for _ in range(100)}) == 100


# -- whole events ------------------------------------------------------------------------------

def _marriage() -> dict:
    return sealed_record(EventType.MARRIAGE_REGISTERED, generate(EventType.MARRIAGE_REGISTERED, random.Random(8)))


class Keyring:
    """Keys as the hub would hold them: one pair per subject, erasable."""

    def __init__(self):
        self.pairs, self.by_subject = {}, {}

    def key_for(self, subject: str):
        pair = self.by_subject.setdefault(subject, mint())
        self.pairs[pair.key_id] = pair
        return pair.key_id, pair.public_key

    def private_key(self, key_id: str):
        pair = self.pairs.get(key_id)
        return pair.private_key if pair else None

    def erase(self, subject: str):
        del self.pairs[self.by_subject.pop(subject).key_id]


def test_an_event_opens_whole_with_every_key():
    keys, event = Keyring(), _marriage()
    clear, parts = protect_event(event, keys.key_for)
    assert [p.role for p in parts] == ["spouse_a", "spouse_b"]
    assert clear["payload"]["spouse_a"]["name"] == "" and clear["payload"]["registration_office"]
    assert reveal_event(clear, parts, keys.private_key) == (event, [])


def test_after_one_spouse_is_erased_only_the_other_opens():
    keys, event = Keyring(), _marriage()
    clear, parts = protect_event(event, keys.key_for)
    keys.erase(event["payload"]["spouse_a"]["id_number"])
    opened, erased = reveal_event(clear, parts, keys.private_key)
    assert erased == ["spouse_a"]
    assert opened["payload"]["spouse_a"] == clear["payload"]["spouse_a"]  # placeholders only
    assert opened["payload"]["spouse_b"] == event["payload"]["spouse_b"]


def test_a_block_moved_into_another_event_is_not_read_as_erased():
    keys, first, second = Keyring(), _marriage(), _marriage()
    _, parts = protect_event(first, keys.key_for)
    clear, _ = protect_event(second, keys.key_for)
    with pytest.raises(Undecryptable):
        reveal_event(clear, parts, keys.private_key)


def test_a_protected_record_encodes_with_its_schema_and_reads_back_whole():
    keys, event = Keyring(), _marriage()
    schema = fastavro.parse_schema(event_schema(CATALOGUE[EventType.MARRIAGE_REGISTERED]))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, protect_record(event, keys.key_for))
    assert event["payload"]["spouse_a"]["name"].encode() not in buffer.getvalue()
    buffer.seek(0)
    wire = fastavro.schemaless_reader(buffer, schema)
    revealed, erased = reveal_record(wire, keys.private_key)
    assert erased == [] and revealed["payload"] == event["payload"]
    assert [b["role"] for b in revealed["envelope"]["protected"]] == ["spouse_a", "spouse_b"]
    assert reveal_record(event, keys.private_key) == (event, [])  # an earlier event: as it is


def test_protecting_a_record_leaves_the_record_as_it_was():
    keys, event = Keyring(), _marriage()
    before = copy.deepcopy(event)
    protected = protect_record(event, keys.key_for)
    assert event == before  # its envelope too: the blocks go into a new one
    assert protected["envelope"]["protected"] and protected["envelope"] is not event["envelope"]
