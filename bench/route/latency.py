"""End-to-end latency: router and agency fleet running, events published open-loop by the clock.

Each item's latency runs from its event's *due* time to the arrival here of its COMPLETED
outcome, split at the routing decision and the DELIVERED outcome (see the package docstring).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from rich.progress import Progress

from bench.harness.histograms import ms_summary, new_histogram, record_us
from bench.harness.results import load_average
from bench.route import router_metrics
from bench.route.children import BenchChild
from bench.route.measures import SNAP_S, ns
from bench.route.modes import FINAL
from bench.route.workload import open_loop_schedule
from bench.workload import Job
from hub.api.local_server import free_port
from hub.config import HubSettings
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.kafka.clients import Clients
from hub.kafka.log_reader import assign_from_start
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.provisioning import provision_catalogue
from hub.wire.serde import model_deserializer
from hub.worker.process import WorkerProcess
from producers.pool import PublisherPool

SEGMENTS = {
    "publish": "due → publish acked (generator lag + SDK publish)",
    "route": "acked → routing decision written (router fetch, decode, route, encode)",
    "pickup": "decision → DELIVERED (router's acks, inbox fetch, decode)",
    "handle": "DELIVERED → COMPLETED (agency handler, SQLite)",
    "report": "COMPLETED → outcome read here (batch flush, produce, fetch)",
}
US_MAX = 600_000_000  # latencies in µs: ten minutes is a failure, not a latency
SENDERS = 8  # open-loop sender threads (each publish is synchronous)
MEASURED = ("item", "item_from_send", "case", "lag", *SEGMENTS)


def latency_rate(rate: float, fraction: float | None, router_max: float | None) -> tuple[float, str]:
    """The open-loop rate to use and where it came from.

    ``fraction`` × the router's maximum events/s measured in this run, rounded (at least 1/s),
    when both are known; otherwise ``rate`` (``--rate``).
    """
    if fraction is not None and router_max:
        return float(max(1, round(fraction * router_max))), "fraction"
    return rate, "rate"


def interval_us(rate: float) -> int:
    """The open-loop schedule's expected interval between events, µs (1/rate)."""
    return max(1, round(1_000_000 / rate))


class Recorded:
    """A raw and an expected-interval-corrected HdrHistogram (µs) of the same measurements.

    The corrected one is recorded with ``record_corrected_value(value, 1/rate)``: a value longer
    than the schedule's interval also records value − interval, value − 2·interval, … (the sends
    a closed-loop generator would have held back), HdrHistogram's correction for coordinated
    omission. Measuring from the due time already charges a late generator; this is the
    conventional second view, reported beside the raw one.
    """

    def __init__(self, interval: int):
        self.interval = interval
        self.raw, self.corrected = new_histogram(US_MAX), new_histogram(US_MAX)

    def record(self, delta_ns: int) -> None:
        value = max(delta_ns // 1000, 1)
        self.raw.record_value(value)
        self.corrected.record_corrected_value(value, self.interval)


@dataclass(frozen=True)
class SentEvent:
    """One open-loop publish: when it was due, sent and acknowledged (wall ns)."""

    event_id: str
    case_id: str
    due_ns: int
    started_ns: int
    acked_ns: int
    items: int


@dataclass(frozen=True)
class Arrival:
    """One outcome as read here: what it says, when it says it happened, when it arrived."""

    item_id: str
    event_id: str
    status: str
    occurred_ns: int
    arrival_ns: int


def wall_ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class OutcomeTap(threading.Thread):
    """Reads the outcomes topic and the routing log from the beginning, stamping arrivals."""

    def __init__(self, clients: Clients):
        super().__init__(name="outcome-tap", daemon=True)
        self.names = TopicNames(clients.settings.topic_prefix)
        self.clients = clients
        self._outcome = model_deserializer(clients.registry, "Outcome", Outcome)
        self._decision = model_deserializer(clients.registry, "RoutingDecision", RoutingDecision)
        self.arrivals: list[Arrival] = []
        self.decisions: dict[str, int] = {}  # event id -> the decision's timestamp, ns
        self.finals: set[str] = set()  # item ids with a final outcome
        self.ready, self._halt, self.error = threading.Event(), threading.Event(), None

    def run(self) -> None:
        try:
            with self.clients.reading() as consumer:
                assign_from_start(consumer, [*self.names.all_outcomes(), self.names.routing_log])
                for tp in consumer.assignment():
                    consumer.position(tp)  # resolve the start now, before anything is timed
                self.ready.set()
                while not self._halt.is_set():
                    batches = consumer.poll(timeout_ms=100)
                    arrived = ns()
                    for tp, records in batches.items():
                        for r in records:
                            self._take(tp.topic, r.value, r.timestamp, arrived)
        except Exception as exc:  # noqa: BLE001 - reported by the phase, not lost in a thread
            self.error = exc
            self.ready.set()

    def _take(self, topic: str, value: bytes, timestamp_ms: int, arrived: int) -> None:
        if topic == self.names.routing_log:
            decision = self._decision(value, topic)
            self.decisions.setdefault(decision.event_id, timestamp_ms * 1_000_000)
            return
        o = self._outcome(value, topic)
        self.arrivals.append(Arrival(o.item_id, o.event_id, o.status.value, wall_ns(o.occurred_at), arrived))
        if o.status.value in FINAL:
            self.finals.add(o.item_id)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


class OpenLoop(threading.Thread):
    """Publishes ``jobs`` at ``rate`` per second by the clock, not after the previous one returns.

    ``senders`` threads take the events in due order (the next free one takes the next event and
    sleeps until it is due), so a synchronous publish that takes longer than 1/rate does not hold
    the next one back as long as a sender is free.
    """

    def __init__(self, pool: PublisherPool, jobs: Sequence[Job], items: Sequence[int], rate: float,
                 senders: int = SENDERS):
        super().__init__(name="open-loop", daemon=True)
        self.pool, self.jobs, self.items, self.rate, self.senders = pool, jobs, items, rate, senders
        self.sent: list[SentEvent] = []
        self.errors: list[str] = []
        self._next, self._lock = 0, threading.Lock()

    def run(self) -> None:
        lead = 100_000_000  # start 100 ms from now
        mono0, wall0 = time.monotonic_ns() + lead, ns() + lead
        dues = open_loop_schedule(len(self.jobs), self.rate, 0)
        threads = [threading.Thread(target=self._send, args=(dues, mono0, wall0), daemon=True,
                                    name=f"open-loop-{k}") for k in range(self.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.jobs):
                return None
            self._next += 1
            return self._next - 1

    def _send(self, dues: Sequence[int], mono0: int, wall0: int) -> None:
        while (i := self._take()) is not None:
            job, offset = self.jobs[i], dues[i]
            wait = mono0 + offset - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            started = ns()
            try:
                receipt = self.pool(job.department).publish_raw(job.event_type, job.submission)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            self.sent.append(SentEvent(receipt.event_id, receipt.case_id, wall0 + offset,
                                       started, ns(), self.items[i]))


def rate_shortfall(rate: float, achieved: float | None, share: float = 0.9) -> str | None:
    """A problem when the generator sent slower than ``share`` of the rate it was asked for."""
    if achieved is not None and achieved < share * rate:
        return (f"latency: the generator achieved {achieved:.1f}/s of {rate:g}/s asked: it fell "
                f"behind, so the latencies measure its backlog")
    return None


def analyse_latency(sent: Sequence[SentEvent], decisions: Mapping[str, int],
                    arrivals: Sequence[Arrival], rate: float) -> dict[str, Any]:
    """Histograms (µs) per item, per case, per segment, and the generator's lag.

    Only ``sent`` events count (warm-up events are ignored). An item's latency runs from its
    event's due time to the first arrival of its COMPLETED outcome; a case's to the last of its
    items' final outcomes (COMPLETED, REJECTED or FAILED).
    """
    recorded = {name: Recorded(interval_us(rate)) for name in MEASURED}
    by_event = {s.event_id: s for s in sent}
    handle_by_items: dict[int, HdrHistogram] = {}
    delivered: dict[str, int] = {}
    final: dict[str, Arrival] = {}
    for a in arrivals:
        if a.event_id not in by_event:
            continue
        if a.status == OutcomeStatus.DELIVERED.value:
            delivered.setdefault(a.item_id, a.occurred_ns)
        elif a.status in FINAL and a.item_id not in final:
            final[a.item_id] = a
    statuses = Counter(a.status for a in final.values())
    for a in final.values():
        if a.status != OutcomeStatus.COMPLETED.value:
            continue
        s = by_event[a.event_id]
        recorded["item"].record(a.arrival_ns - s.due_ns)
        recorded["item_from_send"].record(a.arrival_ns - s.started_ns)
        routed, picked = decisions.get(a.event_id), delivered.get(a.item_id)
        if routed is None or picked is None:
            continue
        marks = (s.due_ns, s.acked_ns, routed, picked, a.occurred_ns, a.arrival_ns)
        for name, (t0, t1) in zip(SEGMENTS, zip(marks, marks[1:])):
            recorded[name].record(t1 - t0)
        # Items of one event reach several agencies at once: is handling slower when they do?
        if s.items not in handle_by_items:
            handle_by_items[s.items] = new_histogram(US_MAX)
        record_us(handle_by_items[s.items], a.occurred_ns - picked)
    finals_of: dict[str, list[int]] = {}
    for a in final.values():
        finals_of.setdefault(a.event_id, []).append(a.arrival_ns)
    incomplete = 0
    period_ns = 1e9 / rate
    for s in sent:
        recorded["lag"].record(s.started_ns - s.due_ns)
        if s.items == 0:
            continue
        done = finals_of.get(s.event_id, [])
        if len(done) < s.items:
            incomplete += 1
        else:
            recorded["case"].record(max(done) - s.due_ns)
    starts = sorted(s.started_ns for s in sent)
    return {
        "hists": {name: r.raw for name, r in recorded.items()},
        "hists_corrected": {name: r.corrected for name, r in recorded.items()},
        "interval_us": interval_us(rate),
        "events": len(sent),
        "items_expected": sum(s.items for s in sent),
        "statuses": dict(statuses),
        "items_missing": sum(s.items for s in sent) - len(final),
        "cases_incomplete": incomplete,
        "sends_late_by_a_period": sum(s.started_ns - s.due_ns > period_ns for s in sent),
        "achieved_rate": (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9) if len(starts) > 1 else None,
        "handle_ms_by_items_in_event": {k: ms_summary(h, (50, 90), extremes=False)
                                        for k, h in sorted(handle_by_items.items())},
    }


def wait_for_warm_up(tap: OutcomeTap, warm_items: int, progress: Progress, logs: Path) -> None:
    """Until the warm-up's items all have a final outcome (schemas fetched, groups joined)."""
    step = progress.add_task("latency · warm-up items", total=warm_items)
    deadline = time.monotonic() + 180
    while len(tap.finals) < warm_items and time.monotonic() < deadline and tap.error is None:
        progress.update(step, completed=len(tap.finals))
        time.sleep(SNAP_S)
    progress.update(step, completed=len(tap.finals))
    if len(tap.finals) < warm_items:
        raise RuntimeError(f"warm-up: {len(tap.finals)} of {warm_items} items final after 180s "
                           f"(logs in {logs}); {tap.error or ''}")


def latency_phase(run_prefix: str, workdir: Path, jobs: Sequence[Job], items: Sequence[int],
                  warm: Sequence[Job], warm_items: int, rate: float,
                  progress: Progress) -> dict[str, Any]:
    """Router + agency fleet running; warm up; publish open-loop; wait for every outcome."""
    settings = HubSettings(topic_prefix=f"{run_prefix}-lat")
    clients = Clients(settings)
    provision_catalogue(clients)
    tap = OutcomeTap(clients)
    tap.start()
    tap.ready.wait(60)
    logs = workdir / "logs"
    metrics_port = free_port()
    worker = WorkerProcess(settings, log_file=logs / "router-latency.log", metrics_port=metrics_port)
    fleet = BenchChild(settings, "fleet", str(workdir / "agencies"),
                       log_file=logs / "fleet-latency.log", cwd=workdir / "run")
    pool = PublisherPool(Clients(settings))  # its own: closing the pool closes its clients
    problems: list[str] = []
    router_stages: dict[str, Any] = {}
    generator = OpenLoop(pool, jobs, items, rate)
    try:
        worker.start()
        fleet.start()
        for job in warm:
            pool(job.department).publish_raw(job.event_type, job.submission)
        wait_for_warm_up(tap, warm_items, progress, logs)
        stages_before = router_metrics.scrape(metrics_port)
        load_before = load_average()
        sending = progress.add_task(f"latency · publish {rate:g}/s", total=len(jobs))
        finishing = progress.add_task("latency · items final", total=sum(items))
        generator.start()
        drain_deadline = None
        while True:
            progress.update(sending, completed=len(generator.sent) + len(generator.errors))
            progress.update(finishing, completed=len(tap.finals) - warm_items)
            if not generator.is_alive():
                drain_deadline = drain_deadline or time.monotonic() + 60
                if len(tap.finals) - warm_items >= sum(s.items for s in generator.sent):
                    break
                if time.monotonic() > drain_deadline:
                    problems.append("latency: outcomes still missing 60 s after the last publish")
                    break
            if tap.error is not None or not worker.running or not fleet.running:
                problems.append(f"latency: a component stopped (tap error: {tap.error})")
                break
            time.sleep(SNAP_S)
        try:
            router_stages = router_metrics.summarise(stages_before, router_metrics.scrape(metrics_port))
        except OSError as exc:  # the router's metrics are a breakdown, not the measurement
            problems.append(f"latency: the router's /metrics could not be read ({exc})")
    finally:
        if generator.ident is not None:  # started
            generator.join(timeout=60)
        fleet.stop()
        worker.stop()
        pool.close()
        tap.stop()
        clients.close()
    result = analyse_latency(generator.sent, dict(tap.decisions), list(tap.arrivals), rate)
    result["router_stages"] = router_stages
    if generator.errors:
        problems.append(f"latency: {len(generator.errors)} publish(es) failed: {generator.errors[0]}")
    if result["items_missing"]:
        problems.append(f"latency: {result['items_missing']} item(s) without a final outcome")
    shortfall = rate_shortfall(rate, result["achieved_rate"])
    if shortfall:
        problems.append(shortfall)
    bad = {k: v for k, v in result["statuses"].items() if k != OutcomeStatus.COMPLETED.value}
    if bad:
        problems.append(f"latency: final outcomes other than COMPLETED: {bad}")
    result.update(problems=problems, rate=rate, senders=generator.senders, load_average_before=load_before)
    return result


def latency_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready: ``ms`` from the raw histograms, ``ms_corrected`` from the corrected ones."""
    return {**{k: v for k, v in result.items() if k not in ("hists", "hists_corrected")},
            "ms": {name: ms_summary(h, (50, 90, 99, 99.9)) for name, h in result["hists"].items()},
            "ms_corrected": {name: ms_summary(h, (50, 90, 99, 99.9))
                             for name, h in result["hists_corrected"].items()}}
