"""ReplaySink contract: every item emitted is in the output once the replay is committed, marked
with the replay's id; a sink that holds its output until the commit shows nothing before it and
nothing at all after an abort.

Runs against :class:`hub.memory.InMemoryReplaySink`, :class:`hub.replay.sinks.FileSink` and
:class:`hub.replay.sinks.KafkaInboxSink` (on in-memory Kafka, and on the stack).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from hub.domain.envelope import EventType
from hub.domain.ports import ReplaySink
from hub.domain.replay import ReplayedItem
from hub.domain.routing import WorkItem
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.memory import InMemoryReplaySink
from hub.replay.sinks import FileSink, KafkaInboxSink
from hub.wire.headers import REPLAY_ID, header
from hub.wire.serde import model_deserializer
from tests.contract.harness import IN_MEMORY, REAL, REAL_ON_KAFKA
from tests.builders import items, routed

REPLAY = "replay-contract-1"
FILE = "file"


@dataclass
class Sink:
    """The sink under test; ``output()``: (replay id, item) of everything visible where it
    writes; ``held_until_commit``: whether it shows nothing before the commit (a file is
    renamed into place; records sent to Kafka are there once acknowledged)."""

    sink: ReplaySink
    output: Callable[[], list[tuple[str | None, WorkItem]]]
    held_until_commit: bool
    names: TopicNames = TopicNames("contract")

    def emit(self, *work: WorkItem) -> None:
        for item in work:
            self.sink.emit(ReplayedItem(item, self.names.inbox(item.department), item.case_id.encode()))


@pytest.fixture(params=[IN_MEMORY, FILE, REAL, pytest.param(REAL_ON_KAFKA, marks=pytest.mark.integration)])
def replay(request, clients_for, tmp_path):
    if request.param == IN_MEMORY:
        sink = InMemoryReplaySink(REPLAY)
        return Sink(sink, lambda: [(sink.replay_id, i) for i in sink.items], True)
    if request.param == FILE:
        path = tmp_path / "replayed.jsonl"
        return Sink(FileSink(path, REPLAY), lambda: _lines(path), True)
    clients = clients_for(request.param)
    names = TopicNames(clients.settings.topic_prefix)
    decode = model_deserializer(clients.registry, "WorkItem", WorkItem)

    def output() -> list[tuple[str | None, WorkItem]]:
        return [(header(r.headers, REPLAY_ID), decode(r.value, r.topic))
                for r in read_from_start(clients, names.all_inboxes())]

    sink = KafkaInboxSink(clients, REPLAY, datetime.now(timezone.utc))
    request.addfinalizer(sink.abort)
    return Sink(sink, output, False, names)


def _lines(path) -> list[tuple[str | None, WorkItem]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(line.pop("replay_id"), WorkItem.model_validate(line)) for line in lines]


def replayed() -> list[WorkItem]:
    """Items for two departments, one of them twice (a marriage's items, and another's first)."""
    return routed(EventType.MARRIAGE_REGISTERED, 1) + items(1, EventType.DEATH_CERTIFIED)


def by_id(output) -> list[tuple[str | None, WorkItem]]:
    return sorted(output, key=lambda pair: pair[1].item_id)


def held_until_commit(replay: Sink) -> None:
    if not replay.held_until_commit:
        pytest.skip("records sent to Kafka are visible once acknowledged; the audit note marks them")


def test_it_is_a_replay_sink(replay):
    assert isinstance(replay.sink, ReplaySink)


def test_a_committed_replay_holds_every_item_once_with_its_replay_id(replay):
    work = replayed()
    replay.emit(*work)
    replay.sink.finish()
    replay.sink.commit()
    assert by_id(replay.output()) == by_id([(REPLAY, i) for i in work])


def test_an_empty_replay_commits_an_empty_output(replay):
    replay.sink.finish()
    replay.sink.commit()
    assert replay.output() == []


def test_nothing_is_visible_before_the_commit(replay):
    held_until_commit(replay)
    replay.emit(*replayed())
    replay.sink.finish()
    assert replay.output() == []


def test_an_aborted_replay_leaves_nothing(replay):
    held_until_commit(replay)
    replay.emit(*replayed())
    replay.sink.finish()
    replay.sink.abort()
    assert replay.output() == []
    replay.sink.abort()  # twice: still nothing, and no error
    assert replay.output() == []
