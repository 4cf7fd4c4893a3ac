"""The timeline benchmark's options and run: write the trail, build the view, time the answers."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.timeline
from bench.harness import cli
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix
from bench.timeline.answers import answer_all
from bench.timeline.report import render
from bench.timeline.trail import Trail, heavy_subjects, make_templates, produce
from hub.config import HubSettings
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames

PER_CASE = 8.5  # records per case, on average, in this mix
# `--short` (make bench-all): about a minute here, the rebuild included.
SHORT = {"records": 20_000, "queries": 100, "heavy": 2, "heavy_records": 200, "heavy_repeats": 5}


@dataclass
class Options:
    records: int
    queries: int
    heavy: int
    heavy_records: int
    heavy_repeats: int
    seed: int
    keep: bool
    json_path: Path | None
    rebuild: bool = True
    rebuild_every_ms: float = 20.0
    short: bool = False


def heavy_cases(options: Options) -> int:
    """One case in this many is about a heavy subject, so each gets about ``heavy_records``."""
    if not options.heavy:
        return 0
    return max(1, round(options.records / PER_CASE / options.heavy
                        / max(1.0, options.heavy_records / PER_CASE)))


def build_summary(projection, applied: int, seconds: float) -> dict[str, Any]:
    return {"applied": applied, "seconds": round(seconds, 1),
            "records_per_s": round(applied / seconds), "skipped": projection.skipped,
            "sqlite_mb": round(projection.path.stat().st_size / 2**20, 1),
            "wal_mb": round(Path(f"{projection.path}-wal").stat().st_size / 2**20, 1),
            "rows": projection.counts()}


def ratios(answers: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """p50 over p50: HTTP over the projection it serves, and answers during a rebuild over idle."""
    def over(a: str, b: str) -> float | None:
        x, y = answers.get(a, {}).get("p50_ms"), answers.get(b, {}).get("p50_ms")
        return round(x / y, 3) if x is not None and y else None

    return {"http_to_projection_p50": over("http/random", "projection/random"),
            "heavy_to_random_p50": over("http/heavy", "http/random"),
            "during_rebuild_to_idle_p50": over("projection/during_rebuild", "projection/random")}


def run(options: Options, console: Console) -> dict[str, Any]:
    from hub.projections.timeline import TimelineProjection

    rng, load_at_start = random.Random(options.seed), load_average()
    workdir = Path(tempfile.mkdtemp(prefix="timeline-bench-"))
    # The projection lives where `hub rebuild timeline` finds it for this prefix and state dir;
    # the principal's credentials stay the dev stack's (they would be looked for in the new one).
    settings = HubSettings(topic_prefix=fresh_prefix(), state_dir=workdir,
                           credentials_file=HubSettings().resolved_credentials_file)
    clients = Clients(settings)
    results: dict[str, Any] = {"problems": []}
    ensure_topics(clients, [TopicNames(settings.topic_prefix).audit])
    heavy = heavy_subjects(rng, options.heavy)
    trail = Trail(settings.topic_prefix, settings.topic_partitions, rng,
                  make_templates(rng, per_type=50), heavy, heavy_cases(options))
    projection = TimelineProjection(clients)
    try:
        with progress_bars(console) as progress:
            produce_s = produce(clients, trail, options.records, progress)
            build = progress.add_task("building the timeline projection", total=None)
            started = time.perf_counter()
            applied = projection.catch_up(lambda done, total: progress.update(build, completed=done,
                                                                              total=total))
            build_s = time.perf_counter() - started
        results["trail"] = {"records": trail.written, "kinds": trail.kinds, "subjects": len(trail.expected),
                            "cases": len(trail.case_subjects), "partitions": settings.topic_partitions,
                            "produce_s": round(produce_s, 1),
                            "produce_rate": round(trail.written / produce_s),
                            "heavy_subject_records": {s: trail.expected[s].records for s in heavy}}
        results["build"] = build_summary(projection, applied, build_s)
        if applied != trail.written or projection.skipped:
            results["problems"].append(f"applied {applied} of {trail.written}, skipped {projection.skipped}")
        answer_all(results, projection, trail, heavy, options, rng, console)
    finally:
        projection.close()
        if options.keep:
            console.print(f"kept prefix {settings.topic_prefix} and {workdir}")
        else:
            cleanup(clients, [f"{settings.topic_prefix}."], console, [workdir])
        clients.close()
    return {**run_header("prefix", settings.topic_prefix, options, settings, load_at_start),
            **results, "ratios": ratios(results["answers"])}


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("timeline", bench.timeline.__doc__)
    cli.option(parser, "--records", 1_000_000, "audit records to write")
    cli.option(parser, "--queries", 1000, "random subjects to ask about")
    cli.option(parser, "--heavy", 10, "subjects with many records")
    cli.option(parser, "--heavy-records", 1000, "records about each heavy subject")
    cli.option(parser, "--heavy-repeats", 20, "times each heavy subject is asked")
    cli.add_seed(parser, 20240601)
    cli.add_keep(parser, "topic and SQLite file")
    parser.add_argument("--no-rebuild", dest="rebuild", action="store_false",
                        help="skip answering during `hub rebuild timeline`")
    cli.option(parser, "--rebuild-every-ms", 20.0, "pause between answers while the rebuild runs")
    cli.add_json(parser, "timeline")
    a = cli.parse(parser, argv, SHORT)
    return Options(a.records, a.queries, a.heavy, a.heavy_records, a.heavy_repeats, a.seed, a.keep,
                   cli.json_path(a, "timeline"), a.rebuild, a.rebuild_every_ms, a.short)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, options.json_path)
