"""Route a window of the log again with the router's own code, and pick the items to resend.

Events before the window are routed too (only as far as the router's tables: no items, no
decisions are built for them), but nothing of theirs is sent: they rebuild the router's memory (which departments an event went to, which events wait for documents), so
corrections, annulments and 容缺受理 releases inside the window go where the live router sent
them. Items keep their deterministic ids: an agency that already has one changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from hub.domain.catalogue import EventSpec
from hub.domain.dead_letters import DeadLetter
from hub.domain.replay import ReplayedItem, ReplayFilters, ReplaySummary, ReplayWindow
from hub.domain.routing import WorkItem
from hub.domain.rules import RuleBook
from hub.kafka.topic_names import TopicNames
from hub.worker.processor import RouterProcessor, SourceRecord


class WindowRouter:
    """Feeds records, in log order, to a :class:`RouterProcessor` over in-memory tables and
    returns the items of the window's records that pass the filters.

    ``in_range`` says a record lies in the window's offset range; it counts as *read*, and it is
    in the window if its timestamp is too. Every other record is context: routed, never sent.
    Items are not encoded here (the inbox sink encodes what it sends), so a registry failure can
    only happen while decoding, before the processor changes its tables, and a record can be
    fed again after one. A record outside the window goes through
    :meth:`RouterProcessor.remember`: the same table changes, none of the outputs.
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
        in_window = in_range and self._window.contains(timestamp_ms)
        # A registry failure propagates from either: the tables are untouched, feed it again.
        # Outside the window only the tables matter: the processor makes the same changes
        # without building the items, the routing decision or their bytes.
        outputs = (self._processor.process if in_window else self._processor.remember)(record)
        summary = self.summary
        if in_range:
            summary.read += 1
        else:
            summary.context += 1
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
