"""Operator tools for the dead-letter topics: list what was parked, and redrive it.

The hub's services park on ``<prefix>.dlq``, each department's inbox on ``<prefix>.dlq.<dept>``
(only that department may write it). Redriving reads the parked record at its coordinates in its
source topic (a letter holds no copy of it) and re-produces it there, with a header naming the
dead letter — as the operator, so a letter is
trusted only as far as its writer is: one on a department's topic is listed and redriven only if
its source is that department's own inbox (anything else is a forgery aimed at the operator's
rights, skipped with a warning). Downstream identity (deterministic item ids, idempotent
agencies) makes a redrive of something that meanwhile succeeded harmless.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from typing import NamedTuple

from kafka import TopicPartition

from hub.domain.audit_entries import RedriveNote
from hub.domain.dead_letters import DeadLetter
from hub.domain.ports import AuditNoteSink
from hub.domain.departments import Department
from hub.errors import InvalidOption, NotFound, Unavailable
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import model_deserializer

REDRIVEN_HEADER = "oncehub.redriven_from"
READ_TIMEOUT_S = 15.0
log = logging.getLogger(__name__)


def dead_letters(clients: Clients) -> list[DeadLetter]:
    """Every dead letter parked so far (the hub's, then each department's), oldest first per
    partition; letters a department parked for a source other than its own inbox are skipped."""
    names = TopicNames(clients.settings.topic_prefix)
    own_inbox = {names.dead_letters_of(d): names.inbox(d) for d in Department}
    decode = model_deserializer(clients.registry, "DeadLetter", DeadLetter)
    letters = []
    with unavailable_as_hub_error("the dead-letter topics cannot be read"):
        for record in read_from_start(clients, names.all_dead_letters(), "dead letters"):
            letter = decode(record.value, record.topic)
            allowed = own_inbox.get(record.topic)
            if allowed is not None and letter.source_topic != allowed:
                log.warning("skipping dead letter %s on %s: it names %s, not the department's own "
                            "inbox", letter.dead_letter_id, record.topic, letter.source_topic)
                continue
            letters.append(letter)
    return letters


class Redriven(NamedTuple):
    """What a redrive did: records sent back, and letters whose record is no longer in its source
    topic (past that topic's retention: ``hub topics retention``)."""

    sent: int
    gone: list[DeadLetter]


def _source_record(consumer, letter: DeadLetter):
    """The parked record, read at its coordinates; None if the topic no longer holds it."""
    tp = TopicPartition(letter.source_topic, letter.source_partition)
    consumer.assign([tp])
    first, end = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
    if not first <= letter.source_offset < end:
        return None
    consumer.seek(tp, letter.source_offset)
    deadline = time.monotonic() + READ_TIMEOUT_S
    while time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=500).get(tp, []):
            if record.offset >= letter.source_offset:
                return record if record.offset == letter.source_offset else None
    raise Unavailable(f"{letter.source_topic}[{letter.source_partition}]@{letter.source_offset} "
                      f"could not be read within {READ_TIMEOUT_S:.0f}s")


def redrive(clients: Clients, letters: list[DeadLetter]) -> Redriven:
    """Send each letter's record back to its source topic (read there at its coordinates, its
    key, value and headers as they were; a letter from before coordinates-only letters carries
    them itself), with a header naming the letter."""
    producer = clients.shared_producer()
    futures, gone = [], []
    with unavailable_as_hub_error("the dead letters could not be redriven"), clients.reading() as consumer:
        for letter in letters:
            if letter.value is not None:
                key, value, headers = letter.key, letter.value, []
            elif (record := _source_record(consumer, letter)) is not None:
                key, value = record.key, record.value
                headers = [(k, v) for k, v in (record.headers or []) if k != REDRIVEN_HEADER]
            else:
                log.warning("dead letter %s: %s[%d]@%d is no longer in its topic; not redriven",
                            letter.dead_letter_id, letter.source_topic, letter.source_partition,
                            letter.source_offset)
                gone.append(letter)
                continue
            futures.append(producer.send(letter.source_topic, key=key, value=value,
                                         headers=[*headers, (REDRIVEN_HEADER, letter.dead_letter_id.encode())]))
        for future in futures:
            future.get(timeout=clients.settings.publish_timeout_s)
    return Redriven(len(futures), gone)


def redrive_noted(clients: Clients, letters: list[DeadLetter], intake: AuditNoteSink, *,
                  requested_by: str, via: str, clock=lambda: datetime.now(timezone.utc)) -> Redriven:
    """:func:`redrive`, then a :class:`~hub.domain.audit_entries.RedriveNote` on the audit intake
    (``hub dlq redrive`` and the console's re-drive: who sent which letters back, from where).
    The records are sent first: a re-drive that failed changed nothing worth noting."""
    done = redrive(clients, letters)
    intake.post(RedriveNote(redrive_id=str(uuid.uuid4()), at=clock(), requested_by=requested_by, via=via,
                            dead_letter_ids=sorted(letter.dead_letter_id for letter in letters),
                            sent=done.sent, gone=len(done.gone)))
    return done


class DeadLetterDesk:
    """The dead letters as the console works them: list, and re-drive by id (audited).

    ``hub serve`` runs as the gateway, which writes event topics but never an inbox (only the
    router does: agencies trust what arrives there), so the desk re-drives parked events and
    refuses an agency's parked item, naming the operator's command for it."""

    def __init__(self, clients: Clients, intake: AuditNoteSink):
        self._clients, self._intake = clients, intake
        self._writable = set(TopicNames(clients.settings.topic_prefix).all_events())

    def redrivable(self, letter: DeadLetter) -> bool:
        return letter.source_topic in self._writable

    def letters(self) -> list[DeadLetter]:
        return dead_letters(self._clients)

    def redrive(self, ids: list[str], requested_by: str) -> Redriven:
        """Re-drive the letters ``ids``; :class:`~hub.errors.NotFound` names any unknown id."""
        chosen = [letter for letter in self.letters() if letter.dead_letter_id in set(ids)]
        missing = set(ids) - {letter.dead_letter_id for letter in chosen}
        if missing:
            raise NotFound(f"unknown dead-letter id(s): {', '.join(sorted(missing))}")
        refused = [letter.dead_letter_id for letter in chosen if not self.redrivable(letter)]
        if refused:
            raise InvalidOption(f"only the router writes inboxes: re-drive {', '.join(refused)} with "
                                f"`hub dlq redrive {' '.join(refused)}` as the operator")
        return redrive_noted(self._clients, chosen, self._intake, requested_by=requested_by, via="console")
