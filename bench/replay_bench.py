"""Replay throughput: ``run_replay`` to a file and to the inboxes, beside a raw read of the same topics.

    .venv/bin/python -m bench.replay_bench                     # 5,000 events, 3 rounds, ~1 minute
    .venv/bin/python -m bench.replay_bench --events 20000 --rounds 3
    .venv/bin/python -m bench.replay_bench --short             # 1,000 events, 2 rounds (make bench-all)

``--events`` registrations (a seeded mix of the six routed types, the SDK's exact bytes, as in
``route_bench``) are published pipelined to a fresh prefix, in two halves with a time boundary
between them. Then, each round, in alternating order:

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

Each rate is the operator's wall clock: from the call to its return, connection set-up, offset
look-ups and the audit note included. ``events/s`` counts records read (window and context),
``items/s`` the items written. The ratio to ``raw`` is taken per round, then the median. CPU is
this process's (``time.process_time``) per record.

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

MODES = ("raw", "file", "inbox", "dry", "context")
LABELS = {
    "raw": "raw kafka-python read of the event topics (no decoding; reference)",
    "file": "**`hub replay --to-file`**",
    "inbox": "**`hub replay --to-inbox`** (every ack awaited)",
    "dry": "`hub replay --dry-run` (read, decode, route; nothing written)",
    "context": "dry run over the second half, first half routed as context",
}
SHORT = {"events": 1000, "rounds": 2}  # `--short` (make bench-all)


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


def publish_halves(clients: Clients, events: int, seed: int, console: Console
                   ) -> tuple[datetime, datetime, datetime, int]:
    """Publish the events pipelined in two halves; (start, boundary, end) around them."""
    settings = clients.settings
    rules = load_rules()
    jobs = make_jobs_of(events, random.Random(seed), routed_types(rules))
    records = capture_records(settings, jobs)
    producer = clients.producer()
    timeout_s, ignore = settings.publish_timeout_s * 6, lambda _n: None
    try:
        start = datetime.now(timezone.utc) - timedelta(seconds=1)
        half = len(records) // 2
        send_pipelined(producer, records[:half], timeout_s, ignore)
        time.sleep(0.1)
        boundary = datetime.now(timezone.utc)
        time.sleep(0.1)
        send_pipelined(producer, records[half:], timeout_s, ignore)
        end = datetime.now(timezone.utc) + timedelta(seconds=1)
    finally:
        producer.close(timeout=5)
    console.print(f"published {len(records):,} events ({half:,} before the boundary)")
    return start, boundary, end, half


def run(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    run_prefix, load_at_start = fresh_prefix(), load_average()
    settings = HubSettings(topic_prefix=f"{run_prefix}-replay")
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    clients = Clients(settings)
    try:
        provision_catalogue(clients)
        start, boundary, end, half = publish_halves(clients, options.events, options.seed, console)
        everything = ReplayWindow(start, end)
        actions = {
            "raw": raw_reader(clients),
            "file": replayer(clients, ReplayRequest(everything, to_file=workdir / "replay.jsonl")),
            "inbox": replayer(clients, ReplayRequest(everything)),
            "dry": replayer(clients, ReplayRequest(everything, dry_run=True)),
            "context": replayer(clients, ReplayRequest(ReplayWindow(boundary, end), dry_run=True)),
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
                "runs": [[r.as_dict() for r in runs.values()] for runs in rounds],
                "summary": summary,
                "ratios": {f"{mode}_to_raw": round(s["vs_raw"], 3) for mode, s in summary.items()
                           if mode != "raw"}}
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
    rows = [[LABELS[mode], f"{s['events_per_s']:,.0f}",
             f"{s['items_per_s']:,.0f}" if s["items_per_s"] else "–", f"{s['vs_raw']:.3f}",
             f"{s['cpu_ms_per_record']:.3f}", f"{s['seconds']:.2f}"]
            for mode, s in results["summary"].items()]
    return "\n".join([
        f"Replay of {results['events']:,} events (median of {results['rounds']} rounds):", "",
        markdown_table(["mode", "events/s", "items/s", "× raw read", "CPU ms/event", "wall s"], rows)])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser("replay", __doc__)
    cli.option(parser, "--events", 5000, "events to publish")
    cli.option(parser, "--rounds", 3, "rounds of every mode")
    cli.add_seed(parser, 20261122)
    cli.add_keep(parser, "topics, subjects and files")
    cli.add_json(parser, "replay")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 2 or args.rounds < 1:
        parser.error("--events must be at least 2 and --rounds at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, cli.json_path(options, "replay"))


if __name__ == "__main__":
    sys.exit(main())
