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


class Offsets:
    """A consumer reporting fixed end and committed offsets."""

    def __init__(self, ends: dict, committed: dict):
        self.ends, self._committed = ends, committed

    def end_offsets(self, tps):
        return {tp: self.ends[(tp.topic, tp.partition)] for tp in tps}

    def committed(self, tp):
        return self._committed[(tp.topic, tp.partition)]

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def guard_at(clock, ends, committed, grace_s=30.0):
    guard = StallGuard(InMemoryClients.provisioned(), "g", grace_s=grace_s, monotonic=clock)
    guard._consumer = Offsets(ends, committed)
    return guard


QUIET, BUSY = ("t", 0), ("t", 1)


def route(guard, clock, partition, records, seconds):
    """``records`` handled from ``partition`` over ``seconds``."""
    for _ in range(records):
        clock.now += seconds / records
        guard.progressed(*partition)


def test_a_quiet_partition_with_no_backlog_elsewhere_is_stalled_after_the_grace():
    clock = Clock()
    guard = guard_at(clock, ends={QUIET: 10, BUSY: 100}, committed={QUIET: 5, BUSY: 100})
    guard.progressed(*QUIET)
    assert guard.stalled([QUIET, BUSY]) == {}  # the first round only notes the committed offsets
    route(guard, clock, BUSY, 100, 31.0)  # the agent is busy elsewhere, and keeping up
    assert guard.stalled([QUIET, BUSY]) == {QUIET: 5}


def test_a_partition_waiting_its_turn_behind_a_backlog_is_not_sought_back():
    clock = Clock()
    # 20,000 records wait on the busy partition; the router handles 100 a second.
    guard = guard_at(clock, ends={QUIET: 10, BUSY: 30_000}, committed={QUIET: 5, BUSY: 10_000})
    guard.progressed(*QUIET)
    guard.stalled([QUIET, BUSY])
    route(guard, clock, BUSY, 4_000, 40.0)  # quiet for 40 s: past the grace, not past the backlog
    assert guard.stalled([QUIET, BUSY]) == {}
    route(guard, clock, BUSY, 15_000, 150.0)
    guard._consumer._committed[BUSY] = 25_000
    # quiet for 190 s, while what waits ahead of it (5,000 records) takes 50 s: stalled
    assert guard.stalled([QUIET, BUSY]) == {QUIET: 5}


def test_the_patience_is_the_grace_plus_the_time_the_backlog_takes_and_is_bounded():
    clock = Clock()
    guard = guard_at(clock, ends={}, committed={}, grace_s=30.0)
    route(guard, clock, BUSY, 1_000, 10.0)
    rate = guard.handling_rate(clock.now)
    assert rate == pytest.approx(100.0)
    assert guard.patience_s(5_000, rate) == pytest.approx(80.0)  # 30 + 5,000 / 100
    assert guard.patience_s(100_000, 1.0) == 600.0  # at most max_patience_s
    assert guard.patience_s(0, rate) == 30.0  # nothing ahead of it
    clock.now += 10
    assert guard.handling_rate(clock.now) == 0.0  # nothing handled since the last round
    assert guard.patience_s(5_000, 0.0) == 30.0  # nothing moving at all: stalled after the grace
