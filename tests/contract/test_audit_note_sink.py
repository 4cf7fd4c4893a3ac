"""AuditNoteSink contract: a note is durable once ``post`` returns; one that cannot be written
raises ``NotAudited`` (caused by ``Unavailable``) and leaves nothing behind.

Runs against :class:`hub.memory.InMemoryAuditNotes` and :class:`hub.audit.intake.KafkaAuditIntake`
(on in-memory Kafka, and on the stack).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from hub.audit.intake import KafkaAuditIntake, decode_note
from hub.domain.audit_entries import FactQueryNote, Note, QueriedField, ReplayNote
from hub.domain.ports import AuditNoteSink
from hub.errors import NotAudited, Unavailable, caused_by
from hub.kafka.clients import Clients
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.memory import InMemoryAuditNotes, InMemoryBroker, InMemoryClients
from tests.contract.harness import IN_MEMORY, KINDS
from tests.builders import T0


@dataclass
class Sink:
    """The sink under test, the notes durable where it writes, and a sink that cannot write
    there (the in-memory one told to refuse; an intake whose broker does not answer)."""

    sink: AuditNoteSink
    notes: Callable[[], list[Note]]
    unwritable: Callable[[], AuditNoteSink]


@pytest.fixture(params=KINDS)
def intake(request, clients_for, unreachable):
    if request.param == IN_MEMORY:
        notes = InMemoryAuditNotes()

        def refusing() -> AuditNoteSink:
            notes.refuse()
            return notes

        return Sink(notes, lambda: list(notes.notes), refusing)
    clients = clients_for(request.param)
    topic = TopicNames(clients.settings.topic_prefix).audit_intake
    return Sink(KafkaAuditIntake(clients),
                lambda: [decode_note(r.value) for r in read_from_start(clients, [topic])],
                lambda: KafkaAuditIntake(unreachable(clients)))


@pytest.fixture
def unreachable():
    """``unreachable(clients)``: clients of the same prefix whose broker does not answer."""
    made: list[Clients] = []

    def make(clients: Clients) -> Clients:
        if isinstance(clients, InMemoryClients):
            broker = InMemoryBroker()
            broker.refuse()
            made.append(InMemoryClients(clients.settings, broker))
        else:
            made.append(Clients(clients.settings.model_copy(
                update={"bootstrap_servers": "127.0.0.1:9", "publish_timeout_s": 1.0})))
        return made[-1]

    yield make
    for clients in made:
        clients.close()


def query(n: int, allowed: bool = True) -> FactQueryNote:
    fields = [QueriedField(event_type="marriage_registered", field="payload.registered_on", basis="b")]
    return FactQueryNote(query_id=f"q-{n}", at=T0 + timedelta(seconds=n), department="PROVIDENT_FUND",
                         subject_ref="t1:0123456789abcdef0123456789abcdef", allowed=allowed,
                         fields=fields if allowed else [], reason=None if allowed else "no grant")


def replay(n: int) -> ReplayNote:
    return ReplayNote(replay_id=f"r-{n}", requested_by="ops@hub", at=T0, window_from=T0 - timedelta(days=1),
                      window_to=T0, target="inbox", read=3, matched=2, emitted=n)


def ids(notes: list[Note]) -> list[str]:
    return sorted(getattr(n, "query_id", None) or n.replay_id for n in notes)


def test_it_is_an_audit_note_sink(intake):
    assert isinstance(intake.sink, AuditNoteSink)


def test_every_note_posted_is_kept_once_and_whole(intake):
    posted = [query(1), query(2, allowed=False), replay(3)]
    for note in posted:
        intake.sink.post(note)
    kept = intake.notes()
    assert ids(kept) == ids(posted)
    assert sorted(kept, key=lambda n: ids([n])) == sorted(posted, key=lambda n: ids([n]))
    assert [n.query_id for n in kept if isinstance(n, FactQueryNote)] == ["q-1", "q-2"]  # one subject: in order


def test_a_note_that_cannot_be_written_is_not_audited_and_leaves_nothing(intake):
    intake.sink.post(query(1))
    broken = intake.unwritable()
    with pytest.raises(NotAudited) as refused:
        broken.post(query(2))
    assert caused_by(refused.value, (Unavailable,))
    assert ids(intake.notes()) == ["q-1"]


def test_a_refusal_note_is_kept_like_an_answer(intake):
    intake.sink.post(query(4, allowed=False))
    [note] = intake.notes()
    assert (note.allowed, note.reason, note.fields) == (False, "no grant", [])
