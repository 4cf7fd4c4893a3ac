"""Inbox throughput: one department's inbox with the SQL adapter on SQLite, beside a raw
kafka-python consume → produce → commit loop over the same records, in the same run.

    .venv/bin/python -m bench.inbox_bench                  # 10,000 items, 2 rounds, ~5 minutes
    .venv/bin/python -m bench.inbox_bench --short          # 3,000 items, 1 round (make bench-all)

``--items`` tax work items (routed in-process from generated registrations by the real rules,
then copied under fresh ids) are written to a fresh prefix's tax inbox. Then, each round, in
alternating order, each mode reads all of them from the beginning in a consumer group of its own:

* ``raw`` — kafka-python: poll up to 500 records, send two outcome-sized records per record
  (pre-encoded bytes, as DELIVERED and COMPLETED would be), flush, commit: the floor under any
  inbox that reports its outcomes before committing.
* ``one_by_one_20`` — :class:`consumers.inbox.Inbox` as first shipped: 20 records per poll, the
  SQL adapter called per item (one transaction, so one commit to disk, per item).
* ``one_by_one_500`` — 500 records per poll, still one transaction per item.
* ``batch_500`` — 500 records per poll, the adapter's batch form (``handle_many``: one
  transaction per poll): today's defaults.

Each inbox mode upserts into a SQLite file of its own (default journal and synchronous
settings: what an agency gets without tuning) and must end with one row per item and every
item DELIVERED and COMPLETED. The clock runs from the first poll that returned records to the
last commit (group joining excluded, the same for every mode); CPU is this process's. Needs the
dev stack (``hub dev up``); every name is fresh (``bench-<uuid8>-…``) and deleted afterwards
unless ``--keep``. Not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from kafka import OffsetAndMetadata
from rich.console import Console

from adapters.sql import SqlTableAdapter
from bench.harness import cli
from bench.harness.progress import advancer, progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix, raw_read
from bench.harness.tables import markdown_table, per_round
from bench.workload import WireRecord, capture_records, make_jobs_of, send_pipelined
from consumers.inbox import Inbox
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import WorkItem, inbox_key, route
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.schema_registry.provisioning import provision_catalogue
from hub.wire.codec import event_to_record
from hub.wire.serde import event_deserializer, model_serializer

DEPARTMENT = Department.TAX
# The registrations that give tax an item (a social organisation's and an enterprise's).
TAX_TYPES = (EventType.SOCIAL_ORGANISATION_REGISTERED, EventType.ENTERPRISE_REGISTERED)
MODES = ("raw", "one_by_one_20", "one_by_one_500", "batch_500")
LABELS = {
    "raw": "raw kafka-python: poll 500, two sends per record, flush, commit (reference)",
    "one_by_one_20": "`Inbox`, 20 per poll, one SQLite transaction per item (as first shipped)",
    "one_by_one_500": "`Inbox`, 500 per poll, one SQLite transaction per item",
    "batch_500": "**`Inbox`, 500 per poll, one SQLite transaction per poll (today's defaults)**",
}
SHORT = {"items": 3000, "rounds": 1}  # `--short` (make bench-all)
POLL_MS = 500


@dataclass
class Run:
    mode: str
    items: int
    seconds: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.items / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "items": self.items, "seconds": round(self.seconds, 3),
                "cpu_s": round(self.cpu_s, 3), "items_per_s": round(self.per_s, 1),
                "cpu_ms_per_item": round(1000 * self.cpu_s / self.items, 3)}


class Clock:
    """Wall and CPU time from the first poll that returned records."""

    def __init__(self) -> None:
        self.wall = self.cpu = None

    def polled(self, wall: float, cpu: float, got: int) -> None:
        if got and self.wall is None:
            self.wall, self.cpu = wall, cpu

    def run(self, mode: str, items: int) -> Run:
        return Run(mode, items, time.perf_counter() - self.wall, time.process_time() - self.cpu)


def tax_items(settings: HubSettings, count: int, seed: int) -> list[WorkItem]:
    """``count`` tax items: routed from a few hundred generated registrations, then copied under
    fresh item, case and event ids (the agency stores every one as a row of its own)."""
    rng, rules, registry = random.Random(seed), load_rules(), Clients(settings).registry
    jobs = make_jobs_of(min(count, 300), rng, TAX_TYPES)
    names = TopicNames(settings.topic_prefix)
    specs = names.event_specs()
    routed = []
    for record in capture_records(settings, jobs):
        event = event_deserializer(registry, specs[record.topic])(record.value, record.topic)
        routed += [i for i in route(event_to_record(event), rules, None) if i.department is DEPARTMENT]
    ids = random.Random(seed + 1)
    return [routed[n % len(routed)].model_copy(update={
        "item_id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
        "case_id": f"case-{uuid.UUID(int=ids.getrandbits(128), version=4)}",
        "event_id": str(uuid.UUID(int=ids.getrandbits(128), version=4))}) for n in range(count)]


def write_inbox(clients: Clients, items: list[WorkItem], console: Console) -> list[bytes]:
    """The items on the tax inbox; returns the outcome values (DELIVERED, COMPLETED) the raw
    mode sends per record: the inbox's own encoding of the first item's outcomes."""
    names, registry = TopicNames(clients.settings.topic_prefix), clients.registry
    topic, encode = names.inbox(DEPARTMENT), model_serializer(registry, "WorkItem")
    records = [WireRecord(topic, inbox_key(i), encode(i, topic), ()) for i in items]
    producer = clients.producer()
    try:
        send_pipelined(producer, records, clients.settings.publish_timeout_s * 6, lambda _n: None)
    finally:
        producer.close(timeout=5)
    console.print(f"wrote {len(records):,} tax items to {topic}")
    outcome_topic, encode_outcome = names.outcomes_of(DEPARTMENT), model_serializer(registry, "Outcome")
    now = datetime.now(timezone.utc)
    return [encode_outcome(Outcome.for_item(items[0], OutcomeStatus.DELIVERED, now), outcome_topic),
            encode_outcome(Outcome.for_item(items[0], OutcomeStatus.COMPLETED, now,
                                            reference="sql:work_items:x" * 3, attempts=1), outcome_topic)]


def raw_mode(clients: Clients, group: str, count: int, outcome_values: list[bytes], sink: str,
             advance: Callable[[int], None]) -> Run:
    topic = TopicNames(clients.settings.topic_prefix).inbox(DEPARTMENT)
    consumer = clients.consumer(topic, group_id=group, auto_offset_reset="earliest",
                                max_poll_records=500)
    producer = clients.producer()
    clock, done = Clock(), 0
    try:
        while done < count:
            wall, cpu = time.perf_counter(), time.process_time()
            polled = consumer.poll(timeout_ms=POLL_MS, max_records=500)
            got = sum(len(records) for records in polled.values())
            clock.polled(wall, cpu, got)
            offsets = {}
            for tp, records in polled.items():
                for record in records:
                    for value in outcome_values:
                        producer.send(sink, key=record.key, value=value)
                offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            if offsets:
                producer.flush(timeout=clients.settings.publish_timeout_s)
                consumer.commit(offsets)
            done += got
            advance(got)
        return clock.run("raw", done)
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)


class OneByOne:
    """The adapter without its batch form: what the inbox did with every handler before."""

    def __init__(self, adapter: SqlTableAdapter):
        self._adapter = adapter

    def __call__(self, item: WorkItem):
        return self._adapter(item)


def inbox_mode(clients: Clients, mode: str, group: str, count: int, db: Path,
               advance: Callable[[int], None]) -> Run:
    """The inbox on the run's clients (the operator's: a fresh prefix has no department ACLs)
    in a group of its own, so every mode reads from the beginning."""
    adapter = SqlTableAdapter.from_url(f"sqlite:///{db}", "work_items")
    handler = adapter if mode.startswith("batch") else OneByOne(adapter)
    inbox = Inbox(DEPARTMENT, clients=clients, group=group, max_records=int(mode.rsplit("_", 1)[1]))
    clock = Clock()
    try:
        while inbox.stats.completed < count:
            wall, cpu = time.perf_counter(), time.process_time()
            got = inbox.poll_once(handler, POLL_MS)
            clock.polled(wall, cpu, got)
            advance(got)
        run = clock.run(mode, inbox.stats.completed)
    finally:
        inbox.close()
    with adapter.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(adapter.table)).scalar_one()
    adapter.engine.dispose()
    stats = inbox.stats
    if (rows, stats.delivered, stats.completed, stats.failed, stats.parked) != (count, count, count, 0, 0):
        raise RuntimeError(f"{mode}: {rows:,} rows for {count:,} items; inbox stats {stats}")
    return run


def run(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    run_prefix, load_at_start = fresh_prefix(), load_average()
    settings = HubSettings(topic_prefix=f"{run_prefix}-inbox")
    names = TopicNames(settings.topic_prefix)
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-"))
    clients = Clients(settings)
    sink = f"{settings.topic_prefix}.bench-raw-outcomes"
    try:
        provision_catalogue(clients)
        ensure_topics(clients, [sink])
        items = tax_items(settings, options.items, options.seed)
        outcome_values = write_inbox(clients, items, console)
        rounds: list[dict[str, Run]] = []
        with progress_bars(console) as progress:
            for n in range(options.rounds):
                runs = {}
                for mode in options.modes if n % 2 == 0 else options.modes[::-1]:
                    task = progress.add_task(f"round {n + 1} {mode}", total=options.items)
                    advance = advancer(progress, task)
                    group = f"{settings.topic_prefix}.bench-{mode}-r{n + 1}"
                    runs[mode] = (raw_mode(clients, group, options.items, outcome_values, sink, advance)
                                  if mode == "raw" else
                                  inbox_mode(clients, mode, group, options.items,
                                             workdir / f"{mode}-r{n + 1}.db", advance))
                    console.print(f"round {n + 1} {mode:15} {runs[mode].per_s:8,.0f} items/s "
                                  f"{1000 * runs[mode].cpu_s / options.items:6.3f} ms CPU/item")
                rounds.append(runs)
        outcomes, _ = raw_read(clients, [names.outcomes_of(DEPARTMENT)])
        expected = 2 * options.items * (len(options.modes) - 1) * options.rounds
        problems = [] if outcomes == expected else [
            f"the tax outcome topic holds {outcomes:,} records, expected {expected:,}"]
        summary = summarise(rounds)
        return {**run_header("run_prefix", run_prefix, options, settings, load_at_start,
                             packages=("sqlalchemy",)),
                "items": options.items, "rounds": options.rounds,
                "runs": [[r.as_dict() for r in runs.values()] for runs in rounds],
                "summary": summary, "problems": problems,
                "ratios": {f"{mode}_to_raw": round(s["vs_raw"], 3) for mode, s in summary.items()
                           if mode != "raw"}}
    finally:
        if not options.keep:
            cleanup(clients, [f"{run_prefix}-"], console, [workdir])
        clients.close()


def summarise(rounds: list[dict[str, Run]]) -> dict[str, dict[str, Any]]:
    return {mode: {
        "items_per_s": statistics.median(r[mode].per_s for r in rounds),
        "per_round": [round(r[mode].per_s, 1) for r in rounds],
        "cpu_ms_per_item": statistics.median(1000 * r[mode].cpu_s / r[mode].items for r in rounds),
        "vs_raw": statistics.median(r[mode].per_s / r["raw"].per_s for r in rounds),
        "vs_raw_per_round": [round(r[mode].per_s / r["raw"].per_s, 3) for r in rounds],
    } for mode in rounds[0]}


def render(results: dict[str, Any]) -> str:
    rows = [[LABELS[mode], f"{s['items_per_s']:,.0f}", f"{s['vs_raw']:.3f}",
             per_round(s["vs_raw_per_round"]), f"{s['cpu_ms_per_item']:.3f}"]
            for mode, s in results["summary"].items()]
    return "\n".join([
        f"Inbox of the tax department, {results['items']:,} items, SQL adapter on SQLite "
        f"(median of {results['rounds']} round(s)):", "",
        markdown_table(["mode", "items/s", "× raw", "per round", "CPU ms/item"], rows)])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser("inbox", __doc__)
    cli.option(parser, "--items", 10_000, "tax work items to write and consume")
    cli.option(parser, "--rounds", 2, "rounds of every mode")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated modes to run, raw always among them (default all: {','.join(MODES)})")
    cli.add_seed(parser, 20261204)
    cli.add_keep(parser, "topics, subjects and SQLite files")
    cli.add_json(parser, "inbox")
    args = cli.parse(parser, argv, SHORT)
    if args.items < 1 or args.rounds < 1:
        parser.error("--items and --rounds must be at least 1")
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"--modes: unknown {', '.join(sorted(unknown))}; known: {', '.join(MODES)}")
    args.modes = [m for m in MODES if m in {"raw", *args.modes.split(",")}]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, cli.json_path(options, "inbox"))


if __name__ == "__main__":
    sys.exit(main())
