"""Operator tools for the dead-letter topics: list what was parked, and redrive it.

The hub's services park on ``<prefix>.dlq``, each department's inbox on ``<prefix>.dlq.<dept>``
(only that department may write it). Redriving re-produces the parked record's original key and
value to its source topic, with a header naming the dead letter — as the operator, so a letter is
trusted only as far as its writer is: one on a department's topic is listed and redriven only if
its source is that department's own inbox (anything else is a forgery aimed at the operator's
rights, skipped with a warning). Downstream identity (deterministic item ids, idempotent
agencies) makes a redrive of something that meanwhile succeeded harmless.
"""

from __future__ import annotations

import logging

from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import model_deserializer

REDRIVEN_HEADER = "oncehub.redriven_from"
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


def redrive(clients: Clients, letters: list[DeadLetter]) -> int:
    """Re-produce each letter's original record to its source topic; returns how many."""
    producer = clients.shared_producer()
    with unavailable_as_hub_error("the dead letters could not be redriven"):
        futures = [
            producer.send(letter.source_topic, key=letter.key, value=letter.value,
                          headers=[(REDRIVEN_HEADER, letter.dead_letter_id.encode())])
            for letter in letters
        ]
        for future in futures:
            future.get(timeout=clients.settings.publish_timeout_s)
    return len(futures)
