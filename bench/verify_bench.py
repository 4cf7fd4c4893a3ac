"""How fast `hub audit verify` walks the chain, against a raw read of the same topic.

Writes N well-formed chained audit records (the timeline benchmark's generator) to a fresh
prefix's audit topic, then, in the same run: (1) a raw kafka-python read of every record to the
end, doing nothing with them — the floor; (2) ``verify_chain`` over the whole topic (each
record's content checked to be canonical JSON, SHA-256 over it, link check). CPU time is the process's (kafka-python's network
thread included), per record. The topic is deleted afterwards.

    python -m bench.verify_bench [--records 1000000] [--short: 20,000 records, make bench-all]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from bench.harness import cli
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix, raw_read
from bench.timeline.trail import Trail, heavy_subjects, make_templates, produce
from hub.audit.verify import verify_chain
from hub.config import HubSettings
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames

SHORT = {"records": 20_000}  # `--short` (make bench-all)


def run(options: Any, console: Console) -> dict[str, Any]:
    rng, load_at_start = random.Random(options.seed), load_average()
    settings = HubSettings(topic_prefix=fresh_prefix())
    topic = TopicNames(settings.topic_prefix).audit
    with Clients(settings) as clients:
        ensure_topics(clients, [topic])
        trail = Trail(settings.topic_prefix, settings.topic_partitions, rng,
                      make_templates(rng, per_type=50), heavy_subjects(rng, 0), 0)
        try:
            with progress_bars(console) as progress:
                produce(clients, trail, options.records, progress)
                cpu = time.process_time()
                read, raw_s = raw_read(clients, [topic])
                raw_cpu = time.process_time() - cpu
                task = progress.add_task("verifying", total=None)
                started, cpu = time.perf_counter(), time.process_time()
                verdict = verify_chain(clients, progress=lambda d, t: progress.update(
                    task, completed=d, total=t))
                verify_s, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
            if read != trail.written or verdict.count != trail.written:
                raise RuntimeError(f"wrote {trail.written:,} record(s) but the raw read saw {read:,} "
                                   f"and verify counted {verdict.count:,}")
        finally:
            cleanup(clients, [f"{settings.topic_prefix}."], console)
    results = run_header("prefix", settings.topic_prefix, options, settings, load_at_start)
    results["raw_read"] = {"records": read, "seconds": round(raw_s, 2), "records_per_s": round(read / raw_s),
                           "cpu_us_per_record": round(raw_cpu / read * 1e6, 1)}
    results["verify"] = {"ok": verdict.ok, "records": verdict.count, "seconds": round(verify_s, 2),
                         "records_per_s": round(verdict.count / verify_s),
                         "cpu_us_per_record": round(verify_cpu / max(1, verdict.count) * 1e6, 1),
                         "ratio_to_raw_read": round(raw_s / verify_s, 3)}
    results["problems"] = [] if verdict.ok else ["`hub audit verify` found the chain broken"]
    return results


def render(results: dict[str, Any]) -> str:
    raw, verify = results["raw_read"], results["verify"]
    return (f"raw kafka-python read: {raw['records']:,} records in {raw['seconds']} s "
            f"({raw['records_per_s']:,}/s; CPU {raw['cpu_us_per_record']} µs/record)\n"
            f"hub audit verify:      {verify['records']:,} records in {verify['seconds']} s "
            f"({verify['records_per_s']:,}/s; CPU {verify['cpu_us_per_record']} µs/record) — "
            f"{verify['ratio_to_raw_read']}x the raw read; ok={verify['ok']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser("verify", __doc__)
    cli.option(parser, "--records", 1_000_000, "audit records to write")
    cli.add_seed(parser, 7)
    cli.add_json(parser, "verify")
    return cli.parse(parser, argv, SHORT)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(args, run, render, cli.json_path(args, "verify"),
                        failed=lambda results: not results["verify"]["ok"])


if __name__ == "__main__":
    sys.exit(main())
