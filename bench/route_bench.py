"""Routing throughput and end-to-end latency: the router (`hub worker`) beside a raw pass-through.

    .venv/bin/python -m bench.route_bench                      # default run, about 3½ minutes
    .venv/bin/python -m bench.route_bench --events 10000 --rounds 3 --rate 40 --duration 60

**Throughput.** ``--events`` submissions (a seeded mix of the six registration types) are
published to fresh topics before anything is timed: the SDK's exact bytes (``publish_raw``
against a capturing producer, as in ``publish_bench``), replayed pipelined. Then these read that
backlog from the beginning, one after the other, each in its own child process:

* ``router`` — ``hub worker`` as shipped, started by ``WorkerProcess``: decode, route, one record
  per inbox item plus one routing decision per event, every send awaited before the next event.
* ``faust_raw`` — a faust app with the router's own settings (copied from ``create_app``'s
  conf), the router's raw topic helper, concurrency 1, each send awaited like the router's: it
  consumes the same event topics and produces the same key and value bytes to a sink topic.
* ``faust_fanout`` — the same, but writing each event items + 1 times (as many records as the
  router writes for it), all awaited: what the router's output volume costs without routing.
* ``inbox_fleet`` — the six reference agencies (``AgencyFleet``: one Inbox thread each, in one
  process), draining the items the router wrote in round 1; items/s counts final outcomes.
* ``kafka_python_raw`` (reference) — the raw pass-through with kafka-python: poll, then
  ``send(...).get()`` per record and a commit per batch (the Inbox's loop shape), on the SDK's
  producer config.

A rate is taken from the output records' timestamps (CreateTime, set by the producing client
when it appends the record): records ÷ (last − first). Start-up, the group join and faust's
table recovery all happen before the first output, so they are excluded; a stall inside the run
is not, and shows as the longest pause. The router's events/s in count routing decisions, its
items/s out count inbox records. The ratio router ÷ faust_raw is taken per round, then the median.
Rounds use fresh prefixes (the router's group and outputs follow the prefix) and reverse the
order of the faust modes every other round. CPU of the child, of the broker and of the whole
machine is read from /proc over the same window.

**End-to-end latency.** With the router and the reference agencies (``AgencyFleet``, in a child
process) running, events are published open-loop: event *i* is due at start + i/rate, sent by
the SDK (``PublisherPool``, synchronous ``publish_raw``) from a scheduler thread. Each item's
latency runs from its event's *due* time (so a generator that falls behind is charged, not
hidden) to the arrival of its COMPLETED outcome at a consumer of the outcomes topic here, in an
HdrHistogram (µs, 3 significant figures). A case's latency runs to its last item's final outcome.
The generator's lag (send start − due) is reported beside it. The per-item time is split at the
routing decision's timestamp and the DELIVERED and COMPLETED outcomes' ``occurred_at`` (both
millisecond precision on the wire).

An in-process breakdown (no broker) times the router's per-event work (Avro decode, the ``Event``
round trip, ``route``, encoding, ``RouterProcessor.process`` with and without the INFO line
``hub worker --loglevel info`` writes per event) and the inbox's per-item work (decode, outcomes,
the reference agency's SQLite transaction).

Every run uses fresh names (``bench-<uuid8>-…``) and deletes its topics, schema subjects,
consumer groups and working files afterwards unless ``--keep``. Needs the dev stack (``hub dev
up``). Not a test: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import fastavro
from hdrh.histogram import HdrHistogram
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.publish_bench import (
    NS_HIGHEST,
    RESULTS_DIR,
    CapturingProducer,
    Job,
    WireRecord,
    environment,
    new_histogram,
    pipelined,
    write_json,
)
from hub.config import REPO_ROOT, HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for_publisher
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, RoutingDecision, WorkItem, decision_for, route
from hub.domain.rules import RuleBook
from hub.domain.sealing import seal
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.provisioning import provision_catalogue
from hub.schema_registry.client import registry_client
from hub.rules import load_rules
from hub.kafka.admin import ensure_topics
from hub.wire.codec import event_to_record
from hub.wire.schemas import event_schema
from hub.wire.serde import event_deserializer, model_deserializer, model_serializer
from hub.worker.process import WorkerProcess, settings_env
from producers.demo_data import generate
from producers.pool import PublisherPool
from producers.publisher import Publisher, kafka_producer

MODES = ("router", "faust_raw", "faust_fanout", "inbox_fleet", "kafka_python_raw")
LABELS = {
    "router": "**router: `hub worker` as shipped**",
    "faust_raw": "raw pass-through, faust (router's settings, concurrency 1, awaited sends)",
    "faust_fanout": "faust pass-through writing the router's record count (items + 1) per event",
    "kafka_python_raw": "raw pass-through, kafka-python (`send().get()`, commit per batch; reference)",
    "inbox_fleet": "inbox: six reference agencies (`AgencyFleet`, one process) on the router's items",
}
SINKS = {"faust_raw": "passthrough-faust", "faust_fanout": "passthrough-fanout",
         "kafka_python_raw": "passthrough-kafka-python"}
LAST = "bench.last"  # header on the fan-out's last copy of an event (where the router's decision is)
# The faust settings create_app() passes; the pass-through copies their values from its conf.
ROUTER_CONF = ("broker", "store", "web_enabled", "topic_partitions", "topic_replication_factor",
               "producer_acks", "consumer_auto_offset_reset", "processing_guarantee",
               "table_cleanup_interval")
CHILD = "_child"  # argv[1] of this module's own child processes (pass-throughs, agency fleet)
FINAL = {OutcomeStatus.COMPLETED.value, OutcomeStatus.REJECTED.value, OutcomeStatus.FAILED.value}
SEGMENTS = {
    "publish": "due → publish acked (generator lag + SDK publish)",
    "route": "acked → routing decision written (router fetch, decode, route, encode)",
    "pickup": "decision → DELIVERED (router's acks, inbox fetch, decode)",
    "handle": "DELIVERED → COMPLETED (agency handler, SQLite)",
    "report": "COMPLETED → outcome read here (batch flush, produce, fetch)",
}
STAGES = {
    "avro": "fastavro decode alone (reader = writer schema)",
    "decode": "decode: AvroDeserializer → `Event` (pydantic)",
    "to_dict": "`event_to_record` (`Event` → dict again)",
    "route": "`route` + `decision_for`",
    "encode": "encode items + decision (AvroSerializer)",
    "process": "`RouterProcessor.process` whole, no log output",
    "process_logged": "`process` + its INFO line to a file (as the worker runs)",
}
INBOX_STAGES = {
    "item_decode": "inbox: decode a WorkItem (AvroDeserializer + pydantic)",
    "outcomes": "inbox: DELIVERED + COMPLETED outcomes built and encoded",
    "handler": "agency handler (one SQLite transaction, WAL)",
}
US_MAX = 600_000_000  # latencies in µs: ten minutes is a failure, not a latency
SNAP_S = 0.2  # how often the offsets are looked at while a mode runs

ns = time.time_ns  # wall clock throughout: compared with Kafka timestamps and occurred_at
Advance = Callable[[int], None]


# --------------------------------------------------------------------------- inputs


def capture_records(settings: HubSettings, jobs: Sequence[Job]) -> list[WireRecord]:
    """What the SDK would send for ``jobs`` on ``settings``' topics (publish_raw, captured)."""
    capture, registry = CapturingProducer(), registry_client(settings)
    publishers = {
        dept: Publisher(dept, settings, producer_factory=lambda _s: capture, registry=registry)
        for dept in Department
    }
    for job in jobs:
        publishers[job.department].publish_raw(job.event_type, job.submission)
    return list(capture.sent)


def routed_types(rules: RuleBook) -> list[EventType]:
    """The registration types: every catalogue type the routing rules send items for.

    ``documents_supplemented`` has no items of its own (it releases a held event), and a random
    one names no held event, so the router would dead-letter it: it is left out of the mix.
    """
    return [t for t in CATALOGUE if rules.items_for(t.value)]


def make_registration_jobs(count: int, rng: random.Random, types: Sequence[EventType]) -> list[Job]:
    """``count`` valid submissions, a seeded mix of ``types`` (as ``publish_bench.make_jobs``)."""
    jobs = []
    for _ in range(count):
        chosen = rng.choice(list(types))
        jobs.append(Job(chosen.value, CATALOGUE[chosen].owner, generate(chosen, rng)))
    return jobs


def event_id_of(record: WireRecord) -> str:
    return dict(record.headers)["oncehub.event_id"].decode()


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


# --------------------------------------------------------------------------- rates


@dataclass(frozen=True)
class Rate:
    """Records per second on an output topic, from the records' own timestamps (ms)."""

    records: int
    first_ms: int | None
    last_ms: int | None
    per_s: float | None  # (records − 1) ÷ (last − first)
    middle_per_s: float | None  # the same between the 10th and the 90th percentile record
    longest_pause_ms: int | None  # largest gap between consecutive records

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def rate_of(timestamps_ms: Iterable[int], trim: float = 0.1) -> Rate:
    ts = sorted(timestamps_ms)
    n = len(ts)
    if n < 2:
        return Rate(n, ts[0] if ts else None, ts[-1] if ts else None, None, None, None)

    def per_s(lo: int, hi: int) -> float | None:
        span = (ts[hi] - ts[lo]) / 1000
        return (hi - lo) / span if span > 0 else None

    lo, hi = int(trim * (n - 1)), int(round((1 - trim) * (n - 1)))
    return Rate(n, ts[0], ts[-1], per_s(0, n - 1), per_s(lo, hi) if hi > lo else None,
                max(b - a for a, b in zip(ts, ts[1:])))


@dataclass(frozen=True)
class CpuSample:
    """CPU ticks so far of the measured process and of the broker, and the machine's busy/total."""

    at: float  # time.monotonic()
    process: int | None
    broker: int | None
    machine_busy: int | None
    machine_total: int | None


def process_ticks(pid: int | None) -> int | None:
    """utime + stime of ``pid`` (all its threads) in clock ticks, from /proc; None if unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def machine_ticks() -> tuple[int | None, int | None]:
    """(busy, total) ticks of all CPUs since boot, from /proc/stat; busy excludes idle and iowait."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None, None
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


def broker_pid() -> int | None:
    """The dev stack's Kafka pid (``hub dev up`` writes it), to read its CPU time; None if unknown."""
    from hub.devstack.procs import read_pid

    return read_pid(Path(HubSettings().state_dir) / "run" / "kafka.pid")


def cpu_sample(pid: int | None, broker: int | None) -> CpuSample:
    return CpuSample(time.monotonic(), process_ticks(pid), process_ticks(broker), *machine_ticks())


def cpu_shares(a: CpuSample, b: CpuSample, tick_hz: float, cpus: int) -> dict[str, float | None]:
    """Between two samples: the process's and the broker's CPU in % of one core, the machine's
    busy share in % of all its cores."""
    wall = b.at - a.at

    def pct(x: int | None, y: int | None) -> float | None:
        return 100 * (y - x) / tick_hz / wall if x is not None and y is not None and wall > 0 else None

    machine = None
    if a.machine_total is not None and b.machine_total is not None and b.machine_total > a.machine_total:
        machine = 100 * (b.machine_busy - a.machine_busy) / (b.machine_total - a.machine_total)
    return {"process_cpu_pct": pct(a.process, b.process), "broker_cpu_pct": pct(a.broker, b.broker),
            "machine_busy_pct": machine, "cpus": cpus}


# --------------------------------------------------------------------------- stack


def run_names(names: Iterable[str], run_prefix: str) -> list[str]:
    """The names (topics, subjects, groups) that belong to this run: ``<run_prefix>-…``."""
    return sorted(n for n in names if n.startswith(f"{run_prefix}-"))


def cleanup(run_prefix: str, console: Console, paths: Iterable[Path] = ()) -> None:
    """Delete this run's consumer groups, topics, schema subjects and files (warns, never raises).

    Everything the run created is named ``<run_prefix>-…``: its hub prefixes, the faust apps'
    internal topics and groups, the agencies' groups.
    """
    try:
        admin = KafkaAdminClient(bootstrap_servers=HubSettings().bootstrap_servers,
                                 client_id="oncehub-bench")
        try:
            groups = run_names((g["group_id"] for g in admin.list_groups()), run_prefix)
            if groups:
                admin.delete_groups(groups)
            topics = run_names(admin.list_topics(), run_prefix)
            if topics:
                admin.delete_topics(topics)
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        console.print(f"[yellow]could not delete the topics or groups of {run_prefix}: {exc}")
    client = registry_client(HubSettings())
    try:
        subjects = run_names(client.get_subjects(), run_prefix)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]could not list schema subjects: {exc}")
        subjects = []
    for subject in subjects:
        try:
            client.delete_subject(subject)
            client.delete_subject(subject, permanent=True)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "http_status_code", None) != 404:
                console.print(f"[yellow]could not delete subject {subject}: {exc}")
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


class OffsetWatch:
    """Records written so far on some topics (summed per topic), from the end offsets."""

    def __init__(self, settings: HubSettings, topics: Sequence[str]):
        self._consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                       enable_auto_commit=False)
        self._tps = [TopicPartition(t, p) for t in topics
                     for p in sorted(self._consumer.partitions_for_topic(t) or ())]

    def counts(self) -> Counter:
        out: Counter = Counter()
        for tp, offset in self._consumer.end_offsets(self._tps).items():
            out[tp.topic] += offset
        return out

    def close(self) -> None:
        self._consumer.close()


@dataclass(frozen=True)
class Out:
    """One record read back from an output topic."""

    topic: str
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: frozenset = frozenset()  # header names only


def read_back(settings: HubSettings, topics: Sequence[str], timeout_s: float = 120.0,
              with_headers: bool = False) -> list[Out]:
    """Every record on ``topics``, from the beginning to the current end."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             max_partition_fetch_bytes=4 * 1024 * 1024)
    out: list[Out] = []
    try:
        tps = [TopicPartition(t, p) for t in topics
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        pending = {tp: off for tp, off in consumer.end_offsets(tps).items() if off > 0}
        if not pending:
            return out
        consumer.assign(list(pending))
        consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                out += [Out(tp.topic, m.timestamp, m.key, m.value,
                            frozenset(k for k, _ in m.headers) if with_headers else frozenset())
                        for m in msgs]
                if msgs and msgs[-1].offset + 1 >= pending.get(tp, 0):
                    pending.pop(tp, None)
    finally:
        consumer.close()
    return out


# --------------------------------------------------------------------------- child processes


class BenchChild(WorkerProcess):
    """One of this module's child roles, started and stopped like ``WorkerProcess``'s router."""

    def __init__(self, settings: HubSettings, role: str, *args: str, log_file: Path, cwd: Path):
        super().__init__(settings, log_file)
        self.argv = [sys.executable, "-m", "bench.route_bench", CHILD, role, *args]
        self.cwd = cwd

    def start(self) -> "BenchChild":
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(self.argv, env=settings_env(self.settings) | {"PYTHONPATH": path},
                                          stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        return self


def passthrough_app(settings: HubSettings, sink: str, fanout: Mapping[str, int] | None = None):
    """A faust app with the router's settings that copies every event record to ``sink``.

    The same raw topics (``hub.worker.app._raw_topic``), concurrency 1, and each event's sends
    awaited before the next event, as the router does; only decode, route and encode are missing.
    With ``fanout`` (event id → its number of work items), each event is written items + 1
    times, as many records as the router writes for it, under keys spread like the router's
    (the input key plus a copy number); the last copy carries a ``bench.last`` header.
    """
    import faust

    from hub.worker.app import _raw_topic, create_app

    router_conf = create_app(settings).conf  # built only to read its settings; never started
    # One app (so one consumer group) per sink: each pass-through reads the backlog from the start.
    app = faust.App(f"{settings.topic_prefix}-{sink.rsplit('.', 1)[-1]}",
                    **{name: getattr(router_conf, name) for name in ROUTER_CONF})
    out = _raw_topic(app, sink)

    @app.agent(_raw_topic(app, *TopicNames(settings.topic_prefix).all_events()), concurrency=1)
    async def pass_through(stream):
        async for event in stream.events():
            msg = event.message
            if fanout is None:
                future = await out.send(key=msg.key, value=msg.value)
                await future  # acknowledged before the next event, like the router's outputs
                continue
            copies = fanout_copies(fanout, msg.headers)
            pending = [await out.send(key=msg.key + bytes([j]), value=msg.value,
                                      headers=[(LAST, b"1")] if j == copies - 1 else None)
                       for j in range(copies)]
            for future in pending:
                await future

    return app


def fanout_copies(fanout: Mapping[str, int], headers: Any) -> int:
    """Records the router writes for the event with these headers: its items, plus the decision."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    event_id = next((v for k, v in pairs if k == "oncehub.event_id"), b"").decode()
    return fanout.get(event_id, 0) + 1


def serve_kafka_python(settings: HubSettings, sink: str, stop: threading.Event) -> None:
    """Poll the event topics; send each record to ``sink`` and wait for its ack; commit per batch."""
    names = TopicNames(settings.topic_prefix)
    consumer = KafkaConsumer(*names.all_events(), bootstrap_servers=settings.bootstrap_servers,
                             group_id=f"{settings.topic_prefix}-passthrough-kafka-python",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             client_id="oncehub-bench-passthrough")
    producer = kafka_producer(settings)
    timeout_s = settings.publish_timeout_s + 1
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    producer.send(sink, key=record.key, value=record.value).get(timeout=timeout_s)
            if batches:
                consumer.commit()
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)


def serve_fleet(settings: HubSettings, base_dir: Path, stop: threading.Event) -> None:
    """The six reference agencies on their inboxes until ``stop``."""
    from consumers.reference_agencies.fleet import AgencyFleet

    with AgencyFleet(settings, base_dir):
        while not stop.wait(0.5):
            pass


def serve_child(argv: Sequence[str]) -> int:
    """A child process: ``_child faust <sink> [fan-out.json]``, ``_child kafka-python <sink>``,
    ``_child fleet <dir>``."""
    role, arg = argv[0], argv[1]
    settings = HubSettings()  # from the HUB_* environment WorkerProcess-style children get
    if role == "faust":
        import faust

        fanout = json.loads(Path(argv[2]).read_text()) if len(argv) > 2 else None
        # Exactly how run_worker starts the router (WorkerProcess passes --loglevel info).
        faust.Worker(passthrough_app(settings, arg, fanout), loglevel="info",
                     quiet=True).execute_from_commandline()
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if role == "kafka-python":
        serve_kafka_python(settings, arg, stop)
    elif role == "fleet":
        serve_fleet(settings, Path(arg), stop)
    else:
        raise SystemExit(f"unknown child role {role!r}")
    return 0


# --------------------------------------------------------------------------- throughput


@dataclass
class Round:
    """One round's prefix and the events published to it before anything is timed."""

    number: int
    settings: HubSettings
    records: list[WireRecord]
    items: list[int]  # work items per record

    @property
    def expected_items(self) -> int:
        return sum(self.items)

    @property
    def names(self) -> TopicNames:
        return TopicNames(self.settings.topic_prefix)

    def sink(self, mode: str) -> str:
        return f"{self.settings.topic_prefix}.{SINKS[mode]}"


@dataclass
class ModeRun:
    mode: str
    round: int
    events: int
    startup_s: float | None  # process start → first output record
    events_in: Rate
    items_out: Rate | None
    cpu: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # inbox_fleet: final outcomes by status

    def cpu_ms_per_unit(self) -> float | None:
        """The process's CPU per event in (per item out for the fleet), over the measured window."""
        cpu = self.cpu.get("process_cpu_pct")
        rate = self.items_out.per_s if self.mode == "inbox_fleet" and self.items_out else self.events_in.per_s
        return 10 * cpu / rate if cpu is not None and rate else None

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_per_s": self.events_in.per_s,
            "events_per_s_middle": self.events_in.middle_per_s,
            "items_per_s": self.items_out.per_s if self.items_out else None,
            "items": self.items_out.records if self.items_out else None,
            "longest_pause_ms": (self.items_out.longest_pause_ms
                                 if self.mode == "inbox_fleet" and self.items_out
                                 else self.events_in.longest_pause_ms),
            "startup_s": self.startup_s,
            "span_s": ((self.events_in.last_ms - self.events_in.first_ms) / 1000
                       if self.events_in.first_ms is not None else None),
            "process_cpu_pct": self.cpu.get("process_cpu_pct"),
            "process_cpu_ms_per_unit": self.cpu_ms_per_unit(),
            "broker_cpu_pct": self.cpu.get("broker_cpu_pct"),
            "machine_busy_pct": self.cpu.get("machine_busy_pct"),
        }


def prepare_round(number: int, run_prefix: str, jobs: Sequence[Job], items: Sequence[int],
                  advance: Advance) -> Round:
    """Fresh prefix: provision, capture the SDK's bytes, publish them pipelined."""
    settings = HubSettings(topic_prefix=f"{run_prefix}-r{number}")
    provision_catalogue(settings)
    ensure_topics(settings, [f"{settings.topic_prefix}.{s}" for s in SINKS.values()])
    records = capture_records(settings, jobs)
    producer = kafka_producer(settings)
    try:
        pipelined(producer, records, settings.publish_timeout_s + 1, advance)
    finally:
        producer.close(timeout=5)
    return Round(number, settings, records, list(items))


def run_mode(mode: str, rnd: Round, workdir: Path, advance: Advance, timeout_s: float) -> ModeRun:
    """Start ``mode``'s process on the round's backlog, wait until its output is complete, stop it.

    CPU is sampled when the first output shows and when the last does, so it covers the same
    steady window as the rate (to within one look at the offsets, ``SNAP_S``).
    """
    settings, names, n = rnd.settings, rnd.names, len(rnd.records)
    logs = workdir / "logs" / f"{mode}-r{rnd.number}.log"
    want = {"done": n, "items": 0}  # records on ``counted`` / ``items`` that mean complete
    if mode == "router":
        child: WorkerProcess = WorkerProcess(settings, log_file=logs)
        counted, items = [names.routing_log, names.dead_letters], names.all_inboxes()
        want["items"] = rnd.expected_items
    elif mode == "inbox_fleet":
        # Drains the items the router just wrote: a DELIVERED and a final outcome per item.
        child = BenchChild(settings, "fleet", str(workdir / f"agencies-r{rnd.number}"), log_file=logs,
                           cwd=workdir / "run")
        counted, items = [names.outcomes], []
        want["done"] = 2 * rnd.expected_items
    elif mode == "kafka_python_raw":
        child = BenchChild(settings, "kafka-python", rnd.sink(mode), log_file=logs, cwd=workdir / "run")
        counted, items = [rnd.sink(mode)], []
    else:
        extra = []
        if mode == "faust_fanout":
            plan = workdir / f"fanout-r{rnd.number}.json"
            plan.write_text(json.dumps({event_id_of(r): k for r, k in zip(rnd.records, rnd.items)}))
            extra, want["done"] = [str(plan)], n + rnd.expected_items
        child = BenchChild(settings, "faust", rnd.sink(mode), *extra, log_file=logs, cwd=workdir / "run")
        counted, items = [rnd.sink(mode)], []
    watch = OffsetWatch(settings, counted + items)
    broker = broker_pid()
    problems: list[str] = []
    started_ms = ns() // 1_000_000
    child.start()
    pid = child._proc.pid if child._proc else None  # noqa: SLF001 - WorkerProcess keeps it private
    done, first, last = 0, None, None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            counts = watch.counts()
            out = sum(counts[t] for t in counted)
            if first is None and out + sum(counts[t] for t in items) > 0:
                first = cpu_sample(pid, broker)
            now_done = min(n, out * n // want["done"])
            advance(now_done - done)
            done = now_done
            if out >= want["done"] and sum(counts[t] for t in items) >= want["items"]:
                last = cpu_sample(pid, broker)
                break
            if not child.running:
                problems.append(f"{mode} exited early (see {logs})")
                break
            if time.monotonic() > deadline:
                problems.append(f"{mode}: {out} of {want['done']} records out after {timeout_s:.0f}s")
                break
            time.sleep(SNAP_S)
    finally:
        child.stop()
        watch.close()
    cpu = cpu_shares(first, last, os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1) if first and last else {}
    if mode == "router":
        run_ = check_router(rnd, started_ms, problems)
    elif mode == "inbox_fleet":
        run_ = check_fleet(rnd, started_ms, problems)
    else:
        run_ = check_passthrough(mode, rnd, started_ms, problems)
    run_.cpu = cpu
    return run_


def check_router(rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the router's outputs back: a decision per event, the expected items, no dead letters."""
    names, n = rnd.names, len(rnd.records)
    out = read_back(rnd.settings, [names.routing_log, names.dead_letters, *names.all_inboxes()])
    decode = model_deserializer(registry_client(rnd.settings), "RoutingDecision", RoutingDecision)
    decisions = [o for o in out if o.topic == names.routing_log]
    inbox = [o for o in out if o.topic != names.routing_log and o.topic != names.dead_letters]
    letters = sum(o.topic == names.dead_letters for o in out)
    decoded = [decode(o.value, o.topic) for o in decisions]
    routed = {d.event_id for d in decoded}
    published = {event_id_of(r) for r in rnd.records}
    if routed != published:
        problems.append(f"router: {len(published - routed)} event(s) without a decision, "
                        f"{len(routed - published)} unknown")
    if len(decisions) != len(routed):
        problems.append(f"router: {len(decisions) - len(routed)} duplicate decision(s) (re-routed)")
    planned = sum(len(d.items) for d in decoded)
    if planned != rnd.expected_items or len(inbox) != rnd.expected_items:
        problems.append(f"router: {len(inbox)} inbox records, {planned} planned items, "
                        f"{rnd.expected_items} expected")
    if letters:
        problems.append(f"router: {letters} dead letter(s)")
    events_in = rate_of(o.timestamp_ms for o in decisions)
    first = min((o.timestamp_ms for o in out if o.topic != names.dead_letters), default=None)
    startup = (first - started_ms) / 1000 if first is not None else None
    return ModeRun("router", rnd.number, n, startup, events_in,
                   rate_of(o.timestamp_ms for o in inbox), problems=problems)


def check_fleet(rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the outcomes back: one final outcome per item; the rate counts final outcomes."""
    names = rnd.names
    out = read_back(rnd.settings, [names.outcomes])
    decode = model_deserializer(registry_client(rnd.settings), "Outcome", Outcome)
    finals: dict[str, tuple[str, int]] = {}
    for o in out:
        outcome = decode(o.value, o.topic)
        if outcome.status.value in FINAL:
            finals.setdefault(outcome.item_id, (outcome.status.value, o.timestamp_ms))
    statuses = Counter(status for status, _ in finals.values())
    if len(finals) != rnd.expected_items:
        problems.append(f"inbox_fleet: {len(finals)} items with a final outcome, "
                        f"{rnd.expected_items} expected")
    if statuses.get(OutcomeStatus.FAILED.value):
        problems.append(f"inbox_fleet: {statuses[OutcomeStatus.FAILED.value]} item(s) FAILED")
    items_out = rate_of(ts for _, ts in finals.values())
    first = min((o.timestamp_ms for o in out), default=None)
    startup = (first - started_ms) / 1000 if first is not None else None
    empty = Rate(0, None, None, None, None, None)
    run_ = ModeRun("inbox_fleet", rnd.number, len(rnd.records), startup, empty, items_out, problems=problems)
    run_.statuses = dict(statuses)
    return run_


def check_passthrough(mode: str, rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the sink back: the very value bytes published, each once (fan-out: items + 1 times)."""
    out = read_back(rnd.settings, [rnd.sink(mode)], with_headers=True)
    fanout = mode == "faust_fanout"
    got = Counter((o.key if not fanout else o.key[:-1], o.value) for o in out)
    want = Counter({(r.key, r.value): (k + 1 if fanout else 1) for r, k in zip(rnd.records, rnd.items)})
    if got != want:
        problems.append(f"{mode}: the sink holds {len(out)} records; "
                        f"{sum((want - got).values())} missing, {sum((got - want).values())} extra")
    lasts = [o for o in out if LAST in o.headers] if fanout else out
    events_in = rate_of(o.timestamp_ms for o in lasts)
    items_out = rate_of(o.timestamp_ms for o in out if LAST not in o.headers) if fanout else None
    first = min((o.timestamp_ms for o in out), default=None)
    startup = (first - started_ms) / 1000 if first is not None else None
    return ModeRun(mode, rnd.number, len(rnd.records), startup, events_in, items_out, problems=problems)


def mode_order(number: int, kafka_python: bool) -> list[str]:
    """The faust modes reverse their order every other round; the kafka-python reference runs last."""
    faust_modes = ["router", "faust_raw", "faust_fanout"]
    ordered = faust_modes if number % 2 else faust_modes[::-1]
    # The fleet drains the inboxes the router filled, so it comes after all the faust modes; it
    # has no ratio to pair, and a drain takes ~40 s, so it runs in the first round only.
    return ordered + (["inbox_fleet"] if number == 1 else []) + (["kafka_python_raw"] if kafka_python else [])


def median_summary(runs: Sequence[ModeRun]) -> dict[str, Any]:
    """Median over rounds of each figure (the longest pause: the maximum)."""
    summaries = [r.summary() for r in runs]
    out: dict[str, Any] = {}
    for key in summaries[0]:
        values = [s[key] for s in summaries if s[key] is not None]
        out[key] = statistics.median(values) if values else None
    pauses = [s["longest_pause_ms"] for s in summaries if s["longest_pause_ms"] is not None]
    out["longest_pause_ms"] = max(pauses, default=None)
    return out


def paired_ratio(runs: Sequence[ModeRun], baseline: Sequence[ModeRun]) -> dict[str, Any]:
    """events/s ÷ baseline's, per round (same backlog, minutes apart), then the median."""
    per_round = [a.events_in.per_s / b.events_in.per_s for a, b in zip(runs, baseline)
                 if a.events_in.per_s and b.events_in.per_s]
    return {"ratio": statistics.median(per_round) if per_round else None, "per_round": per_round}


# --------------------------------------------------------------------------- latency


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

    def __init__(self, settings: HubSettings):
        super().__init__(name="outcome-tap", daemon=True)
        self.names = TopicNames(settings.topic_prefix)
        self.settings = settings
        registry = registry_client(settings)
        self._outcome = model_deserializer(registry, "Outcome", Outcome)
        self._decision = model_deserializer(registry, "RoutingDecision", RoutingDecision)
        self.arrivals: list[Arrival] = []
        self.decisions: dict[str, int] = {}  # event id -> the decision's timestamp, ns
        self.finals: set[str] = set()  # item ids with a final outcome
        self.ready, self._halt, self.error = threading.Event(), threading.Event(), None

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers,
                                 enable_auto_commit=False)
        try:
            topics = [self.names.outcomes, self.names.routing_log]
            tps = [TopicPartition(t, p) for t in topics
                   for p in sorted(consumer.partitions_for_topic(t) or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning()
            for tp in tps:
                consumer.position(tp)
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
        finally:
            consumer.close()

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
    """Publishes ``jobs`` at ``rate`` per second by the clock, not after the previous one returns."""

    def __init__(self, pool: PublisherPool, jobs: Sequence[Job], items: Sequence[int], rate: float):
        super().__init__(name="open-loop", daemon=True)
        self.pool, self.jobs, self.items, self.rate = pool, jobs, items, rate
        self.sent: list[SentEvent] = []
        self.errors: list[str] = []

    def run(self) -> None:
        lead = 100_000_000  # start 100 ms from now
        mono0, wall0 = time.monotonic_ns() + lead, ns() + lead
        dues = open_loop_schedule(len(self.jobs), self.rate, 0)
        for job, offset, items in zip(self.jobs, dues, self.items):
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
                                       started, ns(), items))


def _us(delta_ns: int) -> int:
    return max(delta_ns // 1000, 1)


def analyse_latency(sent: Sequence[SentEvent], decisions: Mapping[str, int],
                    arrivals: Sequence[Arrival], rate: float) -> dict[str, Any]:
    """Histograms (µs) per item, per case, per segment, and the generator's lag.

    Only ``sent`` events count (warm-up events are ignored). An item's latency runs from its
    event's due time to the first arrival of its COMPLETED outcome; a case's to the last of its
    items' final outcomes (COMPLETED, REJECTED or FAILED).
    """
    hists = {name: HdrHistogram(1, US_MAX, 3)
             for name in ("item", "item_from_send", "case", "lag", *SEGMENTS)}
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
        hists["item"].record_value(_us(a.arrival_ns - s.due_ns))
        hists["item_from_send"].record_value(_us(a.arrival_ns - s.started_ns))
        routed, picked = decisions.get(a.event_id), delivered.get(a.item_id)
        if routed is None or picked is None:
            continue
        marks = (s.due_ns, s.acked_ns, routed, picked, a.occurred_ns, a.arrival_ns)
        for name, (t0, t1) in zip(SEGMENTS, zip(marks, marks[1:])):
            hists[name].record_value(_us(t1 - t0))
        # Items of one event reach several agencies at once: is handling slower when they do?
        if s.items not in handle_by_items:
            handle_by_items[s.items] = HdrHistogram(1, US_MAX, 3)
        handle_by_items[s.items].record_value(_us(a.occurred_ns - picked))
    finals_of: dict[str, list[int]] = {}
    for a in final.values():
        finals_of.setdefault(a.event_id, []).append(a.arrival_ns)
    incomplete = 0
    period_ns = 1e9 / rate
    for s in sent:
        hists["lag"].record_value(_us(s.started_ns - s.due_ns))
        if s.items == 0:
            continue
        done = finals_of.get(s.event_id, [])
        if len(done) < s.items:
            incomplete += 1
        else:
            hists["case"].record_value(_us(max(done) - s.due_ns))
    starts = sorted(s.started_ns for s in sent)
    return {
        "hists": hists,
        "events": len(sent),
        "items_expected": sum(s.items for s in sent),
        "statuses": dict(statuses),
        "items_missing": sum(s.items for s in sent) - len(final),
        "cases_incomplete": incomplete,
        "sends_late_by_a_period": sum(s.started_ns - s.due_ns > period_ns for s in sent),
        "achieved_rate": (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9) if len(starts) > 1 else None,
        "handle_ms_by_items_in_event": {
            k: {"count": h.get_total_count(), "p50_ms": h.get_value_at_percentile(50) / 1000,
                "p90_ms": h.get_value_at_percentile(90) / 1000}
            for k, h in sorted(handle_by_items.items())},
    }


def latency_phase(run_prefix: str, workdir: Path, jobs: Sequence[Job], items: Sequence[int],
                  warm: Sequence[Job], warm_items: int, rate: float,
                  progress: Progress) -> dict[str, Any]:
    """Router + agency fleet running; warm up; publish open-loop; wait for every outcome."""
    settings = HubSettings(topic_prefix=f"{run_prefix}-lat")
    provision_catalogue(settings)
    tap = OutcomeTap(settings)
    tap.start()
    tap.ready.wait(60)
    worker = WorkerProcess(settings, log_file=workdir / "logs" / "router-latency.log")
    fleet = BenchChild(settings, "fleet", str(workdir / "agencies"),
                       log_file=workdir / "logs" / "fleet-latency.log", cwd=workdir / "run")
    pool = PublisherPool(settings)
    problems: list[str] = []
    generator = OpenLoop(pool, jobs, items, rate)
    try:
        worker.start()
        fleet.start()
        step = progress.add_task("latency · warm-up items", total=warm_items)
        for job in warm:
            pool(job.department).publish_raw(job.event_type, job.submission)
        deadline = time.monotonic() + 180
        while len(tap.finals) < warm_items and time.monotonic() < deadline and tap.error is None:
            progress.update(step, completed=len(tap.finals))
            time.sleep(SNAP_S)
        progress.update(step, completed=len(tap.finals))
        if len(tap.finals) < warm_items:
            raise RuntimeError(f"warm-up: {len(tap.finals)} of {warm_items} items final after 180s "
                               f"(logs in {workdir / 'logs'}); {tap.error or ''}")
        load_before = [round(x, 2) for x in os.getloadavg()]
        expected = sum(items)
        sending = progress.add_task(f"latency · publish {rate:g}/s", total=len(jobs))
        finishing = progress.add_task("latency · items final", total=expected)
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
    finally:
        if generator.ident is not None:  # started
            generator.join(timeout=60)
        fleet.stop()
        worker.stop()
        pool.close()
        tap.stop()
    result = analyse_latency(generator.sent, dict(tap.decisions), list(tap.arrivals), rate)
    if generator.errors:
        problems.append(f"latency: {len(generator.errors)} publish(es) failed: {generator.errors[0]}")
    if result["items_missing"]:
        problems.append(f"latency: {result['items_missing']} item(s) without a final outcome")
    bad = {k: v for k, v in result["statuses"].items() if k != OutcomeStatus.COMPLETED.value}
    if bad:
        problems.append(f"latency: final outcomes other than COMPLETED: {bad}")
    result.update(problems=problems, rate=rate, load_average_before=load_before)
    return result


def latency_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    def ms(h: HdrHistogram) -> dict[str, float | int]:
        return {"count": h.get_total_count(),
                **{f"p{q:g}_ms": h.get_value_at_percentile(q) / 1000 for q in (50, 90, 99, 99.9)},
                "max_ms": h.get_max_value() / 1000, "mean_ms": h.get_mean_value() / 1000}

    return {**{k: v for k, v in result.items() if k != "hists"},
            "ms": {name: ms(h) for name, h in result["hists"].items()}}


# --------------------------------------------------------------------------- in-process stages


def measure_router_stages(settings: HubSettings, records: Sequence[WireRecord], warm: int,
                          workdir: Path) -> dict[str, HdrHistogram]:
    """Time the router's per-event work in-process (ns histograms); the first ``warm`` untimed."""
    from hub.worker.processor import RouterProcessor, SourceRecord

    rules, names, registry = load_rules(), TopicNames(settings.topic_prefix), registry_client(settings)
    specs = {names.events(spec): spec for spec in (spec_for_publisher_of(r) for r in records)}
    decoders = {spec.event_type: event_deserializer(registry, spec) for spec in specs.values()}
    parsed = {spec.event_type: fastavro.parse_schema(event_schema(spec)) for spec in specs.values()}
    encode_item = model_serializer(registry, "WorkItem")
    encode_decision = model_serializer(registry, "RoutingDecision")
    processor = RouterProcessor(
        rules=rules, names=names,
        decode=lambda spec, data, topic: event_to_record(decoders[spec.event_type](data, topic)),
        specs_by_topic=specs, encode_item=encode_item, encode_decision=encode_decision,
        encode_dead_letter=model_serializer(registry, "DeadLetter"), routed={}, held={},
    )
    hists = {name: new_histogram(NS_HIGHEST) for name in STAGES}
    proc_log = logging.getLogger("hub.worker.processor")
    handler = logging.FileHandler(workdir / "stages-processor.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s"))
    clock = time.perf_counter_ns
    level, propagate = proc_log.level, proc_log.propagate
    try:
        for i, rec in enumerate(records):
            spec = specs[rec.topic]
            source = SourceRecord(rec.topic, 0, i, rec.key, rec.value)
            t0 = clock()
            fastavro.schemaless_reader(io.BytesIO(rec.value[5:]), parsed[spec.event_type])
            t1 = clock()
            event = decoders[spec.event_type](rec.value, rec.topic)
            t2 = clock()
            as_dict = event_to_record(event)
            t3 = clock()
            work = route(as_dict, rules, None)
            decision = decision_for(as_dict, DecisionKind.ROUTED, work)
            t4 = clock()
            for w in work:
                encode_item(w, names.inbox(w.department))
            encode_decision(decision, names.routing_log)
            t5 = clock()
            proc_log.setLevel(logging.WARNING)
            processor.process(source)
            t6 = clock()
            proc_log.addHandler(handler)
            proc_log.setLevel(logging.INFO)
            proc_log.propagate = False
            processor.process(source)
            t7 = clock()
            proc_log.removeHandler(handler)
            proc_log.propagate = propagate
            if i >= warm:
                for name, took in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4,
                                                t6 - t5, t7 - t6)):
                    hists[name].record_value(max(took, 1))
    finally:
        proc_log.setLevel(level)
        proc_log.propagate = propagate
        proc_log.removeHandler(handler)
        handler.close()
    return hists


def measure_inbox_stages(settings: HubSettings, records: Sequence[WireRecord], limit: int,
                         workdir: Path) -> dict[str, HdrHistogram]:
    """Time the inbox's per-item work in-process (ns): decode, outcomes, the reference agency.

    Items come from routing ``records`` here; each agency writes to a fresh SQLite file in
    ``workdir``. The first item per department is untimed (table creation, first statements).
    """
    from consumers.reference_agencies import reference_agencies
    from hub.domain.outcomes import Completed

    rules, names, registry = load_rules(), TopicNames(settings.topic_prefix), registry_client(settings)
    encode_item = model_serializer(registry, "WorkItem")
    decode_item = model_deserializer(registry, "WorkItem", WorkItem)
    encode_outcome = model_serializer(registry, "Outcome")
    decoders: dict[str, Any] = {}
    work = []
    for rec in records:
        spec = spec_for_publisher_of(rec)
        decode = decoders.setdefault(rec.topic, event_deserializer(registry, spec))
        for item in route(event_to_record(decode(rec.value, rec.topic)), rules, None):
            topic = names.inbox(item.department)
            work.append((topic, encode_item(item, topic)))
        if len(work) >= limit:
            break
    agencies = reference_agencies(workdir / "stage-agencies")
    hists = {name: new_histogram(NS_HIGHEST) for name in INBOX_STAGES}
    seen: set[Department] = set()
    clock, now = time.perf_counter_ns, lambda: datetime.now(timezone.utc)
    try:
        for topic, value in work:
            t0 = clock()
            item = decode_item(value, topic)
            t1 = clock()
            encode_outcome(Outcome.for_item(item, OutcomeStatus.DELIVERED, now()), names.outcomes)
            t2 = clock()
            result = agencies[item.department](item)
            t3 = clock()
            reference = result.reference if isinstance(result, Completed) else None
            encode_outcome(Outcome.for_item(item, OutcomeStatus.COMPLETED, now(), reference=reference,
                                            attempts=1), names.outcomes)
            t4 = clock()
            if item.department in seen:
                hists["item_decode"].record_value(max(t1 - t0, 1))
                hists["outcomes"].record_value(max(t2 - t1 + t4 - t3, 1))
                hists["handler"].record_value(max(t3 - t2, 1))
            seen.add(item.department)
    finally:
        for agency in agencies.values():
            agency.close()
    return hists


def spec_for_publisher_of(record: WireRecord):
    headers = dict(record.headers)
    return spec_for_publisher(headers["oncehub.event_type"].decode(),
                              Department(headers["oncehub.source_department"].decode()))


# --------------------------------------------------------------------------- report


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "–" if value is None else format(value, fmt)


def throughput_table(summaries: Mapping[str, Mapping[str, Any]],
                     ratios: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [
        "| mode | events/s in | events/s, middle 80% | items/s out | longest pause ms "
        "| start-up to first output s | process CPU, % of a core | process CPU ms per event "
        "(fleet: per item) | broker CPU, % of a core | machine busy, % of all cores "
        "| events/s ÷ faust raw |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, s in summaries.items():
        ratio = ratios.get(mode, {}).get("ratio")
        vs = "(baseline)" if mode == "faust_raw" else _num(ratio, ".3f")
        if mode == "inbox_fleet":
            vs = "–"
        lines.append(
            f"| {LABELS[mode]} | {_num(s['events_per_s'])} | {_num(s['events_per_s_middle'])} "
            f"| {_num(s['items_per_s'])} | {_num(s['longest_pause_ms'])} | {_num(s['startup_s'], '.1f')} "
            f"| {_num(s['process_cpu_pct'])} | {_num(s['process_cpu_ms_per_unit'], '.2f')} "
            f"| {_num(s['broker_cpu_pct'])} | {_num(s['machine_busy_pct'])} "
            f"| {vs} |")
    return "\n".join(lines)


LATENCY_ROWS = {
    "item": "**item: due → COMPLETED outcome read**",
    "item_from_send": "item: send start → COMPLETED outcome read",
    "case": "case: due → last item's final outcome read",
    **{name: f"· {title}" for name, title in SEGMENTS.items()},
    "lag": "generator lag: due → send start",
}


def latency_table(ms: Mapping[str, Mapping[str, float]]) -> str:
    lines = ["| measured | count | p50 ms | p90 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
    for name, title in LATENCY_ROWS.items():
        s = ms[name]
        lines.append(f"| {title} | {s['count']:,} | {s['p50_ms']:,.1f} | {s['p90_ms']:,.1f} "
                     f"| {s['p99_ms']:,.1f} | {s['max_ms']:,.1f} |")
    return "\n".join(lines)


def stage_table(hists: Mapping[str, HdrHistogram]) -> str:
    lines = ["| stage (in-process, no broker) | p50 µs | p99 µs | mean µs |", "|---|---:|---:|---:|"]
    for name, title in (STAGES | INBOX_STAGES).items():
        if name not in hists:
            continue
        h = hists[name]
        lines.append(f"| {title} | {h.get_value_at_percentile(50) / 1000:,.1f} "
                     f"| {h.get_value_at_percentile(99) / 1000:,.1f} | {h.get_mean_value() / 1000:,.1f} |")
    return "\n".join(lines)


def render(results: Mapping[str, Any]) -> str:
    opts, env, parts = results["options"], results["environment"], []
    head = (f"load average (1 min) {env['load_average_at_start'][0]:.2f} at the start, "
            f"{env['load_average_1_5_15'][0]:.2f} at the end, on {env['cpus']} CPUs")
    if "throughput" in results:
        t = results["throughput"]
        parts += [
            f"**Throughput**: {opts['events']:,} pre-published events (mix of six, "
            f"{t['items_per_round']:,} inbox items) × {opts['rounds']} round(s); median over rounds, "
            f"longest pause: max; router ÷ faust raw paired per round "
            f"({', '.join(f'{x:.3f}' for x in t['ratios']['router']['per_round'])}); "
            f"{head}.",
            "",
            throughput_table(t["modes"], t["ratios"]),
            "",
        ]
        if t.get("inbox_fleet_statuses"):
            parts += [f"Inbox fleet (round 1 only): final outcomes {t['inbox_fleet_statuses']}.", ""]
        if t.get("router_vs_fanout", {}).get("ratio"):
            r = t["router_vs_fanout"]
            parts += [f"Router ÷ fan-out pass-through (same records written per event): "
                      f"{r['ratio']:.3f} (per round: {', '.join(f'{x:.3f}' for x in r['per_round'])}).", ""]
    if "latency" in results:
        lat = results["latency"]
        lag = lat["ms"]["lag"]
        parts += [
            f"**End-to-end latency**: {lat['events']} events open-loop at {lat['rate']:g}/s "
            f"(achieved {_num(lat['achieved_rate'], '.2f')}/s), {lat['items_expected']} items, "
            f"final outcomes {lat['statuses']}; generator lag p99 {lag['p99_ms']:.1f} ms, max "
            f"{lag['max_ms']:.1f} ms, {lat['sends_late_by_a_period']} send(s) later than one period; "
            f"load average before {lat['load_average_before'][0]:.2f}.",
            "",
            latency_table(lat["ms"]),
            "",
            "DELIVERED → COMPLETED by the number of items in the item's event (p50 / p90 ms): "
            + "; ".join(f"{k}: {v['p50_ms']:.1f} / {v['p90_ms']:.1f} (n={v['count']})"
                        for k, v in lat["handle_ms_by_items_in_event"].items()) + ".",
            "",
        ]
    if "_stage_hists" in results:
        parts += [stage_table(results["_stage_hists"]), ""]
    if results["problems"]:
        parts += ["**Problems:** " + "; ".join(results["problems"])]
    return "\n".join(parts).rstrip()


# --------------------------------------------------------------------------- driver


@dataclass
class Options:
    events: int
    rounds: int
    seed: int
    rate: float
    duration: float
    stage_events: int
    kafka_python: bool
    throughput: bool
    latency: bool
    keep: bool
    json_path: Path | None


def throughput_phase(options: Options, run_prefix: str, workdir: Path, jobs: Sequence[Job],
                     items: Sequence[int], progress: Progress, results: dict[str, Any]) -> None:
    runs: dict[str, list[ModeRun]] = {m: [] for m in MODES}
    problems: list[str] = []
    timeout_s = max(180.0, options.events / 20)
    for number in range(1, options.rounds + 1):
        task = progress.add_task(f"round {number} · publish", total=len(jobs))
        rnd = prepare_round(number, run_prefix, jobs, items,
                            lambda k, task=task: progress.advance(task, k))
        if number == 1 and options.stage_events:
            progress.update(task, description="router stages, in-process")
            results["_stage_hists"] = measure_router_stages(
                rnd.settings, rnd.records[: options.stage_events + 100], 100, workdir)
            results["_stage_hists"] |= measure_inbox_stages(
                rnd.settings, rnd.records, max(50, options.stage_events // 3), workdir)
        for mode in mode_order(number, options.kafka_python):
            progress.reset(task, total=len(jobs), description=f"round {number} · {mode}")
            run_ = run_mode(mode, rnd, workdir, lambda k, task=task: progress.advance(task, k), timeout_s)
            runs[mode].append(run_)
            problems += run_.problems
        progress.remove_task(task)
    runs = {m: rs for m, rs in runs.items() if rs}
    statuses: Counter = Counter()
    for r in runs.get("inbox_fleet", []):
        statuses.update(r.statuses)
    results["throughput"] = {
        "items_per_round": sum(items),
        "modes": {m: median_summary(rs) for m, rs in runs.items()},
        "ratios": {m: paired_ratio(rs, runs["faust_raw"]) for m, rs in runs.items() if m != "faust_raw"},
        "router_vs_fanout": paired_ratio(runs["router"], runs["faust_fanout"]),
        "inbox_fleet_statuses": dict(statuses),
        "rounds": {m: [{"round": r.round, **r.summary(), "events_in": r.events_in.as_dict(),
                        "items_out": r.items_out.as_dict() if r.items_out else None,
                        "statuses": r.statuses, "problems": r.problems} for r in rs]
                   for m, rs in runs.items()},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    results["problems"] += problems


def run(options: Options, console: Console) -> dict[str, Any]:
    run_prefix = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    rules = load_rules()
    rng = random.Random(options.seed)
    types = routed_types(rules)
    jobs = make_registration_jobs(options.events, rng, types)
    items = items_per_job(jobs, rules)
    lat_jobs = make_registration_jobs(max(1, round(options.rate * options.duration)), rng, types)
    lat_items = items_per_job(lat_jobs, rules)
    warm = make_registration_jobs(2 * len(types), rng, types)
    warm_items = sum(items_per_job(warm, rules))
    console.print(f"run [bold]{run_prefix}[/] (work files in {workdir}); seed {options.seed}")
    results: dict[str, Any] = {"problems": []}
    try:
        with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, refresh_per_second=4) as progress:
            if options.throughput:
                throughput_phase(options, run_prefix, workdir, jobs, items, progress, results)
            if options.latency:
                lat = latency_phase(run_prefix, workdir, lat_jobs, lat_items, warm, warm_items,
                                    options.rate, progress)
                results["latency"] = latency_summary(lat)
                results["problems"] += lat["problems"]
    finally:
        faust_dir = Path(HubSettings().state_dir) / "faust"  # the router's table files
        router_dirs = [faust_dir / f"{run_prefix}-{p}" for p in
                       [*(f"r{n}" for n in range(1, options.rounds + 1)), "lat"]]
        if options.keep:
            console.print(f"kept topics, subjects and groups {run_prefix}-…; work files in {workdir}")
        else:
            cleanup(run_prefix, console, [workdir, *router_dirs])
    stage_hists = results.pop("_stage_hists", None)
    env = environment(HubSettings())
    env["packages"] |= {d: _version(d) for d in ("faust-streaming", "aiokafka", "hdrhistogram")}
    out = {
        "finished": datetime.now(timezone.utc).isoformat(),
        "run_prefix": run_prefix,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "environment": {"load_average_at_start": load_at_start, **env},
        **results,
    }
    if stage_hists:
        out["stages_us"] = {
            name: {"p50": h.get_value_at_percentile(50) / 1000, "p99": h.get_value_at_percentile(99) / 1000,
                   "mean": h.get_mean_value() / 1000}
            for name, h in stage_hists.items()}
        out["_stage_hists"] = stage_hists
    return out


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.route_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000,
                        help="events pre-published per throughput round (default 5000)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="throughput rounds, each on a fresh prefix (default 2)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the synthetic submissions")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="open-loop events/s for latency (default 20)")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds of open-loop publishing (default 30)")
    parser.add_argument("--stage-events", type=int, default=1000,
                        help="events in the in-process router breakdown, 0 to skip (default 1000)")
    parser.add_argument("--no-kafka-python", dest="kafka_python", action="store_false",
                        help="skip the kafka-python pass-through reference row")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false", help="skip throughput")
    parser.add_argument("--no-latency", dest="latency", action="store_false", help="skip latency")
    parser.add_argument("--keep", action="store_true",
                        help="keep this run's topics, subjects, groups and work files")
    parser.add_argument("--json", dest="json_path", type=Path, default=None,
                        help="where to write JSON results (default bench/results/route-<time>.json)")
    parser.add_argument("--no-json", action="store_true", help="write no JSON results")
    args = parser.parse_args(argv)
    if args.events < 2 or args.rounds < 1 or args.rate <= 0 or args.duration <= 0 or args.stage_events < 0:
        parser.error("--events ≥ 2, --rounds ≥ 1, --rate and --duration > 0, --stage-events ≥ 0")
    if args.stage_events > args.events - 100:
        args.stage_events = max(0, args.events - 100)
    json_path = None if args.no_json else (
        args.json_path or RESULTS_DIR / f"route-{datetime.now():%Y%m%d-%H%M%S}.json")
    return Options(args.events, args.rounds, args.seed, args.rate, args.duration, args.stage_events,
                   args.kafka_python, args.throughput, args.latency, args.keep, json_path)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [CHILD]:
        return serve_child(argv[1:])
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # metadata retries; outcomes are checked
    console = Console(stderr=True)
    results = run(options, console)
    print(render(results))
    if options.json_path:
        write_json(results, options.json_path)
        console.print(f"results: {options.json_path}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
