"""The timed modes, on one cluster at a time, and the rounds that pair the two clusters.

Each mode returns a summary (a flat dict of figures) for one cluster in one round. Within a
round every mode runs on both clusters back to back, in the order :func:`side_order` gives, so
the two figures of a ratio are measured seconds apart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaProducer, TopicPartition
from rich.progress import Progress

from bench.harness.histograms import new_histogram, quantiles, record_us
from bench.harness.progress import Advance, advancer
from bench.harness.stack import FETCH_BYTES
from bench.publish.live import raw_sender, sdk_sender, timed_loop
from bench.route.measures import process_ticks
from bench.security.inputs import (
    WARM_CONNECTIONS,
    backlog_topic,
    record_bytes,
    warmup_topic,
)
from bench.security.report import MODES, side_order
from bench.workload import Job, WireRecord, send_pipelined
from hub.config import HubSettings
from hub.devstack.procs import read_pid
from hub.kafka.clients import Clients
from producers.pool import PublisherPool

ns = time.perf_counter_ns
Summary = dict[str, float | None]
Runs = dict[str, dict[str, list[Summary]]]  # mode -> cluster -> one summary per round


def broker_pid(settings: HubSettings) -> int | None:
    """The broker ``hub dev up`` started for these settings (its pid file), to read its CPU."""
    return read_pid(Path(settings.state_dir) / "run" / "kafka.pid")


def tick_hz() -> float:
    import os

    return float(os.sysconf("SC_CLK_TCK"))


@dataclass
class Side:
    """One cluster as the benchmark uses it: its clients, one long-lived producer, an SDK pool."""

    name: str
    settings: HubSettings
    clients: Clients
    producer: KafkaProducer
    pool: PublisherPool | None
    pool_clients: Clients | None
    broker: int | None
    timeout_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.timeout_s = self.settings.publish_timeout_s + 1  # what Publisher._produce waits

    @classmethod
    def open(cls, name: str, settings: HubSettings, sdk: bool) -> Side:
        clients = Clients(settings)
        pool_clients = Clients(settings) if sdk else None  # its own shared producer
        return cls(name, settings, clients, clients.producer(),
                   PublisherPool(pool_clients) if pool_clients else None, pool_clients,
                   broker_pid(settings))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self.pool_clients is not None:
            self.pool_clients.close()
        self.clients.close()


class Cpu:
    """This process's CPU time and the side's broker's, between ``start()`` and ``per(n)``."""

    def __init__(self, side: Side):
        self.side = side
        self.hz = tick_hz()
        self.process0 = time.process_time()
        self.broker0 = process_ticks(side.broker)

    def per(self, n: int, unit: str = "us") -> Summary:
        """CPU per item in µs (``unit="us"``) or ms: ``client_cpu_<unit>``, ``broker_cpu_<unit>``
        (None when the broker's pid is not known: a stack ``hub dev`` did not start)."""
        scale = {"us": 1e6, "ms": 1e3}[unit]
        client = (time.process_time() - self.process0) / max(n, 1) * scale
        broker_now = process_ticks(self.side.broker)
        broker = (None if broker_now is None or self.broker0 is None
                  else (broker_now - self.broker0) / self.hz / max(n, 1) * scale)
        return {f"client_cpu_{unit}": client, f"broker_cpu_{unit}": broker}


def latency_summary(count: int, elapsed_s: float, hist) -> Summary:
    return {
        "count": count, "elapsed_s": elapsed_s, "per_s": count / elapsed_s,
        **quantiles(hist, {"p50_us": 50, "p99_us": 99, "p999_us": 99.9}),
        "max_us": hist.get_max_value(), "mean_us": hist.get_mean_value(),
    }


# -- the modes ------------------------------------------------------------------------------------


def sync_mode(side: Side, records: Sequence[WireRecord], progressed: Advance) -> Summary:
    cpu = Cpu(side)
    elapsed, hist = timed_loop(records, raw_sender(side.producer, side.timeout_s), progressed)
    return latency_summary(len(records), elapsed, hist) | cpu.per(len(records))


def sdk_mode(side: Side, jobs: Sequence[Job], progressed: Advance) -> Summary:
    assert side.pool is not None
    cpu = Cpu(side)
    elapsed, hist = timed_loop(jobs, sdk_sender(side.pool), progressed)
    return latency_summary(len(jobs), elapsed, hist) | cpu.per(len(jobs))


def pipelined_mode(side: Side, records: Sequence[WireRecord], progressed: Advance) -> Summary:
    cpu = Cpu(side)
    elapsed, _ = send_pipelined(side.producer, records, side.timeout_s, progressed)
    volume = sum(record_bytes(r) for r in records)
    return {"count": len(records), "elapsed_s": elapsed, "per_s": len(records) / elapsed,
            "mb_per_s": volume / elapsed / 1e6} | cpu.per(len(records))


def read_mode(side: Side, partitions: int, expected: int, progressed: Advance) -> Summary:
    """A new consumer reads the backlog from the beginning to its end; connected (bootstrap and
    the leader's connection, by the end-offsets request) before the clock starts."""
    topic = backlog_topic(side.settings.topic_prefix)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    with side.clients.reading(group_id=None, max_partition_fetch_bytes=FETCH_BYTES) as consumer:
        consumer.assign(tps)
        end = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        cpu = Cpu(side)
        count = volume = 0
        started = ns()
        while any(consumer.position(tp) < off for tp, off in end.items()):
            for batch in consumer.poll(timeout_ms=500).values():
                count += len(batch)
                volume += sum(len(m.key or b"") + len(m.value or b"")
                              + sum(len(k) + len(v) for k, v in m.headers) for m in batch)
                progressed(len(batch))
        elapsed = (ns() - started) / 1e9
    if count != expected:
        raise RuntimeError(f"{side.name}: read {count} backlog records, expected {expected}")
    return {"count": count, "elapsed_s": elapsed, "per_s": count / elapsed,
            "mb_per_s": volume / elapsed / 1e6} | cpu.per(count)


CONNECT_PHASES = ("bootstrap", "metadata", "first_send", "total", "close")


def connect_once(side: Side, record: WireRecord) -> dict[str, int]:
    """A new producer to its first acknowledged send, then closed: ns per phase."""
    t0 = ns()
    producer = side.clients.producer(client_id="oncehub-bench-connect")  # bootstraps eagerly
    t1 = ns()
    try:
        producer.partitions_for(record.topic)
        t2 = ns()
        producer.send(record.topic, key=record.key, value=record.value,
                      headers=list(record.headers)).get(timeout=side.timeout_s)
        t3 = ns()
    finally:
        producer.close(timeout=5)
    t4 = ns()
    return {"bootstrap": t1 - t0, "metadata": t2 - t1, "first_send": t3 - t2, "total": t3 - t0,
            "close": t4 - t3}


def connect_mode(side: Side, record: WireRecord, count: int, progressed: Advance) -> Summary:
    hists = {phase: new_histogram() for phase in CONNECT_PHASES}
    cpu = Cpu(side)
    for _ in range(count):
        for phase, took in connect_once(side, record).items():
            record_us(hists[phase], took)
        progressed(1)
    out: Summary = {"count": count}
    for phase in CONNECT_PHASES:
        out[f"{phase}_ms"] = hists[phase].get_value_at_percentile(50) / 1000
    total = hists["total"]
    out |= {"total_p99_ms": total.get_value_at_percentile(99) / 1000,
            "total_max_ms": total.get_max_value() / 1000, "total_mean_ms": total.get_mean_value() / 1000}
    return out | cpu.per(count, "ms")


# -- the rounds -----------------------------------------------------------------------------------


@dataclass
class Workload:
    """What each mode sends or reads, the same on both clusters."""

    warm_jobs: list[Job]
    jobs: list[Job]
    warm_records: list[WireRecord]
    records: list[WireRecord]
    pipelined: list[WireRecord]
    backlog: list[WireRecord]
    partitions: int
    connections: int
    modes: tuple[str, ...]

    def size(self, mode: str) -> int:
        return {"sync": len(self.records), "sdk": len(self.jobs), "pipelined": len(self.pipelined),
                "read": len(self.backlog), "connect": self.connections}[mode]

    def warm_size(self, mode: str) -> int:
        return {"sync": len(self.warm_records), "sdk": len(self.warm_jobs), "connect": WARM_CONNECTIONS
                }.get(mode, self.size(mode))


def run_mode(mode: str, side: Side, work: Workload, progressed: Advance, warm: bool = False
             ) -> Summary:
    if mode == "sync":
        return sync_mode(side, work.warm_records if warm else work.records, progressed)
    if mode == "sdk":
        return sdk_mode(side, work.warm_jobs if warm else work.jobs, progressed)
    if mode == "pipelined":
        return pipelined_mode(side, work.pipelined, progressed)
    if mode == "read":
        return read_mode(side, work.partitions, len(work.backlog), progressed)
    if mode == "connect":
        return connect_mode(side, work.records[0], WARM_CONNECTIONS if warm else work.connections,
                            progressed)
    raise ValueError(mode)


def write_backlog(sides: Sequence[Side], work: Workload, progress: Progress) -> None:
    """The read mode's backlog, on each cluster, before anything is timed."""
    for side in sides:
        topic = backlog_topic(side.settings.topic_prefix)
        records = [WireRecord(topic, r.key, r.value, r.headers) for r in work.backlog]
        task = progress.add_task(f"backlog · {side.name}", total=len(records))
        send_pipelined(side.producer, records, side.timeout_s, advancer(progress, task))


def jvm_warmup(side: Side, work: Workload, seconds: float, progress: Progress) -> dict[str, Any]:
    """Load ``side`` for ``seconds`` with every mode's traffic, on a topic of its own: a broker
    JVM started minutes ago runs the same requests at several times the CPU of one that has been
    running for hours, until its JIT has compiled the hot paths (30–45 s of this load here). Returns, per repetition, the sync rate and the broker's CPU per sync record."""
    topic = warmup_topic(side.settings.topic_prefix)
    sync = [WireRecord(topic, r.key, r.value, r.headers) for r in work.records]
    pipelined = [WireRecord(topic, r.key, r.value, r.headers) for r in work.pipelined]
    task = progress.add_task(f"JVM warm-up · {side.name} (s)", total=seconds)
    reps: list[dict[str, float | None]] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        cpu = Cpu(side)
        elapsed, _ = timed_loop(sync, raw_sender(side.producer, side.timeout_s), lambda n: None)
        reps.append({"at_s": round(time.monotonic() - started, 2), "sync_per_s": len(sync) / elapsed,
                     "broker_cpu_us": cpu.per(len(sync))["broker_cpu_us"]})
        send_pipelined(side.producer, pipelined, side.timeout_s, lambda n: None)
        read_mode(side, work.partitions, len(work.backlog), lambda n: None)
        for _ in range(WARM_CONNECTIONS):
            connect_once(side, sync[0])
        progress.update(task, completed=min(time.monotonic() - started, seconds))
    return {"seconds": round(time.monotonic() - started, 2), "reps": reps}


def run_rounds(sides: dict[str, Side], work: Workload, rounds: int, progress: Progress
               ) -> Runs:
    """Warm every mode up on both clusters, then the rounds: ``runs[mode][side]`` per round."""
    modes = [m for m in MODES if m in work.modes]
    total = sum(len(sides) * (work.warm_size(m) + rounds * work.size(m)) for m in modes)
    overall = progress.add_task("all", total=total)
    phase = progress.add_task("", total=1)

    def bar(label: str, size: int) -> Advance:
        progress.reset(phase, total=size, description=label)
        return advancer(progress, phase, overall)

    for mode in modes:
        for name, side in sides.items():
            run_mode(mode, side, work, bar(f"warm-up · {mode} · {name}", work.warm_size(mode)),
                     warm=True)
    runs: Runs = {m: {name: [] for name in sides} for m in modes}
    for rnd in range(1, rounds + 1):
        for mode in modes:
            for name in side_order(rnd, list(sides)):
                summary = run_mode(mode, sides[name], work,
                                   bar(f"round {rnd} · {mode} · {name}", work.size(mode)))
                runs[mode][name].append(summary)
    return runs


def pbkdf2_ms(iterations: int, repeats: int = 5) -> float:
    """Median ms of one SCRAM-SHA-512 salted-password computation in this process: what the
    client does once per authenticated connection (kafka-python, ``hashlib.pbkdf2_hmac``)."""
    import hashlib
    import statistics

    took = []
    for i in range(repeats):
        t0 = ns()
        hashlib.pbkdf2_hmac("sha512", b"p" * 32, b"salt-%d" % i, iterations)
        took.append((ns() - t0) / 1e6)
    return statistics.median(took)

