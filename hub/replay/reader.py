"""Read the event topics for a replay: which offsets, and every record in timestamp order.

Every event topic is read with no consumer group and nothing committed, each partition from the
start of the context (the log's beginning unless ``context_from``) to the first record at or
after the window's end (``offsets_for_times``; capped at today's end offsets), merged in
timestamp order so a supplement comes after the event it completes although they live on
different topics.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaTimeoutError

from hub.domain.replay import ReplayRequest, epoch_ms
from hub.kafka.log_reader import partitions_of


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
    parts = partitions_of(consumer, topics, "hub replay")
    end = consumer.end_offsets(parts)
    first = consumer.beginning_offsets(parts)
    window_start = _offsets_at(consumer, parts, request.window.start, end)
    window_end = _offsets_at(consumer, parts, request.window.end, end)
    context = first if request.context_from is None else _offsets_at(consumer, parts, request.context_from, end)
    ranges = {tp: (min(context[tp], window_start[tp]), max(window_end[tp], window_start[tp]))
              for tp in parts}
    return ranges, window_start
