"""``hub replay``: route the events of a time window again and send their work items once more.

    summary = run_replay(settings, ReplayRequest(ReplayWindow(start, end), to_file=None))

How it reads: every event topic, with no consumer group and nothing committed, each partition
from the start of the context (the log's beginning unless ``context_from``) to the first record
at or after the window's end (``offsets_for_times``; capped at today's end offsets), merged in
timestamp order so a supplement comes after the event it completes even though they live on
different topics.

How it routes: with the router's own :class:`RouterProcessor` over in-memory tables, and the
registry's writer schemas resolved to the local ones (as the router decodes), so events written
with an older schema version replay like new ones. Events before the window are routed too,
but nothing of theirs is sent: they rebuild the router's memory (which departments an event went
to, which events wait for documents), so corrections, annulments and 容缺受理 releases inside the
window go where the live router sent them. Items keep their deterministic ids: an agency that
already has one recognises it and changes nothing.

What it writes: the window's items that pass the filters — to the departments' inbox topics
(the router's exact bytes and key, plus the replay headers; idempotent producer, every ack
awaited), or to a JSON-lines file (written to a temporary name and renamed), or nowhere on a dry
run. Records the router would have parked are counted as skipped, with the reason. Either way a
:class:`ReplayNote` goes to the audit intake before ``run_replay`` returns; if that fails, a file
is not put in place and :class:`ReplayNotAudited` is raised.
"""

from __future__ import annotations

import getpass
import heapq
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError

from hub.audit.intake import AuditIntake
from hub.config import HubSettings
from hub.domain.audit_entries import ReplayNote, iso
from hub.domain.catalogue import CATALOGUE, EventSpec
from hub.domain.dead_letters import DeadLetter
from hub.domain.envelope import EventType
from hub.domain.replay import ReplayFilters, ReplayRequest, ReplaySummary, ReplayWindow, epoch_ms
from hub.domain.routing import WorkItem
from hub.domain.rules import RuleBook
from hub.errors import HubError
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.client import is_transient, registry_client
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from hub.wire.headers import REPLAY_ID, REPLAYED_AT
from hub.wire.serde import event_deserializer, model_serializer
from hub.worker.processor import RouterProcessor, SourceRecord
from producers.publisher import kafka_producer

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (records read so far, records to read in total)
T = TypeVar("T")


class ReplayUnavailable(HubError):
    """Kafka or the schema registry could not be reached; the replay did not complete."""


class ReplayNotAudited(HubError):
    """The replay ran but its audit note could not be posted."""

    def __init__(self, summary: ReplaySummary, cause: BaseException):
        self.summary = summary
        where = ("no file was written" if summary.request.to_file and not summary.request.dry_run
                 else f"{summary.emitted} item(s) were sent" if not summary.request.dry_run
                 else "nothing was written")
        super().__init__(f"replay {summary.replay_id} was NOT audited ({where}): "
                         f"{type(cause).__name__}: {cause}")


@dataclass(frozen=True)
class ReplayedItem:
    """A work item to send again: its inbox topic and the router's key for it."""

    item: WorkItem
    topic: str
    key: bytes


def retrying(action: Callable[[], T], attempts: int = 6, first_delay_s: float = 0.5) -> T:
    """``action()``, retried with backoff while the registry is unreachable (≈ 15 s in all)."""
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise ReplayUnavailable(f"schema registry unavailable: {exc}") from exc
            log.warning("registry unavailable (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


# -- routing ------------------------------------------------------------------------------------
class WindowRouter:
    """Feeds records, in log order, to a :class:`RouterProcessor` over in-memory tables and
    returns the items of the window's records that pass the filters.

    ``in_range`` says a record lies in the window's offset range; it counts as *read*, and it is
    in the window if its timestamp is too. Every other record is context: routed, never sent.
    Items are not encoded here (the inbox sink encodes what it sends), so a registry failure can
    only happen while decoding, before the processor changes its tables, and a record can be
    fed again after one.
    """

    def __init__(self, *, rules: RuleBook, names: TopicNames, specs_by_topic: dict[str, EventSpec],
                 decode: Callable[[EventSpec, bytes, str], dict], window: ReplayWindow,
                 filters: ReplayFilters, summary: ReplaySummary,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._decode_event, self._window, self._filters = decode, window, filters
        self.summary = summary
        self._inboxes = set(names.all_inboxes())
        self._events: list[dict] = []
        self._items: list[WorkItem] = []
        self._letters: list[DeadLetter] = []
        self._processor = RouterProcessor(
            rules=rules, names=names, decode=self._decode, specs_by_topic=specs_by_topic,
            encode_item=self._capture_item, encode_decision=lambda _decision, _topic: b"",
            encode_dead_letter=self._capture_letter, routed={}, held={}, clock=clock,
        )

    def _decode(self, spec: EventSpec, data: bytes, topic: str) -> dict:
        event = self._decode_event(spec, data, topic)
        self._events.append(event)
        return event

    def _capture_item(self, item: WorkItem, _topic: str) -> bytes:
        self._items.append(item)
        return b""

    def _capture_letter(self, letter: DeadLetter, _topic: str) -> bytes:
        self._letters.append(letter)
        return b""

    def feed(self, record: SourceRecord, timestamp_ms: int, in_range: bool) -> list[ReplayedItem]:
        self._events, self._items, self._letters = [], [], []
        outputs = self._processor.process(record)  # a registry failure propagates: feed again
        summary = self.summary
        if in_range:
            summary.read += 1
        else:
            summary.context += 1
        in_window = in_range and self._window.contains(timestamp_ms)
        for letter in self._letters:
            if in_window:
                summary.skip(letter.error_type, f"{record.topic}[{record.partition}]@{record.offset}",
                             letter.reason)
            else:
                summary.context_skipped += 1
        if self._letters or not in_window or not self._filters.matches(self._events):
            return []
        summary.matched += 1
        inbox = [o for o in outputs if o.topic in self._inboxes]
        return [ReplayedItem(item, out.topic, out.key)
                for item, out in zip(self._items, inbox, strict=True) if self._filters.keeps(item)]


# -- reading ------------------------------------------------------------------------------------
class TimeOrderedReader:
    """Records of ``ranges`` (partition → ``[start, end)`` offsets), merged by timestamp.

    Ties go to records of ``last_topics`` last (a supplement stamped in the same millisecond as
    the event it completes still follows it), then by topic, partition and offset. A partition
    far ahead of the others is paused, so memory stays bounded; a partition that reaches its end
    is paused for good. If no record arrives for ``stall_s`` while some are still due, it gives
    up with :class:`KafkaTimeoutError`.
    """

    HIGH, LOW = 5000, 1000  # buffered records per partition: pause above, resume below

    def __init__(self, consumer: KafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]],
                 last_topics: frozenset[str] = frozenset(), poll_ms: int = 500, stall_s: float = 60.0):
        self._consumer = consumer
        self._ranges = {tp: r for tp, r in ranges.items() if r[0] < r[1]}
        self._last, self._poll_ms, self._stall_s = last_topics, poll_ms, stall_s

    @property
    def total(self) -> int:
        return sum(end - start for start, end in self._ranges.values())

    def _key(self, rec) -> tuple:
        return (rec.timestamp, rec.topic in self._last, rec.topic, rec.partition, rec.offset)

    def __iter__(self) -> Iterator:
        ranges, consumer = self._ranges, self._consumer
        if not ranges:
            return
        consumer.assign(list(ranges))
        for tp, (start, _end) in ranges.items():
            consumer.seek(tp, start)
        buffers: dict[TopicPartition, deque] = {tp: deque() for tp in ranges}
        fetching, paused = set(ranges), set()
        heads: list[tuple[tuple, TopicPartition]] = []
        last_record = time.monotonic()
        while fetching or heads:
            if heads and all(buffers[tp] for tp in fetching):
                _key, tp = heapq.heappop(heads)
                buffer = buffers[tp]
                record = buffer.popleft()
                if buffer:
                    heapq.heappush(heads, (self._key(buffer[0]), tp))
                if tp in paused and tp in fetching and len(buffer) <= self.LOW:
                    consumer.resume(tp)
                    paused.discard(tp)
                yield record
                continue
            arrived = False
            for tp, records in consumer.poll(timeout_ms=self._poll_ms).items():
                buffer, end = buffers[tp], ranges[tp][1]
                was_empty = not buffer
                buffer.extend(r for r in records if r.offset < end)
                if was_empty and buffer:
                    heapq.heappush(heads, (self._key(buffer[0]), tp))
                arrived |= bool(records)
            for tp in list(fetching):
                if consumer.position(tp) >= ranges[tp][1]:
                    fetching.discard(tp)
                    consumer.pause(tp)  # nothing past the end is wanted
                    paused.add(tp)
                elif len(buffers[tp]) >= self.HIGH and tp not in paused:
                    consumer.pause(tp)
                    paused.add(tp)
            now = time.monotonic()
            if arrived:
                last_record = now
            elif now - last_record > self._stall_s:
                due = {f"{tp.topic}[{tp.partition}]": consumer.position(tp) for tp in fetching}
                raise KafkaTimeoutError(f"no records for {self._stall_s:.0f}s; still due: {due}")


def _offsets_at(consumer: KafkaConsumer, parts: list[TopicPartition], at: datetime,
                end: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """First offset at or after ``at`` in each partition (its end offset if there is none)."""
    found = consumer.offsets_for_times({tp: epoch_ms(at) for tp in parts})
    return {tp: min(found[tp].offset, end[tp]) if found.get(tp) else end[tp] for tp in parts}


def plan_ranges(consumer: KafkaConsumer, topics: list[str], request: ReplayRequest
                ) -> tuple[dict[TopicPartition, tuple[int, int]], dict[TopicPartition, int]]:
    """``(ranges to read, first offset of the window)`` per partition of ``topics``."""
    parts = []
    for topic in topics:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise LookupError(f"topic {topic} not found (run `hub topics ensure`)")
        parts += [TopicPartition(topic, p) for p in sorted(numbers)]
    end = consumer.end_offsets(parts)
    first = consumer.beginning_offsets(parts)
    window_start = _offsets_at(consumer, parts, request.window.start, end)
    window_end = _offsets_at(consumer, parts, request.window.end, end)
    context = first if request.context_from is None else _offsets_at(consumer, parts, request.context_from, end)
    ranges = {tp: (min(context[tp], window_start[tp]), max(window_end[tp], window_start[tp]))
              for tp in parts}
    return ranges, window_start


# -- writing ------------------------------------------------------------------------------------
class _DrySink:
    producer: KafkaProducer | None = None

    def emit(self, replayed: ReplayedItem) -> None:
        pass

    def finish(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _InboxSink(_DrySink):
    """The router's exact bytes and key, plus the replay headers; every ack awaited."""

    SETTLE_EVERY = 5000
    # Unlike a publish, a replay sends in bulk and waits for the acks at the end: letting
    # batches fill cuts its CPU per item by about a third (BENCHMARKS.md, replay).
    LINGER_MS = 20

    def __init__(self, settings: HubSettings, replay_id: str, replayed_at: datetime):
        self._settings = settings
        self._encode = model_serializer(registry_client(settings), "WorkItem")
        linger = max(settings.producer_linger_ms, self.LINGER_MS)
        self.producer = kafka_producer(settings.model_copy(update={"producer_linger_ms": linger}))
        self._headers = [(REPLAY_ID, replay_id.encode()), (REPLAYED_AT, iso(replayed_at).encode())]
        self._pending: list = []

    def emit(self, replayed: ReplayedItem) -> None:
        value = retrying(lambda: self._encode(replayed.item, replayed.topic))
        self._pending.append(self.producer.send(replayed.topic, key=replayed.key, value=value,
                                                headers=self._headers))
        if len(self._pending) >= self.SETTLE_EVERY:
            self.finish()

    def finish(self) -> None:
        """Wait until Kafka has acknowledged every item sent so far (a failed one raises)."""
        self.producer.flush(timeout=self._settings.publish_timeout_s * 3)
        pending, self._pending = self._pending, []
        for future in pending:
            future.get(timeout=self._settings.publish_timeout_s)

    def commit(self) -> None:
        self.abort()

    def abort(self) -> None:
        if self.producer is not None:
            with suppress(Exception):
                self.producer.close(timeout=5)
            self.producer = None


class _FileSink(_DrySink):
    """JSON lines, one work item a line plus ``replay_id``; in place only once audited."""

    def __init__(self, path: Path, replay_id: str):
        self._path, self._replay_id = path, replay_id
        self._tmp = path.with_name(f".{path.name}.{replay_id}.tmp")
        self._file = self._tmp.open("w", encoding="utf-8")

    def emit(self, replayed: ReplayedItem) -> None:
        line = {**replayed.item.model_dump(mode="json"), "replay_id": self._replay_id}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")

    def finish(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def commit(self) -> None:
        os.replace(self._tmp, self._path)
        with suppress(OSError):  # make the rename itself durable where the platform allows
            fd = os.open(self._path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def abort(self) -> None:
        with suppress(OSError):
            self._file.close()
        self._tmp.unlink(missing_ok=True)


def _sink(settings: HubSettings, request: ReplayRequest, replay_id: str, now: datetime) -> _DrySink:
    if request.dry_run:
        return _DrySink()
    if request.to_file is not None:
        return _FileSink(request.to_file, replay_id)
    return _InboxSink(settings, replay_id, now)


# -- the replay ---------------------------------------------------------------------------------
def operator() -> str:
    """The OS user running the replay (``uid:<n>`` where the system has no name for it)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return f"uid:{os.getuid()}"


def post_note(settings: HubSettings, summary: ReplaySummary, requested_by: str,
              producer: KafkaProducer | None = None, now: datetime | None = None) -> None:
    """The replay's audit note, durable when this returns."""
    request = summary.request
    note = ReplayNote(
        replay_id=summary.replay_id, requested_by=requested_by,
        at=now or datetime.now(timezone.utc), window_from=request.window.start,
        window_to=request.window.end,
        filters={**request.filters.as_dict(),
                 "context_from": iso(request.context_from) if request.context_from else None},
        target=request.target, dry_run=request.dry_run, read=summary.read, matched=summary.matched,
        emitted=summary.emitted, status=summary.status, error=summary.error,
    )
    intake = AuditIntake(settings, producer=producer)
    try:
        intake.post(note)
    finally:
        intake.close()


def _router(settings: HubSettings, request: ReplayRequest, summary: ReplaySummary) -> WindowRouter:
    names, registry = TopicNames(settings.topic_prefix), registry_client(settings)
    decoders = {spec.event_type: event_deserializer(registry, spec) for spec in CATALOGUE.values()}
    return WindowRouter(
        rules=load_rules(), names=names,
        specs_by_topic={names.events(spec): spec for spec in CATALOGUE.values()},
        decode=lambda spec, data, topic: event_to_record(decoders[spec.event_type](data, topic)),
        window=request.window, filters=request.filters, summary=summary,
    )


def _replay(settings: HubSettings, request: ReplayRequest, summary: ReplaySummary,
            sink: _DrySink, progress: Progress | None) -> None:
    names = TopicNames(settings.topic_prefix)
    router = _router(settings, request, summary)
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                             enable_auto_commit=False, client_id="oncehub-replay",
                             max_partition_fetch_bytes=4 * 1024 * 1024,
                             bootstrap_timeout_ms=max(int(settings.publish_timeout_s * 1000), 2_500))
    try:
        ranges, window_start = plan_ranges(consumer, names.all_events(), request)
        supplements = names.events(CATALOGUE[EventType.DOCUMENTS_SUPPLEMENTED])
        reader = TimeOrderedReader(consumer, ranges, last_topics=frozenset({supplements}))
        total, done, shown = reader.total, 0, time.monotonic()
        if progress:
            progress(0, total)
        for rec in reader:
            tp = TopicPartition(rec.topic, rec.partition)
            source = SourceRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value)
            in_range = rec.offset >= window_start[tp]
            for replayed in retrying(lambda: router.feed(source, rec.timestamp, in_range)):
                sink.emit(replayed)
                summary.emitted += 1
                summary.by_department[replayed.item.department.value] += 1
            done += 1
            if progress and time.monotonic() - shown > 0.1:
                progress(done, total)
                shown = time.monotonic()
        sink.finish()
        if progress:
            progress(total, total)
    finally:
        consumer.close()


def run_replay(settings: HubSettings, request: ReplayRequest, progress: Progress | None = None,
               *, requested_by: str | None = None) -> ReplaySummary:
    """Replay ``request``; returns the summary once the items are durable and the replay audited.

    Raises :class:`ReplayUnavailable` (Kafka or registry unreachable), :class:`ReplayNotAudited`,
    or ``LookupError`` (a topic is missing); a failed replay is audited as failed when possible.
    """
    summary = ReplaySummary(replay_id=str(uuid.uuid4()), request=request)
    who = requested_by or operator()
    started = time.perf_counter()
    sink: _DrySink | None = None
    try:
        try:
            sink = _sink(settings, request, summary.replay_id, datetime.now(timezone.utc))
            _replay(settings, request, summary, sink, progress)
        except KafkaError as exc:
            raise ReplayUnavailable(f"Kafka at {settings.bootstrap_servers} unavailable: {exc}") from exc
    except BaseException as exc:
        summary.seconds = time.perf_counter() - started
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        if sink is not None:
            sink.abort()
        try:
            post_note(settings, summary, who)
            summary.audited = True
        except Exception as note_exc:  # noqa: BLE001 - the replay's own failure is what to report
            log.error("replay %s failed and its audit note could not be posted: %s",
                      summary.replay_id, note_exc)
        raise
    summary.seconds = time.perf_counter() - started
    try:
        post_note(settings, summary, who, producer=sink.producer)
    except Exception as exc:
        sink.abort()
        raise ReplayNotAudited(summary, exc) from exc
    summary.audited = True
    sink.commit()
    return summary
