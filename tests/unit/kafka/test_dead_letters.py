"""Dead letters on in-memory Kafka: the hub's and each department's, and forged ones skipped."""

from __future__ import annotations

from datetime import datetime, timezone

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.kafka.dead_letters import dead_letters, redrive
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.wire.serde import model_serializer

TAX = Department.TAX


def park(clients, dlq: str, source_topic: str, value: bytes) -> DeadLetter:
    """Write ``value`` to ``source_topic`` and park it: the letter holds its coordinates only."""
    meta = clients.shared_producer().send(source_topic, key=b"330106199001011234", value=value,
                                          headers=[("oncehub.event_id", b"e-1")]).get(timeout=1)
    letter = DeadLetter.of(stage="test", error=ValueError("cannot take it"), topic=source_topic,
                           partition=meta.partition, offset=meta.offset,
                           parked_at=datetime.now(timezone.utc))
    encode = model_serializer(clients.registry, "DeadLetter")
    clients.shared_producer().send(dlq, key=letter.dead_letter_id.encode(),
                                   value=encode(letter, dlq)).get(timeout=1)
    return letter


def test_a_departments_letters_are_listed_only_for_its_own_inbox(tmp_path):
    clients = InMemoryClients.provisioned(HubSettings(topic_prefix="u", state_dir=tmp_path))
    names = TopicNames("u")
    router_letter = park(clients, names.dead_letters, names.all_events()[0], b"bad event")
    own = park(clients, names.dead_letters_of(TAX), names.inbox(TAX), b"bad item")
    # A department aiming a redrive (done with the operator's rights) at another's topic:
    marriages = names.events(CATALOGUE[EventType.MARRIAGE_REGISTERED])
    park(clients, names.dead_letters_of(TAX), marriages, b"forged marriage")
    listed = dead_letters(clients)
    assert {l.dead_letter_id for l in listed} == {router_letter.dead_letter_id, own.dead_letter_id}
    assert redrive(clients, listed) == (2, [])


def test_a_letter_holds_no_copy_and_a_redrive_reads_the_record_where_it_is(tmp_path):
    clients = InMemoryClients.provisioned(HubSettings(topic_prefix="u", state_dir=tmp_path))
    names = TopicNames("u")
    letter = park(clients, names.dead_letters, names.inbox(TAX), b"the item")
    [parked] = clients.broker.records(names.dead_letters)
    assert b"330106199001011234" not in parked.value and parked.key == letter.dead_letter_id.encode()
    assert (letter.key, letter.value) == (None, None)
    assert redrive(clients, dead_letters(clients)) == (1, [])
    original, again = clients.broker.records(names.inbox(TAX))
    assert (again.key, again.value) == (original.key, original.value)
    assert dict(again.headers) == {"oncehub.event_id": b"e-1",
                                   "oncehub.redriven_from": letter.dead_letter_id.encode()}


def test_a_letter_whose_record_is_past_retention_is_reported_not_sent(tmp_path):
    clients = InMemoryClients.provisioned(HubSettings(topic_prefix="u", state_dir=tmp_path))
    names = TopicNames("u")
    letter = park(clients, names.dead_letters, names.inbox(TAX), b"the item")
    gone = letter.model_copy(update={"source_offset": letter.source_offset + 5})  # not (any more) there
    assert redrive(clients, [gone]) == (0, [gone])


def test_the_consoles_desk_redrives_parked_events_audited_and_leaves_inboxes_to_the_router(tmp_path):
    import pytest

    from hub.domain.audit_entries import RedriveNote
    from hub.errors import InvalidOption
    from hub.kafka.dead_letters import DeadLetterDesk
    from hub.memory import InMemoryAuditNotes

    clients = InMemoryClients.provisioned(HubSettings(topic_prefix="u", state_dir=tmp_path))
    names, notes = TopicNames("u"), InMemoryAuditNotes()
    event_letter = park(clients, names.dead_letters, names.all_events()[0], b"bad event")
    item_letter = park(clients, names.dead_letters_of(TAX), names.inbox(TAX), b"bad item")
    desk = DeadLetterDesk(clients, notes)
    assert desk.redrivable(event_letter) and not desk.redrivable(item_letter)
    with pytest.raises(InvalidOption, match=f"hub dlq redrive {item_letter.dead_letter_id}"):
        desk.redrive([event_letter.dead_letter_id, item_letter.dead_letter_id], "token:t-1")
    assert notes.notes == [] and len(clients.broker.records(names.all_events()[0])) == 1  # nothing sent
    assert desk.redrive([event_letter.dead_letter_id], "token:t-1") == (1, [])
    assert len(clients.broker.records(names.all_events()[0])) == 2
    [note] = notes.notes
    assert isinstance(note, RedriveNote) and (note.via, note.requested_by, note.sent) == ("console", "token:t-1", 1)
    assert note.dead_letter_ids == [event_letter.dead_letter_id]
