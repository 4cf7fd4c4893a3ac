"""The publish benchmark's inputs: which submissions, and the raw modes' twin topics."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime

from bench.workload import Job, WireRecord, make_jobs_of
from hub.domain.envelope import REGISTRATIONS, EventType

# The six registration triggers; a supplement or a consent withdrawal only makes sense after one.


def make_jobs(count: int, rng: random.Random, event_type: str | None = None,
              now: datetime | None = None) -> list[Job]:
    """``count`` valid submissions, of one event type or a seeded mix of all six."""
    return make_jobs_of(count, rng, [EventType(event_type)] if event_type else REGISTRATIONS, now)


def raw_prefix(prefix: str) -> str:
    """The prefix of the raw modes' twin topics."""
    return f"{prefix}-raw"


def retarget(records: Iterable[WireRecord], sdk_prefix: str, raw_prefix: str) -> list[WireRecord]:
    """The same records addressed to the raw twin topics."""
    head = f"{sdk_prefix}.events."
    return [
        WireRecord(f"{raw_prefix}.events.{r.topic.removeprefix(head)}", r.key, r.value, r.headers)
        for r in records
    ]
