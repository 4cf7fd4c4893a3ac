"""The auditor: the one writer of the audit chain.

It reads every fact the hub must be able to prove — routing decisions (routing log), work items
sent (department inboxes, replays included), outcomes, and notes posted to the audit intake
(replays, fact queries) — and appends one hash-linked record per fact to the audit topic.

Why one writer: each record carries the hash of its partition's previous record, so appends to a
partition must be serialised. Run exactly one auditor per hub; before every batch it checks that
the audit partitions end where its own last writes ended, and stops (``AuditorConflict``) if
someone else wrote there.

Crash safety without transactions: source offsets are committed only after a batch's audit
records are acknowledged, so every source record below the committed offset is audited. After
a crash the batch in flight may be partly in the audit topic — its records go to several audit
partitions (by case), and some of those writes may have landed while others did not. So on
start the auditor resumes each source partition from its committed offset, not from the highest
offset audited, and skips exactly the source records whose position (topic, partition, offset)
it finds in the tail of the audit partitions (read at least two batches deep, which covers the
batch in flight). A record whose audit write was lost is audited then, appended to its chain
after the head that was actually stored; nothing is audited twice and nothing is skipped. Only if
the group's offsets are gone (expired) and the audit topic is longer than the tail does the
auditor fall back to resuming after the lowest of the per-audit-partition highest audited
offsets, and says so.

Chain heads are anchored to a separate topic every ``anchor_every_s`` and reported through
``on_anchor``, so an auditor can keep them outside the system.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from hub.observability import metrics
from hub.audit.codec import decode_record, encode_record
from hub.audit.intake import decode_note, note_key
from hub.errors import Conflict
from hub.domain.audit import GENESIS, AuditRecord, canonical
from hub.domain.audit_entries import decision_entry, item_entry, iso, note_entry, outcome_entry, source
from hub.domain.dead_letters import DeadLetter
from hub.domain.outcomes import Outcome
from hub.domain.pseudonyms import Pseudonyms
from hub.domain.redaction import error_text
from hub.domain.routing import RoutingDecision, WorkItem
from hub.kafka.clients import Clients
from hub.kafka.log_reader import assign_all, partitions_of
from hub.kafka.partitioner import partition_for
from hub.kafka.topic_names import TopicNames
from hub.security.pseudonym_keys import pseudonyms_of
from hub.kafka.failures import is_transient
from hub.wire.headers import REPLAY_ID, header
from hub.wire.serde import model_deserializer, model_serializer

log = logging.getLogger(__name__)


class AuditorConflict(Conflict):
    """Another process wrote to the audit topic: two writers would fork the chain."""


@dataclass(frozen=True)
class Anchor:
    partition: int
    offset: int
    hash: str
    anchored_at: datetime

    def as_json(self) -> dict:
        return {"partition": self.partition, "offset": self.offset, "hash": self.hash,
                "anchored_at": iso(self.anchored_at)}

    def __str__(self) -> str:
        return f"anchor audit[{self.partition}]@{self.offset} sha256:{self.hash}"


class Auditor:
    def __init__(self, clients: Clients, *, batch_max: int = 500, anchor_every_s: float = 60.0,
                 on_anchor: Callable[[Anchor], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 pseudonyms: Pseudonyms | None = None):
        self._clients = clients
        self.settings = settings = clients.settings
        # Subjects enter the chain by pseudonym only (the key file is outside Kafka).
        self.pseudonyms = pseudonyms or pseudonyms_of(settings)
        self.names = TopicNames(settings.topic_prefix)
        self.batch_max, self.anchor_every_s = batch_max, anchor_every_s
        self.on_anchor, self.clock = on_anchor, clock
        registry = clients.registry
        self._decoders: dict[str, Callable[[bytes, str], object]] = {
            self.names.routing_log: model_deserializer(registry, "RoutingDecision", RoutingDecision),
            **{t: model_deserializer(registry, "Outcome", Outcome)
               for t in (*self.names.all_outcomes(), self.names.deadlines)},
            **{t: model_deserializer(registry, "WorkItem", WorkItem) for t in self.names.all_inboxes()},
        }
        self._encode_dead_letter = model_serializer(registry, "DeadLetter")
        self.heads: dict[int, str] = {}
        self.next_offset: dict[int, int] = {}  # per audit partition: where our next write lands
        self._anchored: dict[int, int] = {}
        self._last_anchor = time.monotonic()
        self._lock = threading.RLock()
        self._already: set[tuple[str, int, int]] = set()  # audited, offsets not yet committed
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self.audited = 0

    # -- start-up -----------------------------------------------------------------------------

    @property
    def group(self) -> str:
        """The consumer group whose committed offsets say how far each source is audited."""
        return f"{self.settings.topic_prefix}-auditor"

    def sources(self) -> list[str]:
        return [*self._decoders, self.names.audit_intake]

    def start(self) -> None:
        """Find the chain heads and where each source was audited up to; assign the sources."""
        self._producer = self._clients.producer(client_id="oncehub-auditor")
        consumer = self._clients.consumer(group_id=self.group, auto_offset_reset="earliest",
                                          max_poll_records=self.batch_max)
        audited, highest, whole = self._read_tail(consumer)
        partitions = assign_all(consumer, self.sources(), "the auditor")
        resumed: dict[tuple[str, int], int] = {}
        for tp in partitions:
            key = (tp.topic, tp.partition)
            start = consumer.committed(tp)
            if start is None and not whole and highest.get(key):
                # No committed offsets (expired?) and a chain longer than the tail: the best
                # guess that skips nothing the tail cannot vouch for.
                start = min(highest[key].values()) + 1
                log.warning("auditor: no committed offset for %s[%d]; resuming at %d from the "
                            "audit chain's tail", tp.topic, tp.partition, start)
            if start is None:
                consumer.seek_to_beginning(tp)
                start = 0
            else:
                consumer.seek(tp, start)
            resumed[key] = start
        # Audited but not committed: the batch in flight when the last auditor stopped.
        self._already = {a for a in audited if a[2] >= resumed.get(a[:2], 0)}
        self._consumer = consumer
        log.info("auditor started: heads %s, %d record(s) of the last batch already audited",
                 {p: h[:12] for p, h in self.heads.items()}, len(self._already))

    def _read_tail(self, consumer: KafkaConsumer
                   ) -> tuple[set[tuple[str, int, int]], dict[tuple[str, int], dict[int, int]], bool]:
        """Chain heads; the source records audited in the tail (topic, partition, offset); per
        source partition the highest offset audited on each audit partition; and whether the
        tail is the whole audit topic."""
        topic = self.names.audit
        parts = partitions_of(consumer, [topic], "the auditor")
        audited: set[tuple[str, int, int]] = set()
        highest: dict[tuple[str, int], dict[int, int]] = {}
        whole = True
        with self._clients.reading() as reader:
            reader.assign(parts)
            end = reader.end_offsets(parts)
            begin = reader.beginning_offsets(parts)
            for tp in parts:
                self.heads[tp.partition], self.next_offset[tp.partition] = GENESIS, end[tp]
                first = max(0, end[tp] - 2 * self.batch_max)
                whole = whole and first <= begin[tp]
                reader.seek(tp, first)
            while any(reader.position(tp) < end[tp] for tp in parts):
                for tp, records in reader.poll(timeout_ms=500).items():
                    for rec in records:
                        if rec.offset >= end[tp]:
                            continue
                        try:
                            record = decode_record(rec.value)
                        except ValueError as exc:
                            raise AuditorConflict(
                                f"{topic}[{tp.partition}]@{rec.offset} is not an audit record ({error_text(exc)}); "
                                "the chain is broken — run `hub audit verify`") from None
                        self.heads[tp.partition] = record.hash
                        src = record.content.get("source") or {}
                        k = (src.get("topic"), src.get("partition"))
                        if isinstance(src.get("offset"), int):
                            audited.add((*k, src["offset"]))
                            mine = highest.setdefault(k, {})
                            mine[tp.partition] = max(mine.get(tp.partition, -1), src["offset"])
        self._anchored = {p: off - 1 for p, off in self.next_offset.items()}
        return audited, highest, whole

    # -- the loop -----------------------------------------------------------------------------

    def step(self, timeout_ms: int = 500) -> int:
        """Audit one polled batch; returns how many audit records were written."""
        if self._consumer is None:
            self.start()
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=self.batch_max)
        written = 0
        with self._lock:  # heads and offsets change together; anchor() may run on another thread
            written = self._write(polled)
        if time.monotonic() - self._last_anchor >= self.anchor_every_s:
            self.anchor()
        return written

    def _write(self, polled: dict) -> int:
        written = 0
        if polled:
            self._check_no_other_writer()
            futures = []
            for records in polled.values():
                for rec in records:
                    position = (rec.topic, rec.partition, rec.offset)
                    if position in self._already:  # audited before a crash, not committed
                        self._already.discard(position)
                        continue
                    futures += self._audit(rec)
            for partition, expected, future in futures:
                metadata = future.get(timeout=self.settings.publish_timeout_s)
                if metadata.topic == self.names.audit and metadata.offset != expected:
                    raise AuditorConflict(
                        f"audit record landed at {metadata.topic}[{partition}]@{metadata.offset}, "
                        f"expected @{expected}: another process writes to the audit topic")
                written += metadata.topic == self.names.audit
            self._consumer.commit()  # only now: the batch's audit records are durable
            self.audited += written
            metrics.AUDIT_RECORDS.inc(written)
        return written

    def _audit(self, rec) -> list:
        """Send the audit record(s) for one source record; [(partition, expected offset, future)]."""
        src = source(rec.topic, rec.partition, rec.offset)
        delay = 0.5
        while True:
            try:
                key, content = self._content(rec, src)
                break
            except Exception as exc:  # noqa: BLE001 - transient: wait; otherwise: park it
                if not is_transient(exc):
                    log.warning("auditor parks %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset,
                                error_text(exc))
                    return [(-1, -1, self._dead_letter(rec, exc))]
                log.warning("registry unavailable while auditing %s[%d]@%d; retrying in %.1fs",
                            rec.topic, rec.partition, rec.offset, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        partition = partition_for(key, len(self.heads))
        record = AuditRecord.after(self.heads[partition], content)
        future = self._producer.send(self.names.audit, key=key, value=encode_record(record),
                                     partition=partition)
        expected = self.next_offset[partition]
        self.heads[partition], self.next_offset[partition] = record.hash, expected + 1
        return [(partition, expected, future)]

    def _content(self, rec, src: dict) -> tuple[bytes, dict]:
        if rec.topic == self.names.audit_intake:
            note = decode_note(rec.value)
            return note_key(note), note_entry(note, src)
        if rec.value is None:
            raise ValueError("record has no value (tombstone)")
        decoded = self._decoders[rec.topic](rec.value, rec.topic)
        if isinstance(decoded, RoutingDecision):
            content = decision_entry(decoded, src, self.pseudonyms.of)
        elif isinstance(decoded, WorkItem):
            written_at = datetime.fromtimestamp(rec.timestamp / 1000, timezone.utc)
            content = item_entry(decoded, src, written_at, header(rec.headers, REPLAY_ID))
        else:
            content = outcome_entry(decoded, src)
        canonical(content)  # fail here, not in the chain, if anything is not JSON-encodable
        return content["case_id"].encode(), content

    def _dead_letter(self, rec, exc: Exception):
        letter = DeadLetter.of(stage="auditor", error=exc, topic=rec.topic, partition=rec.partition,
                               offset=rec.offset, parked_at=self.clock())
        topic = self.names.dead_letters
        return self._producer.send(topic, key=letter.dead_letter_id.encode(),
                                   value=self._encode_dead_letter(letter, topic))

    def _check_no_other_writer(self) -> None:
        parts = [TopicPartition(self.names.audit, p) for p in self.next_offset]
        end = self._consumer.end_offsets(parts)
        for tp in parts:
            if end[tp] != self.next_offset[tp.partition]:
                raise AuditorConflict(
                    f"{tp.topic}[{tp.partition}] ends at {end[tp]}, this auditor expected "
                    f"{self.next_offset[tp.partition]}: another auditor is running — run exactly one")

    # -- anchors ------------------------------------------------------------------------------

    def anchor(self) -> list[Anchor]:
        """Publish the head of every partition that grew since the last anchor."""
        with self._lock:
            return self._anchor()

    def _anchor(self) -> list[Anchor]:
        self._last_anchor = time.monotonic()
        now = self.clock()
        anchors = [Anchor(p, self.next_offset[p] - 1, self.heads[p], now)
                   for p in sorted(self.heads)
                   if self.next_offset[p] > 0 and self._anchored.get(p) != self.next_offset[p] - 1]
        if not anchors:
            return []
        futures = [self._producer.send(self.names.audit_anchors, key=str(a.partition).encode(),
                                       value=canonical(a.as_json())) for a in anchors]
        for future in futures:
            future.get(timeout=self.settings.publish_timeout_s)
        for a in anchors:
            self._anchored[a.partition] = a.offset
            metrics.AUDIT_HEAD_OFFSET.labels(str(a.partition)).set(a.offset)
            if self.on_anchor:
                self.on_anchor(a)
        metrics.AUDIT_HEAD_TIME.set(now.timestamp())
        return anchors

    def run(self, stop: threading.Event) -> None:
        """Audit until ``stop`` is set; anchors the heads once more on the way out."""
        try:
            if self._consumer is None:
                self.start()
            while not stop.is_set():
                self.step()
            self.anchor()
        finally:
            self.close()

    @contextmanager
    def running(self) -> Iterator["Auditor"]:
        """Run in a background thread (tests, demo); errors are re-raised on exit."""
        stop, errors = threading.Event(), []

        def target():
            try:
                self.run(stop)
            except BaseException as exc:  # noqa: BLE001 - surfaced to the caller on exit
                errors.append(exc)
                log.exception("auditor stopped")

        self.start()
        thread = threading.Thread(target=target, name="auditor", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=30)
        if errors:
            raise errors[0]

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Block until every source record written so far is audited (tests, demo)."""
        deadline = time.monotonic() + timeout_s
        # Reads the group's committed offsets without joining the group.
        with self._clients.reading(group_id=self.group) as reader:
            parts = partitions_of(reader, self.sources(), "the auditor")
            end = reader.end_offsets(parts)
            while time.monotonic() < deadline:
                if all((reader.committed(tp) or 0) >= end[tp] for tp in parts if end[tp] > 0):
                    return
                time.sleep(0.2)
        raise TimeoutError(f"auditor did not catch up within {timeout_s:.0f}s")

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
