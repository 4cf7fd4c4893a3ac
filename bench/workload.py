"""The inputs of the publish, route and replay benchmarks: synthetic submissions, and the exact
bytes the SDK sends for them.

The bytes are captured by running the SDK's whole ``publish_raw`` in-process against a producer
that only records what it is handed (:class:`CapturingClients`); a benchmark then replays them,
so a raw baseline sends byte for byte what the SDK would.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaProducer

from bench.harness.histograms import new_histogram, record_us
from bench.harness.progress import Advance
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.rules import RuleBook
from hub.kafka.clients import Clients
from producers.demo_data import generate
from producers.publisher import Publisher

PROGRESS_EVERY = 100  # progress-bar updates per this many records, outside any per-call timer
ns = time.perf_counter_ns


@dataclass(frozen=True)
class Job:
    """One submission to publish, and the department that owns its event type."""

    event_type: str
    department: Department
    submission: dict[str, Any]


@dataclass(frozen=True)
class WireRecord:
    """Exactly what the SDK handed to ``KafkaProducer.send``."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def shape(self) -> tuple:
        """Everything but the per-event id's value: equal for the SDK's bytes and the replay."""
        headers = tuple((k, len(v) if k == "oncehub.event_id" else v) for k, v in self.headers)
        return (self.topic, self.key, len(self.value), self.value[:5], headers)

    @property
    def event_id(self) -> str:
        return dict(self.headers)["oncehub.event_id"].decode()


def routed_types(rules: RuleBook) -> list[EventType]:
    """The registration types: every catalogue type the routing rules send items for.

    ``documents_supplemented`` has no items of its own (it releases a held event), and a random
    one names no held event, so the router would dead-letter it: it is left out of the mix.
    """
    return [t for t in CATALOGUE if rules.items_for(t.value)]


def make_jobs_of(count: int, rng: random.Random, types: Sequence[EventType],
                 now: datetime | None = None) -> list[Job]:
    """``count`` valid submissions, a seeded mix of ``types``, their times before ``now`` (the
    clock's, when not given: the same seed and ``now`` give the same jobs)."""
    jobs = []
    for _ in range(count):
        chosen = rng.choice(list(types))
        jobs.append(Job(chosen.value, CATALOGUE[chosen].owner, generate(chosen, rng, now=now)))
    return jobs


class CapturingProducer:
    """Stands in for ``KafkaProducer`` in-process: records each send and acks it at once."""

    def __init__(self) -> None:
        self.sent: list[WireRecord] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]] = ()):
        self.sent.append(WireRecord(topic, key, value, tuple(headers)))
        meta = SimpleNamespace(topic=topic, partition=0, offset=len(self.sent) - 1)
        return SimpleNamespace(get=lambda timeout=None: meta)

    def close(self, timeout: float | None = None) -> None:
        pass


class CapturingClients(Clients):
    """Clients whose every producer is one :class:`CapturingProducer` (the registry is real:
    the captured values carry the registry's schema ids)."""

    def __init__(self, settings: HubSettings):
        super().__init__(settings)
        self.capture = CapturingProducer()

    def producer(self, *, client_id: str = "oncehub-publisher", linger_ms: int | None = None):
        return self.capture

    def shared_producer(self):
        return self.capture


def capturing_publishers(settings: HubSettings, protect: bool = False
                         ) -> tuple[CapturingClients, dict[Department, Publisher]]:
    """One SDK publisher per department, all writing into the same capture. People's fields are
    left in the clear unless ``protect``: the routing benchmarks send each captured event again
    under new ids, and an encrypted block opens only in the event it was sealed for (the cost of
    the encryption is measured on its own). With ``protect`` the capture holds the people's key
    records too (on the key intakes), before the events that use them."""
    clients = CapturingClients(settings)
    return clients, {dept: Publisher(dept, clients=clients, protect=protect) for dept in Department}


def capture_records(settings: HubSettings, jobs: Sequence[Job]) -> list[WireRecord]:
    """What the SDK would send for ``jobs`` on ``settings``' topics (publish_raw, captured)."""
    clients, publishers = capturing_publishers(settings)
    for job in jobs:
        publishers[job.department].publish_raw(job.event_type, job.submission)
    return list(clients.capture.sent)


def send_pipelined(producer: KafkaProducer, records: Sequence[WireRecord], timeout_s: float,
                   progressed: Advance) -> tuple[float, HdrHistogram]:
    """Send every record without waiting, flush once; latency is send() to ack callback (µs).

    Returns the elapsed seconds and the latencies; raises if any record was not acknowledged.
    """
    latencies: list[int] = []  # appended from the producer's I/O thread
    failures: list[BaseException] = []
    start = ns()
    for i, rec in enumerate(records, 1):
        t0 = ns()
        future = producer.send(rec.topic, key=rec.key, value=rec.value, headers=list(rec.headers))
        future.add_callback(lambda _meta, t0=t0: latencies.append(ns() - t0))
        future.add_errback(failures.append)
        if i % PROGRESS_EVERY == 0:
            progressed(PROGRESS_EVERY)
    producer.flush(timeout=timeout_s)
    elapsed = (ns() - start) / 1e9
    progressed(len(records) % PROGRESS_EVERY)
    if failures or len(latencies) != len(records):
        raise RuntimeError(
            f"pipelined run: {len(failures)} failed, {len(latencies)} acked of {len(records)}"
        )
    hist = new_histogram()
    for took in latencies:
        record_us(hist, took)
    return elapsed, hist


def publish_backlog(clients: Clients, records: Sequence[WireRecord], progressed: Advance,
                    timeout_s: float | None = None) -> None:
    """Write ``records`` before anything is timed, pipelined, on the SDK's producer config."""
    producer = clients.producer()
    try:
        send_pipelined(producer, records, timeout_s or clients.settings.publish_timeout_s + 1,
                       progressed)
    finally:
        producer.close(timeout=5)
