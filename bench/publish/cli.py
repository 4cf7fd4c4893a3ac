"""The publish benchmark's options and run: prepare, measure, verify, clean up."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.publish
from bench.harness import cli
from bench.harness.histograms import stage_summary
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix
from bench.publish.check import verify
from bench.publish.inputs import make_jobs, raw_prefix, retarget
from bench.publish.live import Senders, run_rounds
from bench.publish.report import BASELINE, median_summary, paired_ratios, render
from bench.publish.stages import measure_stages
from hub.config import HubSettings
from hub.domain.envelope import EventType
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.provisioning import provision_catalogue

SHORT = {"events": 250, "rounds": 2, "warmup": 50}  # `--short` (make bench-all)


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
    short: bool = False


def prepare_topics_and_schemas(clients: Clients, sdk_prefix: str, raw: str) -> None:
    """Provision the SDK prefix as the hub is (its key intakes and the people's-key schema too:
    the SDK writes a person's key before the event); the raw twin needs only its event topics."""
    assert clients.settings.topic_prefix == sdk_prefix
    provision_catalogue(clients)
    ensure_topics(clients, TopicNames(raw).all_events())


def run(options: Options, console: Console) -> dict[str, Any]:
    """Prepare, measure the stages, run the rounds, verify, clean up; returns the results."""
    prefix, load_at_start = fresh_prefix(), load_average()
    raw = raw_prefix(prefix)
    sdk_settings = HubSettings(topic_prefix=prefix)
    timeout_s = sdk_settings.publish_timeout_s + 1  # what Publisher._produce waits

    rng = random.Random(options.seed)
    warm_jobs = make_jobs(options.warmup, rng, options.event_type)
    jobs = make_jobs(options.events, rng, options.event_type)
    console.print(f"prefix [bold]{prefix}[/]: {options.warmup} warm-up + {options.events} events "
                  f"× {options.rounds} rounds per mode, seed {options.seed}, "
                  f"event type {options.event_type or 'mix of six'}")
    with Clients(sdk_settings) as clients:
        prepare_topics_and_schemas(clients, prefix, raw)
        try:
            # No live display here: its redraw thread would take the GIL inside the timed stages.
            console.print("in-process stage breakdown (no broker)…")
            stages, warm_records, records = measure_stages(sdk_settings, warm_jobs, jobs)
            raw_warm, raw_records = retarget(warm_records, prefix, raw), retarget(records, prefix, raw)

            senders = Senders(sdk_settings, options.reference, timeout_s)
            try:
                with progress_bars(console, width=28) as progress:
                    runs = run_rounds(senders, progress, (warm_jobs, raw_warm), (jobs, raw_records),
                                      options.rounds, options.reference, timeout_s)
            finally:
                senders.close()

            problems: list[str] = []
            if options.check:
                console.print("reading the SDK topics back to check the bytes…")
                sdk_passes = 2 if options.reference else 1  # linger 0 (shipped), and linger 5
                raw_passes = 3 if options.reference else 1  # linger 0, linger 5, pipelined
                problems = verify(clients, prefix, raw, warm_records, records, options.rounds,
                                  sdk_passes=sdk_passes, raw_passes=raw_passes)
        finally:
            if not options.keep:
                cleanup(clients, [f"{prefix}.", f"{raw}."], console)

    return {
        **run_header("prefix", prefix, options, sdk_settings, load_at_start),
        "value_bytes_mean": statistics.mean(len(r.value) for r in records),
        "publish": {mode: median_summary(rs) for mode, rs in runs.items()},
        "ratios": {
            mode: paired_ratios(runs[mode], runs[base]) for mode, base in BASELINE.items() if mode in runs
        },
        "rounds": {mode: [r.summary() for r in rs] for mode, rs in runs.items()},
        "stages_us": stage_summary(stages),
        "problems": problems,
        "_stage_hists": stages,
    }


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("publish", bench.publish.__doc__)
    cli.option(parser, "--events", 2000, "measured events per mode per round")
    cli.option(parser, "--rounds", 3, "rounds; the order of raw and sdk alternates")
    cli.option(parser, "--warmup", 200, "uncounted events per mode first")
    cli.add_seed(parser, 20240601)
    parser.add_argument("--event-type", choices=[t.value for t in EventType],
                        help="publish only this event type (default: a seeded mix of all six)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the linger-5 pair and the pipelined reference row")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip reading the SDK topics back to compare with the replayed bytes")
    cli.add_keep(parser, "topics and schema subjects")
    cli.add_json(parser, "publish")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 1 or args.rounds < 1 or args.warmup < 1:
        parser.error("--events, --rounds and --warmup must be at least 1")
    return Options(args.events, args.rounds, args.warmup, args.seed, args.event_type,
                   args.reference, args.check, args.keep, cli.json_path(args, "publish"), args.short)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, options.json_path, quiet_kafka=False)
