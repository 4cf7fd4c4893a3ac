"""The stall guard's consumer is renewed after a failure (the fault drills: a consumer that
lived through a broker outage kept failing, so skipped records were never re-read)."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError

from hub.memory.kafka import InMemoryClients
from hub.worker.stall_guard import StallGuard


class Failing:
    def __init__(self):
        self.closed = False

    def end_offsets(self, tps):
        raise KafkaTimeoutError("Failed to get offsets by timestamps in 30000 ms")

    def committed(self, tp):
        raise KafkaTimeoutError("coordinator not available")

    def close(self):
        self.closed = True


@pytest.mark.parametrize("call", ["stalled", "committed"])
def test_a_failing_consumer_is_closed_and_the_next_round_builds_a_new_one(call):
    clients = InMemoryClients.provisioned()
    guard = StallGuard(clients, "g", grace_s=0)
    broken = guard._consumer = Failing()
    with pytest.raises(KafkaTimeoutError):
        if call == "stalled":
            guard.stalled([("memory.events.birth_certified", 0)])
        else:
            guard.committed("memory.events.birth_certified", 0)
    assert broken.closed and guard._consumer is None
    assert guard.committed("memory.events.birth_certified", 0) == 0  # a fresh consumer answers
    assert guard._consumer is not None and guard._consumer is not broken
