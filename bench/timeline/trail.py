"""The synthetic audit trail: generated from real routed events, chained, written to Kafka.

The generator remembers what it wrote about every subject (:class:`Expected`), so each answer
of the timeline can be checked against it (:func:`check_answer`).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from kafka import KafkaProducer
from rich.progress import Progress

from hub.kafka.partitioner import partition_for
from hub.audit.codec import encode_record
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
from bench.workload import routed_types
from hub.domain.catalogue import CATALOGUE
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, decision_for, item_id, route
from hub.domain.sealing import seal
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from producers.demo_data import generate

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


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
    for event_type in routed_types(rules):  # the registrations
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
            # Subjects are named by the trail below (synthetic names standing for pseudonyms).
            out.append(Template(decision_entry(decision, src, str), [item_entry(w, src, at) for w in works],
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
        decision = {**t.decision, "case_id": case_id, "event_id": event_id, "subject_refs": subjects,
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
            subject_ref=subject, allowed=allowed, reason=None if allowed else "no grant for this department",
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


def check_answer(timeline: dict, expected: Expected | None) -> str | None:
    """None if the answer holds what the generator wrote about the subject, else what differs."""
    want = expected or Expected()
    got_items = {r["item_id"] for r in timeline["recipients"]}
    if (len(timeline["events"]), got_items, len(timeline["fact_queries"])) != (
            want.events, want.items, want.queries):
        return (f"{timeline['subject_id']}: events {len(timeline['events'])}/{want.events}, items "
                f"{len(got_items)}/{len(want.items)}, queries {len(timeline['fact_queries'])}/{want.queries}")
    return None


def bench_producer(clients: Clients) -> KafkaProducer:
    """Batching, acks=1: the trail is input, written as fast as the broker takes it, not measured."""
    return KafkaProducer(**clients.connection(), acks=1, linger_ms=20, batch_size=1024 * 1024,
                         max_request_size=4 * 1024 * 1024)


def produce(clients: Clients, trail: Trail, total: int, progress: Progress) -> float:
    """Write about ``total`` records of ``trail`` to the audit topic; returns the seconds taken."""
    topic = TopicNames(clients.settings.topic_prefix).audit
    producer = bench_producer(clients)
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
