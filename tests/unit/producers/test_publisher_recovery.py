"""A publisher whose producer failed to deliver starts again with a fresh one (issue 12's fault
drills: an idempotent producer whose batches expired while a broker was down refused every
later send, and the department's publishes never recovered)."""

from __future__ import annotations

import random

import pytest
from kafka.errors import KafkaTimeoutError

from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.errors import PublishOutcomeUnknown
from hub.memory.kafka import InMemoryClients
from producers.demo_data import generate
from producers.publisher import Publisher


@pytest.mark.parametrize("shared", [False, True], ids=["own-producer", "shared-producer"])
def test_a_failed_publish_replaces_the_producer_and_the_next_one_is_accepted(shared):
    clients = InMemoryClients.provisioned()
    publisher = Publisher(Department.CIVIL_AFFAIRS, clients=clients, shared=shared)
    rng = random.Random(12)
    submission = generate(EventType.MARRIAGE_REGISTERED, rng)
    publisher.publish_raw(EventType.MARRIAGE_REGISTERED.value, submission)
    first = publisher._producer

    clients.broker.fail_next("send", KafkaTimeoutError("Expiring 1 record(s): 10000 ms has passed"))
    with pytest.raises(PublishOutcomeUnknown, match="may or may not have been recorded"):
        # The same people: their keys are sent already, so the failing send is the event's.
        publisher.publish_raw(EventType.MARRIAGE_REGISTERED.value, submission)
    assert first.closed  # thrown away, not used again

    receipt = publisher.publish_raw(EventType.MARRIAGE_REGISTERED.value, generate(EventType.MARRIAGE_REGISTERED, rng))
    assert receipt.topic == "memory.events.marriage_registered" and publisher._producer is not first
    if shared:
        assert clients.shared_producer() is publisher._producer  # the clients' shared one, renewed
