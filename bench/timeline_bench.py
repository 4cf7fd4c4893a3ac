"""Subject timeline ("who has my data and why"): answer time among a million audit records.

    .venv/bin/python -m bench.timeline_bench                       # 1,000,000 records, ~6 minutes
    .venv/bin/python -m bench.timeline_bench --records 50000 --queries 200   # a quick look

**Trail.** ``--records`` synthetic but well-formed audit records are written to the audit topic
of a fresh prefix (``bench-<uuid8>``), chained per partition with ``AuditRecord.after`` and keyed
and partitioned as the auditor does (case id; subject id for fact queries; replay id). Contents
come from the real entry builders (``decision_entry``, ``item_entry``, ``outcome_entry``,
``note_entry``) applied to real routed events — a few hundred templates per run, generated,
sealed and routed by the hub's own code — with ids, subjects and times substituted per case. The
mix per case is the hub's: one routing decision (2% HELD then RELEASED), one ``item_sent`` per
item, DELIVERED and a final outcome per item (≈95% COMPLETED, 3% REJECTED, 2% FAILED, plus 1%
OVERDUE flags); about 2% of records are fact queries, and one replay in every ~20,000 records
re-sends a few dozen items. Subjects recur: 30% of case subjects are drawn from those already
seen. ``--heavy`` subjects (default 10) are each put in enough cases to have about
``--heavy-records`` (default 1,000) records about them — the worst case of a timeline.
The producer is kafka-python with batching (linger 20 ms, 1 MiB batches, acks=1).

**Build.** ``TimelineProjection.catch_up`` reads the whole topic into a fresh SQLite file, timed
end to end (records/s).

**Answers.** For ``--queries`` subjects drawn uniformly from all subjects (and every heavy
subject ``--heavy-repeats`` times, and unknown subjects), the time of
``TimelineProjection.subject_timeline`` (SQLite lookups + assembly) and of
``GET /v1/audit/subjects/{id}`` through the FastAPI app (``TestClient``, in-process: includes the
catch-up to the topic's end — one ``end_offsets`` round trip to the broker — and JSON encoding),
each in an HdrHistogram (µs, 3 significant figures). Each answer is checked against what the
generator wrote for that subject (events, items received, fact queries).

**During a rebuild.** ``hub rebuild timeline`` then runs as its own process on the same file
(as an operator would, beside a running ``hub serve``) while this process keeps answering one
random subject every ``--rebuild-every-ms`` (default 20 ms). The table shows those answer times;
every answer is checked as above — an empty or half-built view would fail the check — and the
rebuild's wall time and records are reported (``--no-rebuild`` skips this part).

Deletes its topics and work files afterwards unless ``--keep``. Needs the dev stack (``hub dev
up``). Not a test: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaAdminClient, KafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.publish_bench import RESULTS_DIR, environment, write_json
from hub.audit.auditor import partition_for
from hub.audit.codec import encode_record
from hub.config import HubSettings
from hub.domain.audit import GENESIS, AuditRecord
from hub.domain.audit_entries import (
    FactQueryNote,
    QueriedField,
    ReplayNote,
    decision_entry,
    item_entry,
    iso,
    note_entry,
    outcome_entry,
    source,
)
from hub.domain.catalogue import CATALOGUE
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, decision_for, item_id, route
from hub.domain.sealing import seal
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.kafka.admin import ensure_topics
from hub.wire.codec import event_to_record
from producers.demo_data import generate

US_HIGHEST = 60_000_000  # 60 s, in µs
SIG_FIGS = 3
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the synthetic trail


@dataclass(frozen=True)
class Template:
    """One real routed event's audit contents, to copy with other ids, subjects and times."""

    decision: dict
    items: list[dict]  # item_sent contents
    outcomes: dict[str, list[dict]]  # status -> one outcome content per item
    subjects: int


def make_templates(rng: random.Random, per_type: int) -> list[Template]:
    """Real events of the six seed types, generated, sealed and routed by the hub's own code."""
    rules, out = load_rules(), []
    src = source("routing", 0, 0)
    for event_type in [t for t in CATALOGUE if rules.items_for(t.value)]:  # the registrations
        spec = CATALOGUE[event_type]
        for _ in range(per_type):
            event = event_to_record(seal(spec, spec.owner, generate(event_type, rng)))
            works = route(event, rules)
            if not works:
                continue
            decision = decision_for(event, DecisionKind.ROUTED, works)
            at = decision.decided_at
            outcomes = {
                status.value: [outcome_entry(Outcome.for_item(w, status, at, reference="R",
                                                              reason="r"), src) for w in works]
                for status in OutcomeStatus}
            out.append(Template(decision_entry(decision, src), [item_entry(w, src, at) for w in works],
                                outcomes, len(decision.subject_ids)))
    return out


@dataclass
class Expected:
    """What the generator wrote about one subject (to check each answer)."""

    events: int = 0
    items: set = field(default_factory=set)
    queries: int = 0
    records: int = 0


@dataclass
class Trail:
    """Generates chained audit records; remembers, per subject, what it wrote about it."""

    prefix: str
    partitions: int
    rng: random.Random
    templates: list[Template]
    heavy: list[str]
    heavy_cases: int
    reuse: float = 0.3
    replay_every: int = 20_000
    subjects: list[str] = field(default_factory=list)
    expected: dict[str, Expected] = field(default_factory=dict)
    heads: dict[int, str] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    case_subjects: dict[str, list[str]] = field(default_factory=dict)
    sent_log: list[dict] = field(default_factory=list)  # recent item_sent contents, for replays
    written: int = 0

    def __post_init__(self):
        self.heads = {p: GENESIS for p in range(self.partitions)}

    # -- helpers ------------------------------------------------------------------------------
    def _src(self, topic: str) -> dict:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        return source(f"{self.prefix}.{topic}", 0, offset)

    def _subject(self) -> str:
        if self.subjects and self.rng.random() < self.reuse:
            return self.rng.choice(self.subjects)
        subject = f"33{self.rng.randrange(10**16):016d}"
        self.subjects.append(subject)
        return subject

    def _record(self, key: str, content: dict, about: Sequence[str] = ()) -> tuple[int, bytes, bytes]:
        partition = partition_for(key.encode(), self.partitions)
        record = AuditRecord.after(self.heads[partition], content)
        self.heads[partition] = record.hash
        self.kinds[content["kind"]] = self.kinds.get(content["kind"], 0) + 1
        self.written += 1
        for subject in about:
            self.expected.setdefault(subject, Expected()).records += 1
        return partition, key.encode(), encode_record(record)

    # -- one case -------------------------------------------------------------------------------
    def case(self, n: int, at: datetime) -> Iterator[tuple[int, bytes, bytes]]:
        t = self.rng.choice(self.templates)
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        case_id = f"case-{event_id}"
        subjects = [self._subject() for _ in range(t.subjects)]
        if self.heavy and n % max(1, self.heavy_cases) == 0:
            subjects[0] = self.heavy[(n // self.heavy_cases) % len(self.heavy)]
        subjects = list(dict.fromkeys(subjects))
        self.case_subjects[case_id] = subjects
        ids = [item_id(event_id, i["department"], i["item"]) for i in t.items]
        stamp = iso(at)
        held = self.rng.random() < 0.02
        decision = {**t.decision, "case_id": case_id, "event_id": event_id, "subject_ids": subjects,
                    "at": stamp, "source": self._src("routing"),
                    "items": [{**i, "item_id": ids[k], "deadline_at": iso(at + timedelta(days=5))}
                              for k, i in enumerate(t.decision["items"])]}
        if held:
            yield self._record(case_id, {**decision, "decision": "HELD", "pending_documents": ["doc"]},
                               subjects)
            at += timedelta(hours=2)
            stamp = iso(at)
            decision = {**decision, "decision": "RELEASED", "at": stamp, "source": self._src("routing")}
        yield self._record(case_id, decision, subjects)
        for subject in subjects:
            self.expected[subject].events += 1 + held
        for k, item in enumerate(t.items):
            sent_at = iso(at + timedelta(milliseconds=40 + 5 * k))
            sent = {**item, "case_id": case_id, "event_id": event_id, "item_id": ids[k], "at": sent_at,
                    "source": self._src(f"inbox.{item['department'].lower()}")}
            yield self._record(case_id, sent, subjects)
            self.sent_log.append(sent)
            for subject in subjects:
                self.expected[subject].items.add(ids[k])
            roll = self.rng.random()
            final = "COMPLETED" if roll < 0.95 else "REJECTED" if roll < 0.98 else "FAILED"
            steps = [("DELIVERED", 0.1)] + ([("OVERDUE", 86_400.0)] if self.rng.random() < 0.01 else [])
            for status, after_s in steps + [(final, 0.2 + self.rng.random() * 3600)]:
                base = t.outcomes[status][k]
                yield self._record(case_id, {
                    **base, "case_id": case_id, "event_id": event_id, "item_id": ids[k],
                    "at": iso(at + timedelta(seconds=after_s)), "source": self._src("outcomes"),
                    "reference": f"REF-{n}-{k}" if status == "COMPLETED" else None,
                    "reason": "refused on its merits" if status in ("REJECTED", "FAILED") else None},
                    subjects)
        del self.sent_log[:-200]

    def fact_query(self, at: datetime) -> tuple[int, bytes, bytes]:
        subject = self.rng.choice(self.subjects) if self.rng.random() < 0.98 or not self.heavy \
            else self.rng.choice(self.heavy)
        allowed = self.rng.random() < 0.9
        note = FactQueryNote(
            query_id=str(uuid.UUID(int=self.rng.getrandbits(128))), at=at,
            department=self.rng.choice(["TAX", "PROVIDENT_FUND", "MEDICAL_INSURANCE", None]),
            subject_id=subject, allowed=allowed, reason=None if allowed else "no grant for this department",
            fields=[QueriedField(event_type="marriage_registered", field="payload.registered_on",
                                 basis="《住房公积金管理条例》第二十四条")] if allowed else [])
        self.expected.setdefault(subject, Expected()).queries += 1
        return self._record(subject, note_entry(note, self._src("audit.intake")), [subject])

    def replay(self, at: datetime) -> Iterator[tuple[int, bytes, bytes]]:
        replay_id = f"replay-{uuid.UUID(int=self.rng.getrandbits(128))}"
        chosen = self.rng.sample(self.sent_log, min(40, len(self.sent_log)))
        for sent in chosen:
            yield self._record(sent["case_id"], {**sent, "at": iso(at), "replay_id": replay_id,
                                                 "source": self._src(f"inbox.{sent['department'].lower()}")},
                               self.case_subjects[sent["case_id"]])
        note = ReplayNote(replay_id=replay_id, requested_by="ops@hub", at=at, window_from=at - timedelta(days=1),
                          window_to=at, target="inbox", read=5000, matched=len(chosen), emitted=len(chosen))
        yield self._record(replay_id, note_entry(note, self._src("audit.intake")))

    def records(self, total: int) -> Iterator[tuple[int, bytes, bytes]]:
        """About ``total`` records (the last case is finished, so a few more may be written)."""
        n, at = 0, T0
        next_replay = self.replay_every
        while self.written < total:
            at += timedelta(seconds=self.rng.expovariate(1 / 60))
            if self.rng.random() < 0.2 and self.subjects:
                yield self.fact_query(at)
            if self.written >= next_replay:
                next_replay += self.replay_every
                yield from self.replay(at)
            yield from self.case(n, at)
            n += 1


def heavy_subjects(rng: random.Random, count: int) -> list[str]:
    return [f"91330000{rng.randrange(10**10):010d}" for _ in range(count)]


# --------------------------------------------------------------------------- measuring


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, US_HIGHEST, SIG_FIGS)


def summary(h: HdrHistogram) -> dict[str, float]:
    return {"count": h.get_total_count(), "p50_ms": h.get_value_at_percentile(50) / 1000,
            "p95_ms": h.get_value_at_percentile(95) / 1000, "p99_ms": h.get_value_at_percentile(99) / 1000,
            "max_ms": h.get_max_value() / 1000, "mean_ms": h.get_mean_value() / 1000}


def timed(h: HdrHistogram, call: Callable[[], Any]) -> Any:
    started = time.perf_counter_ns()
    value = call()
    h.record_value(max(1, (time.perf_counter_ns() - started) // 1000))
    return value


def check_answer(timeline: dict, expected: Expected | None) -> str | None:
    """None if the answer holds what the generator wrote about the subject, else what differs."""
    want = expected or Expected()
    got_items = {r["item_id"] for r in timeline["recipients"]}
    if (len(timeline["events"]), got_items, len(timeline["fact_queries"])) != (
            want.events, want.items, want.queries):
        return (f"{timeline['subject_id']}: events {len(timeline['events'])}/{want.events}, items "
                f"{len(got_items)}/{len(want.items)}, queries {len(timeline['fact_queries'])}/{want.queries}")
    return None


# --------------------------------------------------------------------------- the run


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


def bench_producer(settings: HubSettings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks=1, linger_ms=20,
                         batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)


def produce(settings: HubSettings, trail: Trail, total: int, progress: Progress) -> float:
    topic = TopicNames(settings.topic_prefix).audit
    producer = bench_producer(settings)
    task = progress.add_task("writing the audit trail", total=total)
    started = time.perf_counter()
    failures: list[BaseException] = []
    try:
        for i, (partition, key, value) in enumerate(trail.records(total)):
            producer.send(topic, key=key, value=value, partition=partition).add_errback(failures.append)
            if i % 5000 == 0:
                progress.update(task, completed=i)
        producer.flush(timeout=300)
    finally:
        producer.close(timeout=30)
    took = time.perf_counter() - started
    progress.update(task, completed=trail.written, total=trail.written)
    if failures:
        raise RuntimeError(f"{len(failures)} audit record(s) not written: {failures[0]}")
    return took


def run(options: Options, console: Console) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.api.tokens import TokenRecord, TokenStore, token_hash
    from hub.domain.departments import Department
    from hub.projections.timeline import TimelineProjection

    rng = random.Random(options.seed)
    workdir = Path(tempfile.mkdtemp(prefix="timeline-bench-"))
    # The projection lives where `hub rebuild timeline` finds it for this prefix and state dir.
    settings = HubSettings(topic_prefix=f"bench-{uuid.uuid4().hex[:8]}", state_dir=workdir)
    names = TopicNames(settings.topic_prefix)
    results: dict[str, Any] = {"options": {k: str(v) if isinstance(v, Path) else v
                                           for k, v in vars(options).items()},
                               "environment": environment(settings), "problems": []}
    ensure_topics(settings, [names.audit])
    heavy = heavy_subjects(rng, options.heavy)
    per_case = 8.5  # records per case, on average, in this mix
    heavy_cases = max(1, round(options.records / per_case / max(1, options.heavy)
                               / max(1.0, options.heavy_records / per_case))) if heavy else 0
    trail = Trail(settings.topic_prefix, settings.topic_partitions, rng,
                  make_templates(rng, per_type=50), heavy, heavy_cases)
    projection = TimelineProjection(settings)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            produce_s = produce(settings, trail, options.records, progress)
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
        results["build"] = {"applied": applied, "seconds": round(build_s, 1),
                            "records_per_s": round(applied / build_s), "skipped": projection.skipped,
                            "sqlite_mb": round(projection.path.stat().st_size / 2**20, 1),
                            "wal_mb": round(Path(f"{projection.path}-wal").stat().st_size / 2**20, 1),
                            "rows": projection.counts()}
        if applied != trail.written or projection.skipped:
            results["problems"].append(f"applied {applied} of {trail.written}, skipped {projection.skipped}")

        everyone = sorted(trail.expected)
        sample = rng.sample(everyone, min(options.queries, len(everyone)))
        unknown = [f"unknown-{i}" for i in range(100)]
        heavy_asks = [s for s in heavy for _ in range(options.heavy_repeats)]
        tokens = TokenStore([TokenRecord(department=Department.CIVIL_AFFAIRS, sha256=token_hash("bench"),
                                         issued_at=datetime.now(timezone.utc))])
        client = TestClient(create_app(settings, tokens, lambda d: None, timeline=projection))
        client.__enter__()  # one event loop for every request, as a running server has
        auth = {"Authorization": "Bearer bench"}
        # The generator's bookkeeping (millions of objects) is no server's: keep the collector
        # from walking it during the answers.
        gc.collect()
        gc.freeze()
        hists: dict[str, HdrHistogram] = {}
        sizes: dict[str, list[int]] = {}
        for label, subjects in (("random", sample), ("heavy", heavy_asks), ("unknown", unknown)):
            for way in ("projection", "http"):
                hists[f"{way}/{label}"] = new_histogram()
            for subject in subjects:
                answer = timed(hists[f"projection/{label}"], lambda: projection.subject_timeline(subject))
                response = timed(hists[f"http/{label}"],
                                 lambda: client.get(f"/v1/audit/subjects/{subject}", headers=auth))
                if response.status_code != 200 or response.json() != answer:
                    results["problems"].append(f"HTTP answer for {subject} differs ({response.status_code})")
                if problem := check_answer(answer, trail.expected.get(subject)):
                    results["problems"].append(problem)
                sizes.setdefault(label, []).append(len(response.content))
        baseline = new_histogram()
        for _ in range(200):
            timed(baseline, lambda: client.get("/healthz"))
        catch_up = new_histogram()
        for _ in range(200):
            timed(catch_up, projection.catch_up)
        client.__exit__(None, None, None)
        if options.rebuild:
            hists["projection/during_rebuild"] = new_histogram()
            results["rebuild"] = answer_during_rebuild(settings, projection, trail, everyone, rng,
                                                       hists["projection/during_rebuild"],
                                                       options.rebuild_every_ms / 1000, console)
            results["problems"] += results["rebuild"].pop("problems")
        results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        results["answers"] = {k: summary(h) for k, h in hists.items()}
        results["answers"]["catch_up_noop"] = summary(catch_up)
        results["answers"]["http/healthz"] = summary(baseline)
        results["answer_bytes"] = {k: {"mean": round(sum(v) / len(v)), "max": max(v)} for k, v in sizes.items()}
        results["answer_records"] = {
            "random": round(sum(trail.expected[s].records for s in sample) / len(sample), 1),
            "heavy": round(sum(trail.expected[s].records for s in heavy) / max(1, len(heavy)), 1)}
    finally:
        projection.close()
        if options.keep:
            console.print(f"kept prefix {settings.topic_prefix} and {workdir}")
        else:
            cleanup(settings, workdir, console)
    return results


def answer_during_rebuild(settings: HubSettings, projection, trail: Trail, subjects: list[str],
                          rng: random.Random, hist: HdrHistogram, every_s: float,
                          console: Console) -> dict[str, Any]:
    """Run ``hub rebuild timeline`` as a process of its own and keep answering meanwhile."""
    env = {**os.environ, "HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
           "HUB_TOPIC_PREFIX": settings.topic_prefix, "HUB_STATE_DIR": str(settings.state_dir)}
    command = [sys.executable, "-m", "hub.cli", "rebuild", "timeline"]
    problems: list[str] = []
    answers = 0
    console.print("rebuilding the timeline projection in another process, answering meanwhile…")
    started = time.perf_counter()
    rebuild = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while rebuild.poll() is None:
        subject = rng.choice(subjects)
        answer = timed(hist, lambda: projection.subject_timeline(subject))
        answers += 1
        if problem := check_answer(answer, trail.expected.get(subject)):
            problems.append(f"during the rebuild: {problem}")
        time.sleep(every_s)
    took = time.perf_counter() - started
    out, err = rebuild.communicate()
    match = re.search(r"^timeline: ([\d,]+) record\(s\) applied", out, re.MULTILINE)
    applied = int(match.group(1).replace(",", "")) if match else None
    if rebuild.returncode != 0 or applied != trail.written:
        problems.append(f"`hub rebuild timeline` exited {rebuild.returncode}, applied {applied} of "
                        f"{trail.written}: {err.strip()[-300:]}")
    after = projection.subject_timeline(subjects[0])  # the rebuilt view, once swapped in
    if problem := check_answer(after, trail.expected.get(subjects[0])):
        problems.append(f"after the rebuild: {problem}")
    return {"seconds": round(took, 1), "applied": applied, "answers": answers,
            "records_per_s": round(applied / took) if applied else None, "problems": problems}


def cleanup(settings: HubSettings, workdir: Path, console: Console) -> None:
    topics = [TopicNames(settings.topic_prefix).audit]
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="oncehub-bench")
        try:
            admin.delete_topics(topics)
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        console.print(f"[yellow]could not delete topics {topics}: {exc}")
    shutil.rmtree(workdir, ignore_errors=True)


ROWS = {
    "projection/random": "projection: `subject_timeline`, random subject",
    "http/random": "**HTTP `GET /v1/audit/subjects/{id}`, random subject**",
    "projection/heavy": "projection: heavy subject (~1,000 records)",
    "http/heavy": "HTTP: heavy subject",
    "projection/unknown": "projection: unknown subject (empty timeline)",
    "http/unknown": "HTTP: unknown subject",
    "projection/during_rebuild": "projection: random subject while `hub rebuild timeline` runs",
    "catch_up_noop": "catch-up with nothing new (one `end_offsets` round trip)",
    "http/healthz": "HTTP `GET /healthz` (the test client's own cost per request)",
}


def render(results: dict[str, Any]) -> str:
    trail, build = results["trail"], results["build"]
    lines = [f"audit records: {trail['records']:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(trail['kinds'].items()))})",
             f"subjects: {trail['subjects']:,}; cases: {trail['cases']:,}; partitions: {trail['partitions']}",
             f"produce: {trail['produce_s']:.1f} s ({trail['produce_rate']:,} records/s)",
             f"projection build: {build['applied']:,} records in {build['seconds']:.1f} s "
             f"({build['records_per_s']:,} records/s); SQLite {build['sqlite_mb']} MB (+ WAL "
             f"{build['wal_mb']} MB); skipped {build['skipped']}",
             f"records about a subject: random {results['answer_records']['random']}, "
             f"heavy {results['answer_records']['heavy']}", "",
             "| answer | count | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
    if "rebuild" in results:
        r = results["rebuild"]
        lines.insert(4, f"rebuild (`hub rebuild timeline`, its own process, while answering): "
                        f"{r['applied'] or 0:,} records in {r['seconds']:.1f} s "
                        f"({r['records_per_s'] or 0:,} records/s), {r['answers']:,} answers meanwhile")
    for key, label in ROWS.items():
        if key not in results["answers"]:
            continue
        s = results["answers"][key]
        lines.append(f"| {label} | {s['count']:,} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | "
                     f"{s['p99_ms']:.2f} | {s['max_ms']:.2f} |")
    lines.append("")
    lines.append(f"problems: {len(results['problems'])}" + "".join(f"\n  - {p}" for p in results["problems"][:10]))
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="audit records to write")
    parser.add_argument("--queries", type=int, default=1000, help="random subjects to ask about")
    parser.add_argument("--heavy", type=int, default=10, help="subjects with many records")
    parser.add_argument("--heavy-records", type=int, default=1000, help="records about each heavy subject")
    parser.add_argument("--heavy-repeats", type=int, default=20, help="times each heavy subject is asked")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--keep", action="store_true", help="keep the topic and the SQLite file")
    parser.add_argument("--no-rebuild", dest="rebuild", action="store_false",
                        help="skip answering during `hub rebuild timeline`")
    parser.add_argument("--rebuild-every-ms", type=float, default=20.0,
                        help="pause between answers while the rebuild runs")
    parser.add_argument("--json", dest="json_path", type=Path,
                        default=RESULTS_DIR / f"timeline-{time.strftime('%Y%m%d-%H%M%S')}.json")
    a = parser.parse_args(argv)
    return Options(a.records, a.queries, a.heavy, a.heavy_records, a.heavy_repeats, a.seed, a.keep,
                   a.json_path, a.rebuild, a.rebuild_every_ms)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True)
    results = run(options, console)
    print(render(results))
    if options.json_path:
        write_json(results, options.json_path)
        console.print(f"results: {options.json_path}")
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
