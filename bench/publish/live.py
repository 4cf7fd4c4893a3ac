"""The timed modes against the broker: the SDK's synchronous publish and the raw producer's.

Each mode is a send function over a list of inputs (submissions for the SDK, captured records
for raw); rounds run the SDK/raw pairs back to back in alternating order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaProducer
from rich.progress import Progress

from bench.harness.histograms import new_histogram, quantiles, record_us
from bench.harness.progress import Advance, advancer
from bench.publish.report import PAIRS
from bench.workload import PROGRESS_EVERY, Job, WireRecord, send_pipelined
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.kafka.clients import Clients
from producers.pool import PublisherPool

ns = time.perf_counter_ns
Inputs = tuple[list[Job], list[WireRecord]]  # the same events, as the SDK and as raw take them


@dataclass
class RunResult:
    """One mode's pass over the measured events in one round."""

    mode: str
    round: int
    events: int
    elapsed_s: float
    hist: HdrHistogram = field(repr=False)

    def summary(self) -> dict[str, float]:
        return {
            "events": self.events,
            "elapsed_s": round(self.elapsed_s, 4),
            "events_per_s": self.events / self.elapsed_s,
            **quantiles(self.hist, {"p50_us": 50, "p99_us": 99, "p999_us": 99.9}),
            "max_us": self.hist.get_max_value(),
            "mean_us": self.hist.get_mean_value(),
        }


def timed_loop(items: Sequence, send_one: Callable[[Any], object],
               progressed: Advance) -> tuple[float, HdrHistogram]:
    """Call ``send_one`` for each item, one after the other; per-call latency in µs."""
    hist = new_histogram()
    start = ns()
    for i, item in enumerate(items, 1):
        t0 = ns()
        send_one(item)
        record_us(hist, ns() - t0)
        if i % PROGRESS_EVERY == 0:
            progressed(PROGRESS_EVERY)
    elapsed = (ns() - start) / 1e9
    progressed(len(items) % PROGRESS_EVERY)
    return elapsed, hist


def sdk_sender(pool: PublisherPool) -> Callable[[Job], object]:
    """One synchronous SDK publish per job, by the publisher of the job's department."""
    publishers = {dept: pool(dept) for dept in Department}  # no pool lock inside the timed call
    return lambda job: publishers[job.department].publish_raw(job.event_type, job.submission)


def raw_sender(producer: KafkaProducer, timeout_s: float) -> Callable[[WireRecord], object]:
    """One synchronous raw send per record, waiting for the ack as the SDK does."""
    return lambda rec: producer.send(
        rec.topic, key=rec.key, value=rec.value, headers=list(rec.headers)
    ).get(timeout=timeout_s)


class LingerClients(Clients):
    """Clients whose producers linger ``linger_ms`` and are otherwise the SDK's exactly."""

    def __init__(self, settings: HubSettings, linger_ms: int):
        super().__init__(settings)
        self.linger_ms = linger_ms

    def producer(self, *, client_id: str = "oncehub-publisher", linger_ms: int | None = None
                 ) -> KafkaProducer:
        return super().producer(client_id=client_id,
                                linger_ms=self.linger_ms if linger_ms is None else linger_ms)


class Senders:
    """The live modes' producers and per-event send functions; ``close()`` releases them."""

    def __init__(self, settings: HubSettings, reference: bool, timeout_s: float):
        clients = Clients(settings)
        self.pools = [PublisherPool(clients)]  # a pool closes its clients: every producer here
        self.raw_producer = clients.producer()  # the factory the SDK's publishers use
        self.send: dict[str, Callable[[Any], object]] = {
            "raw": raw_sender(self.raw_producer, timeout_s),
            "sdk": sdk_sender(self.pools[0]),
        }
        if reference:
            linger5 = LingerClients(settings, linger_ms=5)
            self.pools.append(PublisherPool(linger5))
            self.send["raw_linger5"] = raw_sender(linger5.producer(), timeout_s)
            self.send["sdk_linger5"] = sdk_sender(self.pools[1])

    def close(self) -> None:
        for pool in self.pools:
            pool.close()


def run_rounds(senders: Senders, progress: Progress, warm: Inputs, measured: Inputs, rounds: int,
               reference: bool, timeout_s: float) -> dict[str, list[RunResult]]:
    """Warm every mode up, then the rounds: each SDK/raw pair back to back, order alternating.

    The progress display has two bars only (all events, current phase): a longer live display
    costs more to redraw, and redrawing takes the GIL from the timed loop.
    """
    per_round = len(senders.send) * len(measured[0]) + (len(measured[1]) if reference else 0)
    total = len(senders.send) * len(warm[0]) + rounds * per_round
    overall = progress.add_task("all events", total=total)
    phase = progress.add_task("", total=1)

    def bar(label: str, total: int) -> Advance:
        progress.reset(phase, total=total, description=label)
        return advancer(progress, phase, overall)

    def items(mode: str, pair: Inputs) -> Sequence:
        return pair[0] if mode.startswith("sdk") else pair[1]

    for mode, send in senders.send.items():
        timed_loop(items(mode, warm), send, bar(f"warm-up · {mode}", len(items(mode, warm))))
    runs: dict[str, list[RunResult]] = {mode: [] for mode in senders.send}
    for rnd in range(1, rounds + 1):
        for sdk_mode, raw_mode in PAIRS.items():
            if sdk_mode not in senders.send:
                continue
            for mode in (raw_mode, sdk_mode) if rnd % 2 else (sdk_mode, raw_mode):
                todo = items(mode, measured)
                progressed = bar(f"round {rnd} · {mode}", len(todo))
                elapsed, hist = timed_loop(todo, senders.send[mode], progressed)
                runs[mode].append(RunResult(mode, rnd, len(todo), elapsed, hist))
        if reference:
            todo = measured[1]
            elapsed, hist = send_pipelined(senders.raw_producer, todo, timeout_s,
                                           bar(f"round {rnd} · raw_pipelined", len(todo)))
            run_ = RunResult("raw_pipelined", rnd, len(todo), elapsed, hist)
            runs.setdefault("raw_pipelined", []).append(run_)
    return runs
