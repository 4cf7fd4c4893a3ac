"""The throughput phase: per round, a fresh backlog, then each mode in its own process over it.

A mode is started, the offsets of its outputs are watched until its output is complete, and it
is stopped; :mod:`bench.route.checks` then reads the output back for the rates.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.progress import Progress

from bench.harness.progress import Advance
from bench.harness.results import load_average
from bench.route.checks import check_fleet, check_passthrough, check_router
from bench.route.children import BenchChild
from bench.route.measures import SNAP_S, CpuTrace, broker_pid, cpu_shares, ns, window_samples
from bench.route.modes import MODES, SINKS, ModeRun, Round, median_summary, mode_order, paired_ratio
from bench.route.stages import measure_inbox_stages, measure_router_stages
from bench.workload import Job, capture_records, publish_backlog
from hub.config import HubSettings
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.log_reader import partitions_of
from hub.schema_registry.provisioning import provision_catalogue
from hub.worker.process import WorkerProcess


class OffsetWatch:
    """Records written so far on some topics (summed per topic), from the end offsets."""

    def __init__(self, clients: Clients, topics: Sequence[str]):
        self._consumer = clients.consumer()
        self._tps = partitions_of(self._consumer, list(topics))

    def counts(self) -> Counter:
        out: Counter = Counter()
        for tp, offset in self._consumer.end_offsets(self._tps).items():
            out[tp.topic] += offset
        return out

    def close(self) -> None:
        self._consumer.close()


def prepare_round(number: int, run_prefix: str, jobs: Sequence[Job], items: Sequence[int],
                  advance: Advance) -> Round:
    """Fresh prefix: provision, capture the SDK's bytes, publish them pipelined."""
    clients = Clients(HubSettings(topic_prefix=f"{run_prefix}-r{number}"))
    provision_catalogue(clients)
    prefix = clients.settings.topic_prefix
    ensure_topics(clients, [f"{prefix}.{s}" for s in SINKS.values()])
    records = capture_records(clients.settings, jobs)
    publish_backlog(clients, records, advance)
    return Round(number, clients, records, list(items))


def start_mode(mode: str, rnd: Round, workdir: Path, logs: Path
               ) -> tuple[WorkerProcess, list[str], list[str], dict[str, int]]:
    """``mode``'s process, the topics whose records count it done, its item topics, and how
    many records on each mean complete."""
    settings, names, n = rnd.settings, rnd.names, len(rnd.records)
    want = {"done": n, "items": 0}
    run_dir = workdir / "run"
    if mode == "router":
        return (WorkerProcess(settings, log_file=logs), [names.routing_log, names.dead_letters],
                names.all_inboxes(), want | {"items": rnd.expected_items})
    if mode == "inbox_fleet":
        # Drains the items the router just wrote: a DELIVERED and a final outcome per item.
        child = BenchChild(settings, "fleet", str(workdir / f"agencies-r{rnd.number}"), log_file=logs,
                           cwd=run_dir)
        return child, names.all_outcomes(), [], want | {"done": 2 * rnd.expected_items}
    if mode in ("kafka_python_raw", "quix_raw"):
        role = "quix" if mode == "quix_raw" else "kafka-python"
        child = BenchChild(settings, role, rnd.sink(mode), log_file=logs, cwd=run_dir)
        return child, [rnd.sink(mode)], [], want
    extra = []
    if mode == "faust_fanout":
        plan = workdir / f"fanout-r{rnd.number}.json"
        plan.write_text(json.dumps({r.event_id: k for r, k in zip(rnd.records, rnd.items)}))
        extra, want["done"] = [str(plan)], n + rnd.expected_items
    child = BenchChild(settings, "faust", rnd.sink(mode), *extra, log_file=logs, cwd=run_dir)
    return child, [rnd.sink(mode)], [], want


def run_mode(mode: str, rnd: Round, workdir: Path, advance: Advance, timeout_s: float) -> ModeRun:
    """Start ``mode``'s process on the round's backlog, wait until its output is complete, stop it.

    CPU is read every ``TRACE_S`` while it runs and taken between the samples nearest to its first
    and its last output record, so it covers the same steady window as the rate.
    """
    n = len(rnd.records)
    logs = workdir / "logs" / f"{mode}-r{rnd.number}.log"
    child, counted, items, want = start_mode(mode, rnd, workdir, logs)
    watch = OffsetWatch(rnd.clients, counted + items)
    broker = broker_pid()
    problems: list[str] = []
    started_ms = ns() // 1_000_000
    child.start()
    pid = child._proc.pid if child._proc else None  # noqa: SLF001 - WorkerProcess keeps it private
    trace = CpuTrace(pid, broker).start()
    done = 0
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            counts = watch.counts()
            out = sum(counts[t] for t in counted)
            now_done = min(n, out * n // want["done"])
            advance(now_done - done)
            done = now_done
            if out >= want["done"] and sum(counts[t] for t in items) >= want["items"]:
                break
            if not child.running:
                problems.append(f"{mode} exited early (see {logs})")
                break
            if time.monotonic() > deadline:
                problems.append(f"{mode}: {out} of {want['done']} records out after {timeout_s:.0f}s")
                break
            time.sleep(SNAP_S)
    finally:
        trace.stop()
        child.stop()
        watch.close()
    if mode == "router":
        run_ = check_router(rnd, started_ms, problems)
    elif mode == "inbox_fleet":
        run_ = check_fleet(rnd, started_ms, problems)
    else:
        run_ = check_passthrough(mode, rnd, started_ms, problems)
    window = window_samples(trace.samples, *run_.output_window_ms())
    run_.cpu = cpu_shares(*window, os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1) if window else {}
    return run_


def throughput_phase(options: Any, run_prefix: str, workdir: Path, jobs: Sequence[Job],
                     items: Sequence[int], progress: Progress, results: dict[str, Any]) -> None:
    """Every round: a fresh backlog, the in-process stages (round 1), then each mode over it."""
    runs: dict[str, list[ModeRun]] = {m: [] for m in MODES}
    problems: list[str] = []
    timeout_s = max(180.0, options.events / 20)
    for number in range(1, options.rounds + 1):
        task = progress.add_task(f"round {number} · publish", total=len(jobs))
        rnd = prepare_round(number, run_prefix, jobs, items,
                            lambda k, task=task: progress.advance(task, k))
        try:
            if number == 1 and options.stage_events:
                progress.update(task, description="router stages, in-process")
                results["_stage_hists"] = measure_router_stages(
                    rnd.clients, rnd.records[: options.stage_events + 100], 100, workdir)
                results["_stage_hists"] |= measure_inbox_stages(
                    rnd.clients, rnd.records, max(50, options.stage_events // 3), workdir)
            for mode in mode_order(number, options.kafka_python, options.quix):
                progress.reset(task, total=len(jobs), description=f"round {number} · {mode}")
                run_ = run_mode(mode, rnd, workdir, lambda k, task=task: progress.advance(task, k),
                                timeout_s)
                runs[mode].append(run_)
                problems += run_.problems
        finally:
            rnd.clients.close()
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
        "rounds": {m: [r.as_dict() for r in rs] for m, rs in runs.items()},
        "load_average_after": load_average(),
    }
    results["problems"] += problems
