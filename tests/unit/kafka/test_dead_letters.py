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
    letter = DeadLetter.of(stage="test", error=ValueError("cannot take it"), topic=source_topic,
                           partition=0, offset=7, key=b"k", value=value,
                           parked_at=datetime.now(timezone.utc))
    encode = model_serializer(clients.registry, "DeadLetter")
    clients.shared_producer().send(dlq, key=b"k", value=encode(letter, dlq)).get(timeout=1)
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
    assert redrive(clients, listed) == 2
