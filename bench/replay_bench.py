"""Replay throughput: ``run_replay`` to a file and to the inboxes, beside a raw read of the same topics.

    .venv/bin/python -m bench.replay_bench                     # 5,000 events, 3 rounds, ~1 minute
    .venv/bin/python -m bench.replay_bench --events 20000 --rounds 3
    .venv/bin/python -m bench.replay_bench --short             # 1,000 events, 2 rounds (make bench-all)

``--events`` registrations (a seeded mix of the six routed types, the SDK's exact bytes, as in
``route_bench``) are published pipelined to a fresh prefix, in three parts with a time boundary
between them: at the half, and before the last ``--window-share`` (10 %). Then, each round, in
alternating order:

* ``raw`` — kafka-python reads every event topic from the beginning to its end offsets, with no
  consumer group (as the replay reads), and decodes nothing: the floor under any replay.
* ``file`` — ``run_replay(..., to_file=...)`` over a window holding every event: read, decode
  with the registry, route (``RouterProcessor``), write JSON lines, audit note.
* ``inbox`` — the same to the inbox topics: Avro-encode each item (the router's bytes), send it
  with the replay headers on the idempotent acks=all producer, wait for every ack, audit note.
* ``dry`` — the same, writing nothing (what reading, decoding and routing cost alone).
* ``context`` — a dry run over the second half only, the first half read and routed before the
  window as context (the default ``--context-from``: the log's beginning). Its rate counts all
  records read, context included.
* ``recent_inbox`` — what an operator usually replays: the last ``--window-share`` of the log to
  the inboxes (every ack awaited), everything before it read as context. Rate: all records read.
* ``recent_dry`` — the same window as a dry run.

Each rate is the operator's wall clock: from the call to its return, connection set-up, offset
look-ups and the audit note included. ``events/s`` counts records read (window and context),
``items/s`` the items written. The ratio to ``raw`` is taken per round, then the median; the
ratio to the live router divides by ``--router-rate`` (the routing bench's figure on this
machine, ``route_bench``: not measured here). CPU is this process's (``time.process_time``) per
record.

Every run uses fresh names (``bench-<uuid8>-…``) and deletes its topics, schema subjects and
files afterwards unless ``--keep``. Needs the dev stack (``hub dev up``). Not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.harness import cli
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix, raw_read
from bench.harness.tables import markdown_table
from bench.workload import capture_records, make_jobs_of, routed_types, send_pipelined
from hub.config import HubSettings
from hub.domain.replay import ReplayRequest, ReplayWindow
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.replay.run import run_replay
from hub.rules import load_rules
from hub.schema_registry.provisioning import provision_catalogue

MODES = ("raw", "file", "inbox", "dry", "context", "recent_inbox", "recent_dry")
LABELS = {
    "raw": "raw kafka-python read of the event topics (no decoding; reference)",
    "file": "**`hub replay --to-file`**",
    "inbox": "**`hub replay --to-inbox`** (every ack awaited)",
    "dry": "`hub replay --dry-run` (read, decode, route; nothing written)",
    "context": "dry run over the second half, first half routed as context",
    "recent_inbox": "**`hub replay --to-inbox`** over the last {window}, the {context} before it as context",
    "recent_dry": "dry run over the last {window}, the {context} before it as context",
}
SHORT = {"events": 1000, "rounds": 2}  # `--short` (make bench-all)
# The live router's events/s on this machine (BENCHMARKS.md, issue 14: route_bench, 3,000 events).
ROUTER_RATE = 386


@dataclass
class Run:
    mode: str
    seconds: float
    cpu_s: float
    records: int  # records read (window and context)
    items: int = 0

    @property
    def per_s(self) -> float:
        return self.records / self.seconds

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "seconds": round(self.seconds, 3), "cpu_s": round(self.cpu_s, 3),
                "records": self.records, "items": self.items, "events_per_s": round(self.per_s, 1),
                "items_per_s": round(self.items_per_s, 1),
                "cpu_ms_per_record": round(1000 * self.cpu_s / self.records, 3)}


def timed(mode: str, action: Callable[[], tuple[int, int]]) -> Run:
    wall, cpu = time.perf_counter(), time.process_time()
    records, items = action()
    return Run(mode, time.perf_counter() - wall, time.process_time() - cpu, records, items)


def raw_reader(clients: Clients) -> Callable[[], tuple[int, int]]:
    """Every record of the event topics, start to end, with no group: nothing decoded."""
    topics = TopicNames(clients.settings.topic_prefix).all_events()
    return lambda: (raw_read(clients, topics)[0], 0)


def replayer(clients: Clients, request: ReplayRequest) -> Callable[[], tuple[int, int]]:
    def action() -> tuple[int, int]:
        summary = run_replay(clients, request, requested_by="replay-bench")
        if summary.skipped_total or not summary.audited:
            raise RuntimeError(f"replay {summary.replay_id}: {summary.lines()}")
        return summary.read + summary.context, summary.emitted

    return action


def publish_parts(clients: Clients, events: int, seed: int, console: Console,
                  cuts: Sequence[float]) -> tuple[datetime, list[datetime], datetime, list[int]]:
    """Publish the events pipelined in parts split at the shares ``cuts`` (ascending), with a
    time boundary between the parts: (start, boundaries, end, events before each boundary)."""
    settings = clients.settings
    rules = load_rules()
    jobs = make_jobs_of(events, random.Random(seed), routed_types(rules))
    records = capture_records(settings, jobs)
    producer = clients.producer()
    timeout_s, ignore = settings.publish_timeout_s * 6, lambda _n: None
    counts = [int(len(records) * cut) for cut in cuts]
    boundaries = []
    try:
        start = datetime.now(timezone.utc) - timedelta(seconds=1)
        for first, last in zip([0, *counts], counts):
            send_pipelined(producer, records[first:last], timeout_s, ignore)
            time.sleep(0.1)
            boundaries.append(datetime.now(timezone.utc))
            time.sleep(0.1)
        send_pipelined(producer, records[counts[-1] if counts else 0:], timeout_s, ignore)
        end = datetime.now(timezone.utc) + timedelta(seconds=1)
    finally:
        producer.close(timeout=5)
    console.print(f"published {len(records):,} events ("
                  + ", ".join(f"{n:,}" for n in counts) + " before the boundaries)")
    return start, boundaries, end, counts


def run(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    run_prefix, load_at_start = fresh_prefix(), load_average()
    settings = HubSettings(topic_prefix=f"{run_prefix}-replay")
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    clients = Clients(settings)
    try:
        provision_catalogue(clients)
        start, (boundary, recent), end, (half, older) = publish_parts(
            clients, options.events, options.seed, console, (0.5, 1 - options.window_share))
        everything = ReplayWindow(start, end)
        actions = {
            "raw": raw_reader(clients),
            "file": replayer(clients, ReplayRequest(everything, to_file=workdir / "replay.jsonl")),
            "inbox": replayer(clients, ReplayRequest(everything)),
            "dry": replayer(clients, ReplayRequest(everything, dry_run=True)),
            "context": replayer(clients, ReplayRequest(ReplayWindow(boundary, end), dry_run=True)),
            "recent_inbox": replayer(clients, ReplayRequest(ReplayWindow(recent, end))),
            "recent_dry": replayer(clients, ReplayRequest(ReplayWindow(recent, end), dry_run=True)),
        }
        rounds: list[dict[str, Run]] = []
        for n in range(options.rounds):
            order = MODES if n % 2 == 0 else tuple(reversed(MODES))
            runs = {}
            for mode in order:
                runs[mode] = timed(mode, actions[mode])
                r = runs[mode]
                console.print(f"round {n + 1} {mode:8} {r.records:>7,} records {r.items:>7,} items "
                              f"{r.seconds:6.2f}s  {r.per_s:8,.0f}/s")
            rounds.append(runs)
        summary = summarise(rounds)
        return {**run_header("run_prefix", run_prefix, options, settings, load_at_start),
                "events": options.events, "rounds": options.rounds, "context_records": half,
                "window_share": options.window_share, "recent_context_records": older,
                "router_rate": options.router_rate,
                "runs": [[r.as_dict() for r in runs.values()] for runs in rounds],
                "summary": summary,
                "ratios": {**{f"{mode}_to_raw": round(s["vs_raw"], 3) for mode, s in summary.items()
                              if mode != "raw"},
                           **{f"{mode}_to_router": round(s["events_per_s"] / options.router_rate, 2)
                              for mode, s in summary.items() if mode != "raw"}}}
    finally:
        if not options.keep:
            cleanup(clients, [f"{run_prefix}-"], console, [workdir])
        clients.close()


def summarise(rounds: list[dict[str, Run]]) -> dict[str, dict[str, float]]:
    out = {}
    for mode in MODES:
        runs = [r[mode] for r in rounds]
        out[mode] = {
            "events_per_s": statistics.median(r.per_s for r in runs),
            "items_per_s": statistics.median(r.items_per_s for r in runs),
            "seconds": statistics.median(r.seconds for r in runs),
            "cpu_ms_per_record": statistics.median(1000 * r.cpu_s / r.records for r in runs),
            "vs_raw": statistics.median(r[mode].per_s / r["raw"].per_s for r in rounds),
        }
    return out


def render(results: dict[str, Any]) -> str:
    share = results.get("window_share", 0.1)
    shares = {"window": f"{share:.0%}", "context": f"{1 - share:.0%}"}
    router = results.get("router_rate", ROUTER_RATE)
    rows = [[LABELS[mode].format(**shares), f"{s['events_per_s']:,.0f}",
             f"{s['items_per_s']:,.0f}" if s["items_per_s"] else "–", f"{s['vs_raw']:.3f}",
             f"{s['events_per_s'] / router:.1f}", f"{s['cpu_ms_per_record']:.3f}", f"{s['seconds']:.2f}"]
            for mode, s in results["summary"].items()]
    return "\n".join([
        f"Replay of {results['events']:,} events (median of {results['rounds']} rounds):", "",
        markdown_table(["mode", "events/s", "items/s", "× raw read", f"× live router ({router:,.0f}/s)",
                        "CPU ms/event", "wall s"], rows)])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser("replay", __doc__)
    cli.option(parser, "--events", 5000, "events to publish")
    cli.option(parser, "--rounds", 3, "rounds of every mode")
    cli.option(parser, "--window-share", 0.1, "share of the log in the recent_* modes' window "
               "(the rest before it is their context)")
    cli.option(parser, "--router-rate", float(ROUTER_RATE), "the live router's events/s on this "
               "machine (route_bench), to divide by")
    cli.add_seed(parser, 20261122)
    cli.add_keep(parser, "topics, subjects and files")
    cli.add_json(parser, "replay")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 2 or args.rounds < 1:
        parser.error("--events must be at least 2 and --rounds at least 1")
    if not 0 < args.window_share < 0.5 or args.router_rate <= 0:
        parser.error("--window-share must be between 0 and 0.5, --router-rate positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, cli.json_path(options, "replay"))


if __name__ == "__main__":
    sys.exit(main())
