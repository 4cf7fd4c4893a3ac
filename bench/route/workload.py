"""The routing benchmark's jobs: registrations only, and how many work items each becomes."""

from __future__ import annotations

from collections.abc import Iterable

from bench.workload import Job
from hub.domain.catalogue import spec_for_publisher
from hub.domain.rules import RuleBook
from hub.domain.routing import route
from hub.domain.sealing import seal
from hub.wire.codec import event_to_record


def items_per_job(jobs: Iterable[Job], rules: RuleBook) -> list[int]:
    """How many work items the router makes of each job: ``route`` on a locally sealed copy.

    Routing depends on the payload alone (ids and times differ per seal), so a copy sealed here
    routes like the published one.
    """
    counts = []
    for job in jobs:
        event = seal(spec_for_publisher(job.event_type, job.department), job.department,
                     dict(job.submission))
        counts.append(len(route(event_to_record(event), rules)))
    return counts


def open_loop_schedule(count: int, rate: float, start_ns: int) -> list[int]:
    """Due times (ns) of ``count`` sends at a fixed ``rate`` per second from ``start_ns``."""
    period = 1e9 / rate
    return [start_ns + round(i * period) for i in range(count)]
