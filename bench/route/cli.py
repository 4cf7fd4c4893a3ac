"""The routing benchmark's options and run: the jobs, the two phases, cleanup, the results."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.route
from bench.harness import cli
from bench.harness.histograms import stage_summary
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix
from bench.route.latency import latency_phase, latency_rate, latency_summary
from bench.route.report import render
from bench.route.throughput import throughput_phase
from bench.route.workload import items_per_job
from bench.workload import make_jobs_of, routed_types
from hub.config import HubSettings
from hub.kafka.clients import Clients
from hub.rules import load_rules


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
    quix: bool = True
    rate_fraction: float | None = None  # latency at this × the router's max measured in the run


def router_max(results: dict[str, Any]) -> tuple[float | None, int]:
    """The router's events/s in this run's throughput part (median over rounds), and the rounds."""
    rounds = results.get("throughput", {}).get("rounds", {}).get("router", [])
    per_s = results.get("throughput", {}).get("modes", {}).get("router", {}).get("events_per_s")
    return per_s, len(rounds)


def run(options: Options, console: Console) -> dict[str, Any]:
    run_prefix, load_at_start = fresh_prefix(), load_average()
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    rules = load_rules()
    rng = random.Random(options.seed)
    types = routed_types(rules)
    jobs = make_jobs_of(options.events, rng, types)
    items = items_per_job(jobs, rules)
    console.print(f"run [bold]{run_prefix}[/] (work files in {workdir}); seed {options.seed}")
    results: dict[str, Any] = {"problems": []}
    try:
        with progress_bars(console, width=34) as progress:
            if options.throughput:
                throughput_phase(options, run_prefix, workdir, jobs, items, progress, results)
            if options.latency:
                maximum, max_rounds = router_max(results)
                rate, source = latency_rate(options.rate, options.rate_fraction, maximum)
                # Drawn after the throughput part, in the order they always were: same seed, same jobs.
                lat_jobs = make_jobs_of(max(1, round(rate * options.duration)), rng, types)
                lat_items = items_per_job(lat_jobs, rules)
                warm = make_jobs_of(2 * len(types), rng, types)
                warm_items = sum(items_per_job(warm, rules))
                lat = latency_phase(run_prefix, workdir, lat_jobs, lat_items, warm, warm_items,
                                    rate, progress)
                results["latency"] = {**latency_summary(lat), "rate_source": source,
                                      "rate_asked": options.rate, "rate_fraction": options.rate_fraction,
                                      "router_max_per_s": maximum, "router_max_rounds": max_rounds}
                results["problems"] += lat["problems"]
    finally:
        faust_dir = Path(HubSettings().state_dir) / "faust"  # the router's table files
        router_dirs = [faust_dir / f"{run_prefix}-{p}" for p in
                       [*(f"r{n}" for n in range(1, options.rounds + 1)), "lat"]]
        if options.keep:
            console.print(f"kept topics, subjects and groups {run_prefix}-…; work files in {workdir}")
        else:
            with Clients(HubSettings()) as clients:
                cleanup(clients, [f"{run_prefix}-"], console, [workdir, *router_dirs])
    stage_hists = results.pop("_stage_hists", None)
    out = {**run_header("run_prefix", run_prefix, options, HubSettings(), load_at_start,
                        packages=("faust-streaming", "aiokafka", "quixstreams", "hdrhistogram")),
           **results}
    if stage_hists:
        out["stages_us"] = stage_summary(stage_hists)
        out["_stage_hists"] = stage_hists
    return out


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("route", bench.route.__doc__)
    cli.option(parser, "--events", 5000, "events pre-published per throughput round")
    cli.option(parser, "--rounds", 2, "throughput rounds, each on a fresh prefix")
    cli.add_seed(parser, 20240601)
    cli.option(parser, "--rate", 20.0, "open-loop events/s for latency")
    parser.add_argument("--rate-fraction", type=float, default=None, metavar="F",
                        help="latency at F × the router's events/s measured by this run's throughput "
                             "part (rounded), instead of --rate (e.g. 0.5)")
    cli.option(parser, "--duration", 30.0, "seconds of open-loop publishing")
    cli.option(parser, "--stage-events", 1000, "events in the in-process router breakdown, 0 to skip")
    parser.add_argument("--no-kafka-python", dest="kafka_python", action="store_false",
                        help="skip the kafka-python pass-through reference row")
    parser.add_argument("--no-quix", dest="quix", action="store_false",
                        help="skip the Quix Streams pass-through reference row")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false", help="skip throughput")
    parser.add_argument("--no-latency", dest="latency", action="store_false", help="skip latency")
    cli.add_keep(parser, "topics, subjects, groups and work files")
    cli.add_json(parser, "route")
    args = parser.parse_args(argv)
    if args.events < 2 or args.rounds < 1 or args.rate <= 0 or args.duration <= 0 or args.stage_events < 0:
        parser.error("--events ≥ 2, --rounds ≥ 1, --rate and --duration > 0, --stage-events ≥ 0")
    if args.rate_fraction is not None and args.rate_fraction <= 0:
        parser.error("--rate-fraction > 0")
    if args.rate_fraction is not None and not args.throughput:
        parser.error("--rate-fraction needs the throughput part (it measures the router's maximum)")
    if args.stage_events > args.events - 100:
        args.stage_events = max(0, args.events - 100)
    return Options(args.events, args.rounds, args.seed, args.rate, args.duration, args.stage_events,
                   args.kafka_python, args.throughput, args.latency, args.keep,
                   cli.json_path(args, "route"), args.quix, args.rate_fraction)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, options.json_path)
