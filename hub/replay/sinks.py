"""Where replayed items go: nowhere (dry run), the departments' inboxes, or a JSON-lines file.

To the inboxes: the router's exact bytes and key plus the replay headers, idempotent producer,
every ack awaited. To a file: written to a temporary name and renamed only once the replay is
audited, so an unaudited replay leaves no file behind.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from hub.domain.audit_entries import iso
from hub.domain.ports import ReplaySink
from hub.domain.replay import ReplayedItem, ReplayRequest
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.replay.retry import retrying
from hub.wire.headers import REPLAY_ID, REPLAYED_AT
from hub.wire.serde import model_serializer


class DrySink:
    """A dry run: counts, writes nothing."""

    def emit(self, replayed: ReplayedItem) -> None:
        pass

    def finish(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


class KafkaInboxSink(DrySink):
    """The router's exact bytes and key, plus the replay headers; every ack awaited."""

    SETTLE_EVERY = 5000
    # Unlike a publish, a replay sends in bulk and waits for the acks at the end: letting
    # batches fill cuts its CPU per item by about a third (BENCHMARKS.md, replay).
    LINGER_MS = 20

    def __init__(self, clients: Clients, replay_id: str, replayed_at: datetime):
        self._settings = settings = clients.settings
        self._encode = model_serializer(clients.registry, "WorkItem")
        linger = max(settings.producer_linger_ms, self.LINGER_MS)
        self.producer = clients.producer(client_id="oncehub-replay", linger_ms=linger)
        self._headers = [(REPLAY_ID, replay_id.encode()), (REPLAYED_AT, iso(replayed_at).encode())]
        self._pending: list = []
        # The first send to each inbox waits for that topic's metadata (about 70 ms each on the
        # dev stack, one inbox after the other: 0.4 s). Look them up now, on a thread, while the
        # replay reads and routes its context; a failure here is the first send's to report.
        warm = getattr(self.producer, "partitions_for", None)
        if warm is not None:
            topics = TopicNames(settings.topic_prefix).all_inboxes()
            threading.Thread(target=_look_up, args=(warm, topics), name="replay-inbox-metadata",
                             daemon=True).start()

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


def _look_up(partitions_for, topics: list[str]) -> None:
    for topic in topics:
        with suppress(Exception):
            partitions_for(topic)


class FileSink(DrySink):
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


def sink_for(clients: Clients, request: ReplayRequest, replay_id: str, now: datetime) -> ReplaySink:
    """The sink the request asks for: none (dry run), a file, or the departments' inboxes."""
    if request.dry_run:
        return DrySink()
    if request.to_file is not None:
        return FileSink(request.to_file, replay_id)
    return KafkaInboxSink(clients, replay_id, now)
