"""The memory benchmark's options and run: provision, feed and sample, restart, check, clean up."""

from __future__ import annotations

import random
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.rss
from bench.harness import cli
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix
from bench.rss.feed import Feeder, Template
from bench.rss.report import render
from bench.rss.run import (
    STOP_FEEDING,
    RunState,
    Stalled,
    checks,
    cpu_pct,
    feed_until,
    restart,
    stop_quietly,
)
from bench.rss.sampling import Sample, curve_rows, dir_size_mb, rate_between, summarise
from bench.rss.watch import RouterWatch
from bench.workload import capture_records, make_jobs_of, routed_types
from hub.config import HubSettings
from hub.errors import HubError
from hub.kafka.clients import Clients
from hub.rules import load_rules
from hub.schema_registry.provisioning import provision_catalogue

# `--short` (make bench-all): a smoke run of a minute or two — the worker started, fed, restarted
# early and at the end, checked; its RSS is read, but 1,500 events say nothing about growth.
SHORT = {"events": 1500, "pool": 300, "backlog": 1000, "sample_s": 1.0}
SHARED_NOTE = ("measured on a shared 2-core machine: other engineers' test runs competed for the "
               "CPU, so events/s and restart times are pessimistic; RSS is the worker's own")


@dataclass
class Options:
    events: int
    pool: int
    partitions: int
    backlog: int
    sample_s: float
    restart_at: float
    cold_restart: bool
    limit_mb: float
    deadline_check_s: float
    max_minutes: float
    step: int
    seed: int
    keep: bool
    json_path: Path | None
    short: bool = False


def restart_points(events: int, restart_at: float) -> list[int]:
    """Where the early restart happens (events routed), if any: ``restart_at`` of the run."""
    point = int(events * restart_at)
    return [point] if 0 < point < events else []


def run(options: Options, console: Console) -> dict[str, Any]:
    run_prefix, load_at_start = fresh_prefix(), load_average()
    settings = HubSettings(topic_prefix=f"{run_prefix}-rss", topic_partitions=options.partitions,
                           **({"deadline_check_s": options.deadline_check_s} if options.deadline_check_s else {}))
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    state_dirs = [Path(settings.state_dir) / sub / settings.topic_prefix for sub in ("faust", "projections")]
    console.print(f"run [bold]{run_prefix}[/] · {options.events:,} events on {options.partitions} "
                  f"partitions · worker logs in {workdir / 'logs'}")
    results: dict[str, Any] = {"problems": [], "note": SHARED_NOTE}
    clients = Clients(settings)
    state: RunState | None = None
    keep_files = options.keep
    try:
        provision_catalogue(clients)
        jobs = make_jobs_of(options.pool, random.Random(options.seed), routed_types(load_rules()))
        templates = [Template.of(r) for r in capture_records(settings, jobs)]
        state = RunState(clients, RouterWatch(clients), Feeder(clients, templates, options.seed),
                         workdir / "logs", state_dirs[0] / "router-0")
        state.samples_file = samples_path(options.json_path, run_prefix)
        if state.samples_file:
            state.samples_file.parent.mkdir(parents=True, exist_ok=True)
            state.samples_file.write_text("")  # this run's samples only, not an earlier run's too
            console.print(f"samples as they are taken: {state.samples_file}")
        results |= measure(options, state, console)
    except (HubError, Stalled, RuntimeError) as exc:
        results["problems"].append(f"{type(exc).__name__}: {exc}")
        keep_files = True
    finally:
        if state is not None:
            stop_quietly(state, console)
            results["projection_mb"] = _rounded(dir_size_mb(state_dirs[1]))
            state.feeder.close()
            state.watch.close()
            if state.samples:
                results["samples"] = [s.as_dict() for s in state.samples]
        if options.keep:
            console.print(f"kept topics, subjects and groups {run_prefix}-…; work files in {workdir}")
        else:
            cleanup(clients, [f"{run_prefix}-"], console, state_dirs + ([] if keep_files else [workdir]))
            if keep_files:
                console.print(f"[yellow]worker logs kept in {workdir / 'logs'}")
        clients.close()
    return {**run_header("run_prefix", run_prefix, options, settings, load_at_start,
                         packages=("faust-streaming", "aiokafka", "rocksdict")), **results}


def measure(options: Options, state: RunState, console: Console) -> dict[str, Any]:
    restarts: list[dict[str, Any]] = []
    printed: list[Sample] = []

    def on_sample(s: Sample) -> None:
        if not printed or s.routed // options.step > printed[-1].routed // options.step:
            rate = rate_between(printed[-1], s) if printed else None
            console.print(f"{s.routed:>9,} routed  RSS {s.rss_mb:6.1f} MB  tables {s.disk_mb or 0:6.1f} MB"
                          f"  {'–' if rate is None else f'{rate:,.0f}'} ev/s  worker {s.worker}")
            printed.append(s)

    started = time.monotonic()
    if options.max_minutes:
        state.stop_feeding_at = started + 60 * options.max_minutes
    with progress_bars(console, width=20) as progress:
        task = progress.add_task("routed", total=options.events)
        state.start_worker()
        for point in restart_points(options.events, options.restart_at):
            if state.out_of_time:
                break
            feed_until(state, point, options.backlog, options.sample_s, progress, task, on_sample)
            progress.update(task, description="restart (early)")
            restarts.append(restart(state, "early", 600))
            progress.update(task, description="routed")
        # Markers are extra events: the bulk still reaches ``events``.
        target = options.events + len(restarts)
        feed_until(state, target, options.backlog, options.sample_s, progress, task, on_sample)
        routing_s = time.monotonic() - started
        progress.update(task, description="restart (final)")
        restarts.append(restart(state, "final", 600))
        if options.cold_restart:
            progress.update(task, description="restart (cold)")
            restarts.append(restart(state, "cold, from the changelog", 1800, cold=True))
        state.sample()
    check, problems = checks(state)
    fed = state.feeder.published - len(restarts)
    if fed < options.events:
        problems.append(f"partial run: {fed:,} of {options.events:,} events fed within the "
                        f"{options.max_minutes:g}-minute budget")
    problems += [f"restart {r['label']}: {r['problem']}" for r in restarts if "problem" in r]
    summary = summarise(state.samples, options.limit_mb)
    if not summary.get("within_limit", False):
        problems.append(f"max RSS {summary.get('max_rss_mb')} MB over the {options.limit_mb:g} MB limit")
    return {"summary": summary | {"events_fed": fed,"routing_wall_s": round(routing_s, 1),
                                  "events_per_s": round(state.routed / routing_s, 1),
                                  "worker_cpu_pct": cpu_pct(state.samples),
                                  "load_average_end": load_average()},
            "curve": curve_rows(state.samples, options.step), "restarts": restarts,
            "checks": check, "problems": problems}


def samples_path(json_path: Path | None, run_prefix: str) -> Path | None:
    """Beside the results file: the samples, one JSON line each, written while the run goes."""
    return None if json_path is None else json_path.with_name(f"{json_path.stem}-samples.jsonl")


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("rss", bench.rss.__doc__)
    cli.option(parser, "--events", 1_000_000, "registration events fed to the router, each a new id")
    cli.option(parser, "--pool", 2000, "distinct submissions sealed by the SDK and reused with new ids")
    cli.option(parser, "--partitions", 6, "partitions of the run's topics")
    cli.option(parser, "--backlog", 20_000, "events published ahead of the router at most")
    cli.option(parser, "--sample-s", 5.0, "seconds between RSS samples")
    cli.option(parser, "--restart-at", 0.1, "share of the events after which a first restart is timed, 0 for none")
    parser.add_argument("--cold-restart", action="store_true",
                        help="also time a restart without the table files (rebuilt from the changelog)")
    cli.option(parser, "--limit-mb", 300.0, "RSS the worker must stay within")
    cli.option(parser, "--deadline-check-s", 0.0, "the router's deadline-check interval (0: the "
               "settings' own; a year keeps the check out of the run, to see the routing alone)")
    cli.option(parser, "--max-minutes", 0.0, "stop feeding after this long (0: no limit) and "
               "finish the run with the events fed so far: a partial run, reported as one")
    cli.option(parser, "--step", 0, "events between the report's curve rows (default: 100,000, or a tenth of a short run)")
    cli.add_seed(parser, 20240601)
    cli.add_keep(parser, "topics, subjects, groups and work files")
    cli.add_json(parser, "rss")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 10 or args.pool < 1 or args.partitions < 1 or args.backlog < 2 \
            or args.sample_s <= 0 or not 0 <= args.restart_at < 1 or args.step < 0 \
            or args.deadline_check_s < 0 or args.max_minutes < 0:
        parser.error("--events ≥ 10, --pool, --partitions ≥ 1, --backlog ≥ 2, --sample-s > 0, "
                     "0 ≤ --restart-at < 1, --step ≥ 0")
    step = args.step or default_step(args.events)
    return Options(args.events, args.pool, args.partitions, args.backlog, args.sample_s,
                   args.restart_at, args.cold_restart, args.limit_mb, args.deadline_check_s, args.max_minutes, step,
                   args.seed, args.keep,
                   cli.json_path(args, "rss"), args.short)


def default_step(events: int) -> int:
    """100,000 events between curve rows, or a tenth of a shorter run."""
    return 100_000 if events >= 500_000 else max(1, events // 10)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    # `kill -USR1 <pid>`: stop feeding and finish (restarts, checks, report, cleanup) with what was fed.
    signal.signal(signal.SIGUSR1, lambda *_: STOP_FEEDING.set())
    return cli.run_main(options, run, render, options.json_path)
