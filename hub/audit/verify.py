"""Walk the audit chain as stored in Kafka (or a copy of it) and say whether it is intact.

Reads with no consumer group and commits nothing. A time window is verified from the first
record at or after ``from_ts``: its link is checked against the record just before it, so a
window proves the same as the whole chain for the records it covers. Anchors (chain heads kept
outside the system) are checked where they fall; an anchor past the end of the topic means
records were removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition

from hub.audit.codec import canonical_parts, decode_record
from hub.domain.audit import ChainWalker, StoredAudit, Verdict
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import assign_all, read_from_start
from hub.kafka.topic_names import TopicNames

Progress = Callable[[int, int], None]


def stored_anchors(clients: Clients) -> dict[tuple[int, int], str]:
    """Every anchor published by the auditor: (partition, offset) → hash."""
    anchors = {}
    topic = TopicNames(clients.settings.topic_prefix).audit_anchors
    for record in read_from_start(clients, [topic], "audit anchors"):
        try:
            body = json.loads(record.value)
            anchors[(int(body["partition"]), int(body["offset"]))] = str(body["hash"])
        except (ValueError, KeyError, TypeError):
            continue  # an unreadable anchor proves nothing; the chain itself is still walked
    return anchors


def parse_anchor(text: str) -> tuple[tuple[int, int], str]:
    """``PARTITION@OFFSET=HASH`` (as printed by the auditor) → ((partition, offset), hash)."""
    try:
        where, digest = text.split("=", 1)
        partition, offset = where.split("@", 1)
        digest = digest.removeprefix("sha256:").strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError
        return (int(partition), int(offset)), digest
    except ValueError:
        raise ValueError(f"anchor {text!r}: expected PARTITION@OFFSET=SHA256 (64 hex digits)") from None


def _offsets_at(consumer: KafkaConsumer, parts: list[TopicPartition], ts: datetime | None,
                default: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    if ts is None:
        return dict(default)
    found = consumer.offsets_for_times({tp: int(ts.timestamp() * 1000) for tp in parts})
    return {tp: (found[tp].offset if found.get(tp) else default[tp]) for tp in parts}


def verify_chain(clients: Clients, *, topic: str | None = None, from_ts: datetime | None = None,
                 to_ts: datetime | None = None, anchors: dict[tuple[int, int], str] | None = None,
                 progress: Progress | None = None) -> Verdict:
    """Walk ``topic`` (the audit topic by default) over ``[from_ts, to_ts)``; the verdict names
    the first broken partition and offset. Raises :class:`~hub.errors.Unavailable` or
    :class:`~hub.errors.TopicMissing` when the topic cannot be read."""
    topic = topic or TopicNames(clients.settings.topic_prefix).audit
    with unavailable_as_hub_error(f"{topic} cannot be read"), \
            clients.reading(group_id=None, max_partition_fetch_bytes=4 * 1024 * 1024) as consumer:
        parts = assign_all(consumer, [topic], "hub audit verify")
        end = consumer.end_offsets(parts)
        first = consumer.beginning_offsets(parts)
        start = first if from_ts is None else _offsets_at(consumer, parts, from_ts, end)
        stop = _offsets_at(consumer, parts, to_ts, end)
        walker = ChainWalker(anchors)
        _seed(walker, consumer, parts, {tp: start[tp] for tp in parts if start[tp] > first[tp]})
        if walker.broken:
            return walker.verdict()
        total = sum(max(0, stop[tp] - start[tp]) for tp in parts)
        if progress:
            progress(0, total)
        for tp in parts:
            consumer.seek(tp, start[tp])
        while not walker.broken and any(consumer.position(tp) < stop[tp] for tp in parts):
            for tp, records in consumer.poll(timeout_ms=500).items():
                _walk(walker, records, stop[tp])
                if consumer.position(tp) > stop[tp]:
                    consumer.seek(tp, stop[tp])
            if progress:
                progress(walker.count, total)
        for (partition, offset) in sorted(anchors or {}):
            tp = TopicPartition(topic, partition)
            if not walker.broken and (tp not in end or offset >= end[tp]):
                walker.missing_anchor(partition, offset)
        return walker.verdict()


def _walk(walker: ChainWalker, records: list, stop: int) -> None:
    """Feed one partition's polled records below ``stop`` until one breaks the chain. A record
    stored exactly as the hub writes them is hashed as stored (:func:`canonical_parts`: the
    same bytes the re-encoding would give); any other is decoded and judged by :func:`_check`."""
    feed = walker.feed_canonical
    for rec in records:
        if rec.offset >= stop:
            return
        parts = canonical_parts(rec.value)
        if not (feed(rec.partition, rec.offset, *parts) if parts else _check(walker, rec)):
            return


def _check(walker: ChainWalker, rec) -> bool:
    try:
        record = decode_record(rec.value)
    except ValueError as exc:
        return walker.unreadable(rec.partition, rec.offset, str(exc))
    except (UnicodeError, RecursionError) as exc:  # a lone surrogate, absurd nesting: a verdict, not a crash
        return walker.unreadable(rec.partition, rec.offset, f"not a readable audit record ({type(exc).__name__})")
    try:
        return walker.feed(StoredAudit(rec.partition, rec.offset, record))
    except (UnicodeError, RecursionError) as exc:  # content that cannot be re-encoded to hash it
        return walker.unreadable(rec.partition, rec.offset, f"content cannot be hashed ({type(exc).__name__})")


def _seed(walker: ChainWalker, consumer: KafkaConsumer, parts: list[TopicPartition],
          starts: dict[TopicPartition, int]) -> None:
    """For a window that starts mid-partition, the hash its first record must link to: the
    hash carried by the record just before it."""
    for tp in starts:
        consumer.seek(tp, starts[tp] - 1)
    pending = dict(starts)
    while pending and not walker.broken:
        for tp, records in consumer.poll(timeout_ms=500).items():
            if tp not in pending or not records:
                continue
            rec = records[0]
            try:
                walker.last[tp.partition] = decode_record(rec.value).hash
            except ValueError as exc:
                walker.unreadable(tp.partition, rec.offset, str(exc))
            del pending[tp]
