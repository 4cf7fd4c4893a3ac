"""Publish throughput and latency: the Publisher SDK beside a raw kafka-python producer.

    .venv/bin/python -m bench.publish_bench                    # default run, about 2 minutes
    .venv/bin/python -m bench.publish_bench --events 5000 --rounds 5 --event-type birth_certified

Modes compared (the ratio between them is the figure that matters):

* ``sdk`` — ``Publisher.publish_raw`` for each submission, synchronously: each call returns only
  after the broker's ack, as the SDK always does. One ``PublisherPool`` (one shared producer).
* ``raw`` — the very same key, value and header bytes the SDK produces for those submissions,
  sent by a plain ``KafkaProducer`` built by the SDK's own ``kafka_producer(settings)`` (so
  acks=all, idempotent, linger_ms=0 by default, identical timeouts), ``send(...).get()`` per message, to a
  twin set of topics. What the SDK adds on top (validation, sealing, Avro serialisation,
  receipt) is the difference.

A second pair, ``sdk_linger5`` / ``raw_linger5``, repeats both with linger_ms=5 (everything else
as above): the setting the SDK shipped with first. Every synchronous publish then waits for a
batch that never fills, which is why the default is now 0 (``HUB_PRODUCER_LINGER_MS``).

One reference row with no SDK counterpart: ``raw_pipelined`` — every send in flight at once, one
flush at the end, on the SDK-configured producer. The SDK has no asynchronous publish, so there is no
SDK pipelined figure.

An in-process stage breakdown (no broker) shows where the SDK's time goes: validate+seal,
``model_dump`` to an Avro record, the bare fastavro encode, the Confluent ``AvroSerializer`` as a
whole, and ``publish_raw`` end to end against a null producer. Those runs also capture the exact
bytes the raw mode replays.

Rounds alternate the order of the two main modes (raw, sdk / sdk, raw / ...) so machine drift
hits both; the table shows the median over rounds. Every run publishes to fresh topics
(``bench-<uuid8>``) and deletes them and their schema subjects afterwards unless ``--keep``.
Needs the dev stack (``hub dev up``). Not a test: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fastavro
from hdrh.histogram import HdrHistogram
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for_publisher
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.sealing import seal
from hub.schema_registry.client import SchemaCatalogueRegistry, registry_client, value_subject
from hub.kafka.admin import end_offsets, ensure_topics, event_topics
from hub.wire.codec import event_to_record
from hub.wire.schemas import event_schema
from hub.wire.serde import event_serializer
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Publisher, kafka_producer

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SIG_FIGS = 3
US_HIGHEST = 120_000_000  # publish latencies, µs: two minutes is a failure, not a latency
NS_HIGHEST = 60_000_000_000  # in-process stages, ns
PROGRESS_EVERY = 100  # progress-bar updates per this many events, outside the per-call timer

PAIRS = {"sdk": "raw", "sdk_linger5": "raw_linger5"}  # SDK mode -> its raw baseline
LABELS = {
    "raw": "raw kafka-python, sync, linger 0 (SDK's producer config)",
    "sdk": "**SDK `publish_raw`, sync, linger 0 (as shipped)**",
    "raw_linger5": "raw kafka-python, sync, linger 5 ms",
    "sdk_linger5": "SDK `publish_raw`, sync, linger 5 ms",
    "raw_pipelined": "raw, pipelined, linger 0 (reference: SDK has no async publish)",
}
BASELINE = PAIRS | {"raw_pipelined": "raw"}
STAGES = {
    "seal": "validate + seal (pydantic)",
    "to_dict": "`event_to_record` (model_dump)",
    "fastavro": "fastavro encode alone",
    "serialise": "serialise: AvroSerializer whole (to_dict + encode + framing)",
    "publish": "`publish_raw` end to end, null producer",
}

ns = time.perf_counter_ns
Progressed = Callable[[int], None]


# --------------------------------------------------------------------------- inputs


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


def make_jobs(count: int, rng: random.Random, event_type: str | None = None) -> list[Job]:
    """``count`` valid submissions, of one event type or a seeded mix of all six."""
    # The six registration triggers; a supplement only makes sense after a held event.
    types = [EventType(event_type)] if event_type else [
        t for t in CATALOGUE if t is not EventType.DOCUMENTS_SUPPLEMENTED]
    jobs = []
    for _ in range(count):
        chosen = rng.choice(types)
        jobs.append(Job(chosen.value, CATALOGUE[chosen].owner, generate(chosen, rng)))
    return jobs


# --------------------------------------------------------------------------- stack


def prepare_topics_and_schemas(sdk: HubSettings, raw: HubSettings) -> None:
    """Create both topic sets; register the schemas under the SDK prefix (raw needs none)."""
    ensure_topics(sdk, event_topics(sdk))
    ensure_topics(raw, event_topics(raw))
    SchemaCatalogueRegistry(registry_client(sdk), sdk.topic_prefix).register_all()


def cleanup(sdk: HubSettings, raw: HubSettings, console: Console) -> None:
    """Delete this run's topics and schema subjects (best effort: warns, never raises)."""
    topics = event_topics(sdk) + event_topics(raw)
    try:
        admin = KafkaAdminClient(bootstrap_servers=sdk.bootstrap_servers, client_id="oncehub-bench")
        try:
            admin.delete_topics(topics)
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        console.print(f"[yellow]could not delete topics {topics}: {exc}")
    client = registry_client(sdk)
    for topic in event_topics(sdk):
        try:
            client.delete_subject(value_subject(topic))
            client.delete_subject(value_subject(topic), permanent=True)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "http_status_code", None) != 404:  # already gone is fine
                console.print(f"[yellow]could not delete subject {value_subject(topic)}: {exc}")


def twin_producer(base: KafkaProducer, **overrides: Any) -> KafkaProducer:
    """A new producer with ``base``'s exact configuration, except ``overrides``."""
    config = {k: v for k, v in base.config.items() if k in KafkaProducer.DEFAULT_CONFIG}
    return KafkaProducer(**(config | overrides))


# --------------------------------------------------------------------------- in-process stages


class CapturingProducer:
    """Stands in for ``KafkaProducer`` in-process: records each send and acks it at once."""

    def __init__(self) -> None:
        self.sent: list[WireRecord] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]):
        self.sent.append(WireRecord(topic, key, value, tuple(headers)))
        meta = SimpleNamespace(topic=topic, partition=0, offset=len(self.sent) - 1)
        return SimpleNamespace(get=lambda timeout=None: meta)

    def close(self, timeout: float | None = None) -> None:
        pass


def new_histogram(highest: int = US_HIGHEST) -> HdrHistogram:
    return HdrHistogram(1, highest, SIG_FIGS)


def measure_stages(
    settings: HubSettings, warmup: list[Job], jobs: list[Job]
) -> tuple[dict[str, HdrHistogram], list[WireRecord], list[WireRecord]]:
    """Time each SDK stage per job in-process (ns histograms) and capture the SDK's bytes.

    Returns the stage histograms, then the wire records of ``warmup`` and of ``jobs``, in order.
    """
    registry = registry_client(settings)
    capture = CapturingProducer()
    publishers = {
        dept: Publisher(dept, settings, producer_factory=lambda _s: capture, registry=registry)
        for dept in Department
    }
    by_type: dict[str, tuple] = {}
    for spec in CATALOGUE.values():
        topic = spec.topic(settings.topic_prefix)
        parsed = fastavro.parse_schema(event_schema(spec))
        by_type[spec.event_type.value] = (topic, event_serializer(registry, spec), parsed)
    hists = {name: new_histogram(NS_HIGHEST) for name in STAGES}

    def one(job: Job, record: bool) -> None:
        spec = spec_for_publisher(job.event_type, job.department)
        topic, serialize, parsed = by_type[job.event_type]
        t0 = ns()
        event = seal(spec, job.department, dict(job.submission))
        t1 = ns()
        avro_record = event_to_record(event)
        t2 = ns()
        fastavro.schemaless_writer(io.BytesIO(), parsed, avro_record)
        t3 = ns()
        serialize(event, topic)
        t4 = ns()
        publishers[job.department].publish_raw(job.event_type, job.submission)
        t5 = ns()
        if record:
            for name, took in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                hists[name].record_value(max(took, 1))

    for job in warmup:  # first calls fetch schema ids from the registry: never timed
        one(job, record=False)
    warm_records = list(capture.sent)
    capture.sent.clear()
    for job in jobs:
        one(job, record=True)
    return hists, warm_records, list(capture.sent)


# --------------------------------------------------------------------------- live modes


@dataclass
class RunResult:
    """One mode's pass over the measured events in one round."""

    mode: str
    round: int
    events: int
    elapsed_s: float
    hist: HdrHistogram = field(repr=False)

    def summary(self) -> dict[str, float]:
        h = self.hist
        return {
            "events": self.events,
            "elapsed_s": round(self.elapsed_s, 4),
            "events_per_s": self.events / self.elapsed_s,
            "p50_us": h.get_value_at_percentile(50),
            "p99_us": h.get_value_at_percentile(99),
            "p999_us": h.get_value_at_percentile(99.9),
            "max_us": h.get_max_value(),
            "mean_us": h.get_mean_value(),
        }


def timed_loop(items: Sequence, send_one: Callable[[Any], object],
               progressed: Progressed) -> tuple[float, HdrHistogram]:
    """Call ``send_one`` for each item, one after the other; per-call latency in µs."""
    hist = new_histogram()
    start = ns()
    for i, item in enumerate(items, 1):
        t0 = ns()
        send_one(item)
        hist.record_value(max((ns() - t0) // 1000, 1))
        if i % PROGRESS_EVERY == 0:
            progressed(PROGRESS_EVERY)
    elapsed = (ns() - start) / 1e9
    progressed(len(items) % PROGRESS_EVERY)
    return elapsed, hist


def sdk_sender(publisher_for: Callable[[Department], Publisher]) -> Callable[[Job], object]:
    """One synchronous SDK publish per job, by the publisher of the job's department."""
    publishers = {dept: publisher_for(dept) for dept in Department}
    return lambda job: publishers[job.department].publish_raw(job.event_type, job.submission)


def shared_producer_publishers(
    settings: HubSettings, producer: KafkaProducer
) -> Callable[[Department], Publisher]:
    """Like ``PublisherPool``, but over a producer of our choosing (one registry client too)."""
    registry = registry_client(settings)
    publishers = {
        dept: Publisher(dept, settings, producer_factory=lambda _s: producer, registry=registry)
        for dept in Department
    }
    return publishers.__getitem__


def raw_sender(producer: KafkaProducer, timeout_s: float) -> Callable[[WireRecord], object]:
    """One synchronous raw send per record, waiting for the ack as the SDK does."""
    return lambda rec: producer.send(
        rec.topic, key=rec.key, value=rec.value, headers=list(rec.headers)
    ).get(timeout=timeout_s)


def pipelined(producer: KafkaProducer, records: Sequence[WireRecord], timeout_s: float,
              progressed: Progressed) -> tuple[float, HdrHistogram]:
    """Send every record without waiting, flush once; latency is send() to ack callback."""
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
        hist.record_value(max(took // 1000, 1))
    return elapsed, hist


def retarget(records: Iterable[WireRecord], sdk_prefix: str, raw_prefix: str) -> list[WireRecord]:
    """The same records addressed to the raw twin topics."""
    head = f"{sdk_prefix}.events."
    return [
        WireRecord(f"{raw_prefix}.events.{r.topic.removeprefix(head)}", r.key, r.value, r.headers)
        for r in records
    ]


# --------------------------------------------------------------------------- checks


def read_shapes(settings: HubSettings, topics: list[str], timeout_s: float = 60.0) -> Counter:
    """The :meth:`WireRecord.shape` of every message on ``topics`` (read back from Kafka)."""
    end = {tp: off for tp, off in end_offsets(settings, topics).items() if off > 0}
    shapes: Counter = Counter()
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(t, p) for t, p in end])
        consumer.seek_to_beginning()
        pending = dict(end)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                for m in msgs:
                    headers = tuple((k, v) for k, v in m.headers)
                    shapes[WireRecord(tp.topic, m.key, m.value, headers).shape()] += 1
                    if m.offset + 1 >= end[(tp.topic, tp.partition)]:
                        pending.pop((tp.topic, tp.partition), None)
    finally:
        consumer.close()
    return shapes


def verify(sdk: HubSettings, raw: HubSettings, warm: list[WireRecord], measured: list[WireRecord],
           rounds: int, sdk_passes: int, raw_passes: int) -> list[str]:
    """Check the broker holds what each mode claims to have sent; returns problems found.

    The SDK topics are read back and compared, message shape by shape, with the captured
    records the raw mode replayed; the raw topics are counted. ``*_passes`` is how many modes
    wrote to each topic set (each with its own warm-up).
    """
    problems = []
    expected = Counter(r.shape() for r in warm)
    for shape, n in Counter(r.shape() for r in measured).items():
        expected[shape] += n * rounds
    expected = Counter({shape: n * sdk_passes for shape, n in expected.items()})
    got = read_shapes(sdk, event_topics(sdk))
    if got != expected:
        diff = sum(((got - expected) + (expected - got)).values())
        problems.append(f"SDK topics differ from the replayed bytes in {diff} message shape(s)")
    raw_count = sum(end_offsets(raw, event_topics(raw)).values())
    # Every raw mode but the pipelined one had a warm-up.
    want = len(warm) * min(raw_passes, 2) + len(measured) * rounds * raw_passes
    if raw_count != want:
        problems.append(f"raw topics hold {raw_count} messages, expected {want}")
    return problems


# --------------------------------------------------------------------------- report


def median_summary(runs: list[RunResult]) -> dict[str, float]:
    """Median over rounds of each figure; ``max_us`` is the max over all rounds."""
    summaries = [r.summary() for r in runs]
    out = {k: statistics.median(s[k] for s in summaries) for k in summaries[0]}
    out["max_us"] = max(s["max_us"] for s in summaries)
    return out


def paired_ratios(runs: list[RunResult], baseline: list[RunResult]) -> dict[str, Any]:
    """Mode/baseline per round (same round, so same machine state), then the median over rounds."""
    thr, p50, p99 = [], [], []
    for run_, base in zip(runs, baseline):
        s, r = run_.summary(), base.summary()
        thr.append(s["events_per_s"] / r["events_per_s"])
        p50.append(s["p50_us"] / r["p50_us"])
        p99.append(s["p99_us"] / r["p99_us"])
    return {
        "throughput": statistics.median(thr),
        "p50": statistics.median(p50),
        "p99": statistics.median(p99),
        "throughput_per_round": thr,
        "p50_per_round": p50,
    }


def publish_table(summaries: dict[str, dict[str, float]], ratios: dict[str, dict[str, Any]]) -> str:
    """The Markdown table of the live modes, with each mode's paired ratio to its raw baseline."""
    lines = [
        "| mode | events/s | p50 µs | p99 µs | p99.9 µs | max µs | events/s ÷ baseline | p50 ÷ baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, s in summaries.items():
        ratio = ratios.get(mode)
        vs = f"{ratio['throughput']:.3f} | {ratio['p50']:.3f}" if ratio else "(baseline) | (baseline)"
        lines.append(
            f"| {LABELS[mode]} | {s['events_per_s']:,.0f} | {s['p50_us']:,.0f} | {s['p99_us']:,.0f} "
            f"| {s['p999_us']:,.0f} | {s['max_us']:,.0f} | {vs} |"
        )
    return "\n".join(lines)


def stage_table(hists: dict[str, HdrHistogram]) -> str:
    """The Markdown table of in-process stage costs (µs, from ns histograms).

    Shares are of the p50s: means are pulled about by GC pauses that land in whichever stage
    happens to be running.
    """
    p50 = {name: h.get_value_at_percentile(50) for name, h in hists.items()}
    total = p50["publish"]
    lines = [
        "| stage (in-process, no broker) | p50 µs | p99 µs | mean µs | p50 as % of `publish_raw` p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, title in STAGES.items():
        h = hists[name]
        lines.append(
            f"| {title} | {p50[name] / 1000:,.1f} | {h.get_value_at_percentile(99) / 1000:,.1f} "
            f"| {h.get_mean_value() / 1000:,.1f} | {100 * p50[name] / total:.0f}% |"
        )
    rest = total - p50["seal"] - p50["serialise"]
    lines.append(f"| ≈ rest of `publish_raw` (spec lookup, headers, `Receipt`, log call, capture) "
                 f"| {rest / 1000:,.1f} | | | {100 * rest / total:.0f}% |")
    return "\n".join(lines)


def environment(settings: HubSettings) -> dict[str, Any]:
    versions = {}
    for dist in ("kafka-python", "confluent-kafka", "fastavro", "pydantic", "pydantic-core"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "bootstrap_servers": settings.bootstrap_servers,
        "schema_registry_url": settings.schema_registry_url,
        "packages": versions,
    }


# --------------------------------------------------------------------------- driver


@dataclass
class Options:
    events: int
    rounds: int
    warmup: int
    seed: int
    event_type: str | None
    reference: bool
    check: bool
    keep: bool
    json_path: Path | None


class Senders:
    """The live modes' producers and per-event send functions; ``close()`` releases them."""

    def __init__(self, settings: HubSettings, reference: bool, timeout_s: float):
        self.pool = PublisherPool(settings)
        self.raw_producer = kafka_producer(settings)  # the SDK's own factory: identical config
        self.send: dict[str, Callable[[Any], object]] = {
            "raw": raw_sender(self.raw_producer, timeout_s),
            "sdk": sdk_sender(self.pool),
        }
        self._others: list[KafkaProducer] = []
        if reference:
            sdk5, raw5 = (twin_producer(self.raw_producer, linger_ms=5) for _ in range(2))
            self._others = [sdk5, raw5]
            self.send["raw_linger5"] = raw_sender(raw5, timeout_s)
            self.send["sdk_linger5"] = sdk_sender(shared_producer_publishers(settings, sdk5))

    def close(self) -> None:
        self.pool.close()
        for producer in (self.raw_producer, *self._others):
            producer.close(timeout=5)


def run_rounds(senders: Senders, progress: Progress, warm: tuple[list[Job], list[WireRecord]],
               measured: tuple[list[Job], list[WireRecord]], rounds: int, reference: bool,
               timeout_s: float) -> dict[str, list[RunResult]]:
    """Warm every mode up, then the rounds: each SDK/raw pair back to back, order alternating.

    The progress display has two bars only (all events, current phase): a longer live display
    costs more to redraw, and redrawing takes the GIL from the timed loop.
    """
    per_round = len(senders.send) * len(measured[0]) + (len(measured[1]) if reference else 0)
    total = len(senders.send) * len(warm[0]) + rounds * per_round
    overall = progress.add_task("all events", total=total)
    phase = progress.add_task("", total=1)

    def bar(label: str, total: int) -> Progressed:
        progress.reset(phase, total=total, description=label)

        def advance(n: int) -> None:
            progress.advance(phase, n)
            progress.advance(overall, n)
        return advance

    def items(mode: str, pair: tuple[list[Job], list[WireRecord]]) -> Sequence:
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
            elapsed, hist = pipelined(senders.raw_producer, todo, timeout_s,
                                      bar(f"round {rnd} · raw_pipelined", len(todo)))
            run_ = RunResult("raw_pipelined", rnd, len(todo), elapsed, hist)
            runs.setdefault("raw_pipelined", []).append(run_)
    return runs


def run(options: Options, console: Console) -> dict[str, Any]:
    """Prepare, measure the stages, run the rounds, verify, clean up; returns the results."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    sdk_settings = HubSettings(topic_prefix=prefix)
    raw_settings = HubSettings(topic_prefix=f"{prefix}-raw")
    timeout_s = sdk_settings.publish_timeout_s + 1  # what Publisher._produce waits

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    rng = random.Random(options.seed)
    warm_jobs = make_jobs(options.warmup, rng, options.event_type)
    jobs = make_jobs(options.events, rng, options.event_type)
    console.print(f"prefix [bold]{prefix}[/]: {options.warmup} warm-up + {options.events} events "
                  f"× {options.rounds} rounds per mode, seed {options.seed}, "
                  f"event type {options.event_type or 'mix of six'}")
    prepare_topics_and_schemas(sdk_settings, raw_settings)
    try:
        # No live display here: its redraw thread would take the GIL inside the timed stages.
        console.print("in-process stage breakdown (no broker)…")
        stages, warm_records, records = measure_stages(sdk_settings, warm_jobs, jobs)
        raw_warm = retarget(warm_records, prefix, raw_settings.topic_prefix)
        raw_records = retarget(records, prefix, raw_settings.topic_prefix)

        senders = Senders(sdk_settings, options.reference, timeout_s)
        try:
            with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, refresh_per_second=4) as progress:
                runs = run_rounds(senders, progress, (warm_jobs, raw_warm), (jobs, raw_records),
                                  options.rounds, options.reference, timeout_s)
        finally:
            senders.close()

        problems: list[str] = []
        if options.check:
            console.print("reading the SDK topics back to check the bytes…")
            sdk_passes = 2 if options.reference else 1  # linger 0 (shipped), and linger 5
            raw_passes = 3 if options.reference else 1  # linger 0, linger 5, pipelined
            problems = verify(sdk_settings, raw_settings, warm_records, records, options.rounds,
                              sdk_passes=sdk_passes, raw_passes=raw_passes)
    finally:
        if not options.keep:
            cleanup(sdk_settings, raw_settings, console)

    return {
        "finished": datetime.now(timezone.utc).isoformat(),
        "prefix": prefix,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "environment": {"load_average_at_start": load_at_start, **environment(sdk_settings)},
        "value_bytes_mean": statistics.mean(len(r.value) for r in records),
        "publish": {mode: median_summary(rs) for mode, rs in runs.items()},
        "ratios": {
            mode: paired_ratios(runs[mode], runs[base]) for mode, base in BASELINE.items() if mode in runs
        },
        "rounds": {mode: [r.summary() for r in rs] for mode, rs in runs.items()},
        "stages_us": {
            name: {
                "p50": h.get_value_at_percentile(50) / 1000,
                "p99": h.get_value_at_percentile(99) / 1000,
                "mean": h.get_mean_value() / 1000,
            }
            for name, h in stages.items()
        },
        "problems": problems,
        "_stage_hists": stages,
    }


def render(results: dict[str, Any]) -> str:
    """The Markdown report: live-mode table, the SDK's overhead, the stage table."""
    ratios, pub, opts = results["ratios"], results["publish"], results["options"]
    stages, env = results["stages_us"], results["environment"]
    parts = [
        f"{opts['events']} events × {opts['rounds']} rounds per mode (figures: median over rounds, "
        f"max: over all rounds; ratios: paired per round, then median); {opts['warmup']} warm-up "
        f"events per mode not counted; event type: {opts['event_type'] or 'mix of six'}; mean value "
        f"size {results['value_bytes_mean']:.0f} B; in-process `publish_raw` p50 "
        f"{stages['publish']['p50']:,.0f} µs; load average (1 min) at start "
        f"{env['load_average_at_start'][0]:.2f}, at end {env['load_average_1_5_15'][0]:.2f} "
        f"on {env['cpus']} CPUs.",
        "",
        publish_table(pub, ratios),
        "",
    ]
    for mode in PAIRS:
        if mode in ratios:
            r, base = ratios[mode], PAIRS[mode]
            parts.append(
                f"* **{mode} ÷ {base}**: throughput {r['throughput']:.3f}×, p50 {r['p50']:.3f}×, "
                f"p99 {r['p99']:.3f}× — {pub[mode]['p50_us'] - pub[base]['p50_us']:+,.0f} µs at p50 "
                f"(per round: {', '.join(f'{x:.3f}' for x in r['throughput_per_round'])})."
            )
    parts += ["", stage_table(results["_stage_hists"])]
    if results["problems"]:
        parts += ["", "**Check failed:** " + "; ".join(results["problems"])]
    elif opts["check"]:
        parts += ["", "Check passed: the SDK topics, read back, hold exactly the message shapes (key, "
                      "value length, schema id, headers) the raw modes replayed; the raw topics hold "
                      "every message sent."]
    return "\n".join(parts)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    public = {k: v for k, v in results.items() if not k.startswith("_")}
    path.write_text(json.dumps(public, indent=2, ensure_ascii=False) + "\n")


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.publish_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000,
                        help="measured events per mode per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; the order of raw and sdk alternates (default 3)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="uncounted events per mode first (default 200)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the synthetic submissions")
    parser.add_argument("--event-type", choices=[t.value for t in EventType],
                        help="publish only this event type (default: a seeded mix of all six)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the linger-5 pair and the pipelined reference row")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip reading the SDK topics back to compare with the replayed bytes")
    parser.add_argument("--keep", action="store_true", help="keep this run's topics and schema subjects")
    parser.add_argument("--json", dest="json_path", type=Path, default=None,
                        help="where to write JSON results (default bench/results/publish-<time>.json)")
    parser.add_argument("--no-json", action="store_true", help="write no JSON results")
    args = parser.parse_args(argv)
    if args.events < 1 or args.rounds < 1 or args.warmup < 1:
        parser.error("--events, --rounds and --warmup must be at least 1")
    json_path = None if args.no_json else (
        args.json_path or RESULTS_DIR / f"publish-{datetime.now():%Y%m%d-%H%M%S}.json"
    )
    return Options(args.events, args.rounds, args.warmup, args.seed, args.event_type,
                   args.reference, args.check, args.keep, json_path)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    console = Console(stderr=True)
    results = run(options, console)
    print(render(results))
    if options.json_path:
        write_json(results, options.json_path)
        console.print(f"results: {options.json_path}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
